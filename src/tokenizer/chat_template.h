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

}  // namespace sparkv
