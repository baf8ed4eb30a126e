// Chat prompt rendering. Rather than embedding a Jinja engine, sparkv recognises the template
// families by their markers and renders them with hard-coded renderers that reproduce the
// reference output byte for byte.
#pragma once

#include <string>
#include <vector>

namespace sparkv {

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
};

enum class ChatFormat { kLlama3, kChatML, kQwen3, kMistral };

// Picks a format from a template's text (throws sparkv::Error if no family matches).
ChatFormat detect_chat_format(const std::string& template_text);
// Parses a --chat-template NAME override: llama3 | chatml | qwen3 | mistral.
ChatFormat chat_format_from_name(const std::string& name);
const char* chat_format_name(ChatFormat f);

// Renders the conversation; add_generation_prompt appends the assistant header. The result is
// text to be encoded with parse_special = true (BOS is included in the text where the template
// puts it, so encode with add_bos = false).
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const std::string& bos_text = "",
                        const std::string& eos_text = "");

// A format plus the behaviour read from the template text, so that the rendering matches what
// the model's own Jinja template produces:
//  - ChatML: the default system prompt (Qwen2 / Qwen2.5) inserted when no system message leads;
//  - Llama-3: the 3.1 "Cutting Knowledge Date" system preamble, only when the text contains it.
struct ChatTemplate {
  ChatFormat format = ChatFormat::kChatML;
  std::string default_system;   // "" = none
  std::string llama_preamble;   // "" = none, else e.g. "Cutting Knowledge Date: ...\n\n"
  std::string bos_text;         // rendered where the template puts bos_token
  std::string eos_text;         // rendered where the template puts eos_token (Mistral)

  // Detects the family and its options from the template text; throws if unrecognised.
  static ChatTemplate from_text(const std::string& template_text, const std::string& bos_text = "",
                                const std::string& eos_text = "");
  // A --chat-template NAME override (no template-specific options).
  static ChatTemplate from_name(const std::string& name, const std::string& bos_text = "",
                                const std::string& eos_text = "");
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
};

}  // namespace sparkv
