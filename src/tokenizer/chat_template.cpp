#include "tokenizer/chat_template.h"

#include "core/error.h"

namespace sparkv {

namespace {

bool contains(const std::string& s, std::string_view needle) {
  return s.find(needle) != std::string::npos;
}

// Python's str.strip()/lstrip()/rstrip() over a character set; Jinja's `trim` strips whitespace.
constexpr std::string_view kWs = " \t\n\r\v\f";
std::string lstrip(const std::string& s, std::string_view set) {
  const size_t b = s.find_first_not_of(set);
  return b == std::string::npos ? "" : s.substr(b);
}
std::string rstrip(const std::string& s, std::string_view set) {
  const size_t e = s.find_last_not_of(set);
  return e == std::string::npos ? "" : s.substr(0, e + 1);
}
std::string strip(const std::string& s, std::string_view set) { return lstrip(rstrip(s, set), set); }

// Undoes the escapes of a Jinja string literal (\n, \t, \', \", \\).
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The literal following `prefix` in the template source up to `terminator` (both in source
// form), if it contains no quote or Jinja syntax; "" otherwise.
std::string literal_after(const std::string& tmpl, std::string_view prefix,
                          std::string_view terminator) {
  for (size_t pos = tmpl.find(prefix); pos != std::string::npos;
       pos = tmpl.find(prefix, pos + 1)) {
    const size_t b = pos + prefix.size();
    const size_t e = tmpl.find(terminator, b);
    if (e == std::string::npos || e == b) continue;
    const std::string_view body(tmpl.data() + b, e - b);
    if (body.find_first_of("'\"{}") != std::string_view::npos) continue;
    return unescape(body);
  }
  return "";
}

void render_llama3(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen,
                   std::string& out) {
  auto block = [&](const std::string& role, const std::string& content) {
    out += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content + "<|eot_id|>";
  };
  size_t first = 0;
  if (!t.llama_preamble.empty()) {
    // 3.1: the system block always exists and starts with the knowledge-date preamble.
    out += t.bos_text;
    std::string system;
    if (!msgs.empty() && msgs[0].role == "system") {
      system = strip(msgs[0].content, kWs);
      first = 1;
    }
    block("system", t.llama_preamble + system);
  }
  for (size_t i = first; i < msgs.size(); ++i) {
    if (i == 0 && t.llama_preamble.empty()) out += t.bos_text;
    block(msgs[i].role, strip(msgs[i].content, kWs));
  }
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

void render_chatml(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen,
                   std::string& out) {
  if (!t.default_system.empty() && (msgs.empty() || msgs[0].role != "system"))
    out += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
  for (const ChatMessage& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
}

void render_qwen3(const std::vector<ChatMessage>& msgs, bool gen, std::string& out) {
  // The turn after the last real user query is where the reasoning block is shown.
  size_t last_query = msgs.empty() ? 0 : msgs.size() - 1;
  for (size_t i = msgs.size(); i-- > 0;) {
    const std::string& c = msgs[i].content;
    const bool tool_response = c.rfind("<tool_response>", 0) == 0 && c.size() >= 16 &&
                               c.compare(c.size() - 16, 16, "</tool_response>") == 0;
    if (msgs[i].role == "user" && !tool_response) {
      last_query = i;
      break;
    }
  }
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ChatMessage& m = msgs[i];
    if (m.role != "assistant") {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      continue;
    }
    std::string content = m.content;
    std::string reasoning;
    const size_t close = m.content.find("</think>");
    if (close != std::string::npos) {
      const size_t last_close = m.content.rfind("</think>");
      content = lstrip(m.content.substr(last_close + 8), "\n");
      std::string before = rstrip(m.content.substr(0, close), "\n");
      const size_t open = before.rfind("<think>");
      if (open != std::string::npos) before = before.substr(open + 7);
      reasoning = lstrip(before, "\n");
    }
    out += "<|im_start|>assistant\n";
    if (i > last_query && (i + 1 == msgs.size() || !reasoning.empty()))
      out += "<think>\n" + strip(reasoning, "\n") + "\n</think>\n\n" + lstrip(content, "\n");
    else
      out += content;
    out += "<|im_end|>\n";
  }
  // Thinking off: the template's enable_thinking=false branch closes an empty think block.
  if (gen) out += "<|im_start|>assistant\n<think>\n\n</think>\n\n";
}

void render_mistral(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen,
                    std::string& out) {
  // [INST] turns as in Mistral-7B-Instruct; a leading system message is folded into the first
  // user turn (the v0.1 template has no system role).
  size_t first = 0;
  std::string system;
  if (!msgs.empty() && msgs[0].role == "system") {
    system = msgs[0].content;
    first = 1;
  }
  out += t.bos_text;
  for (size_t i = first; i < msgs.size(); ++i) {
    const ChatMessage& m = msgs[i];
    const bool expect_user = (i - first) % 2 == 0;
    SPARKV_CHECK(m.role == (expect_user ? "user" : "assistant"),
                 "chat template mistral: message {} has role '{}' but roles must alternate "
                 "user/assistant after an optional system message",
                 i, m.role);
    if (expect_user) {
      const std::string content = (i == first && !system.empty()) ? system + "\n\n" + m.content
                                                                  : m.content;
      out += "[INST] " + content + " [/INST]";
    } else {
      out += m.content + t.eos_text;
    }
  }
  (void)gen;  // the prompt already ends with [/INST]: the model answers right after it
}

}  // namespace

ChatFormat detect_chat_format(const std::string& text) {
  if (contains(text, "<|start_header_id|>")) return ChatFormat::kLlama3;
  if (contains(text, "<|im_start|>")) {
    if (contains(text, "<think>") || contains(text, "enable_thinking")) return ChatFormat::kQwen3;
    return ChatFormat::kChatML;
  }
  if (contains(text, "[INST]")) return ChatFormat::kMistral;
  if (text.empty()) fail("chat template: the model ships no chat template; pass --chat-template NAME (llama3, chatml, qwen3, mistral)");
  fail("chat template: unrecognised template (no <|start_header_id|>, <|im_start|> or [INST] "
       "marker; starts '{}'); pass --chat-template NAME (llama3, chatml, qwen3, mistral)",
       text.substr(0, 60));
}

ChatFormat chat_format_from_name(const std::string& name) {
  if (name == "llama3" || name == "llama-3") return ChatFormat::kLlama3;
  if (name == "chatml" || name == "qwen2" || name == "qwen2.5") return ChatFormat::kChatML;
  if (name == "qwen3") return ChatFormat::kQwen3;
  if (name == "mistral" || name == "llama2") return ChatFormat::kMistral;
  fail("--chat-template '{}' is not known (known: llama3, chatml, qwen3, mistral)", name);
}

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kLlama3: return "llama3";
    case ChatFormat::kChatML: return "chatml";
    case ChatFormat::kQwen3: return "qwen3";
    case ChatFormat::kMistral: return "mistral";
  }
  return "?";
}

ChatTemplate ChatTemplate::from_text(const std::string& text, const std::string& bos_text,
                                     const std::string& eos_text) {
  ChatTemplate t;
  t.format = detect_chat_format(text);
  t.bos_text = bos_text;
  t.eos_text = eos_text;
  if (t.format == ChatFormat::kChatML)
    t.default_system = literal_after(text, "<|im_start|>system\\n", "<|im_end|>");
  if (t.format == ChatFormat::kLlama3 && contains(text, "Cutting Knowledge Date: ")) {
    const std::string cutoff = literal_after(text, "Cutting Knowledge Date: ", "\\n");
    // `date_string` is a template variable; the default is what the template sets it to.
    std::string date = literal_after(text, "set date_string = \"", "\"");
    SPARKV_CHECK(!cutoff.empty() && !date.empty(),
                 "chat template: Llama-3.1 knowledge-date preamble found but its values could not "
                 "be read");
    t.llama_preamble = "Cutting Knowledge Date: " + cutoff + "\nToday Date: " + date + "\n\n";
  }
  return t;
}

ChatTemplate ChatTemplate::from_name(const std::string& name, const std::string& bos_text,
                                     const std::string& eos_text) {
  ChatTemplate t;
  t.format = chat_format_from_name(name);
  t.bos_text = bos_text;
  t.eos_text = eos_text;
  return t;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& msgs, bool gen) const {
  std::string out;
  switch (format) {
    case ChatFormat::kLlama3: render_llama3(*this, msgs, gen, out); break;
    case ChatFormat::kChatML: render_chatml(*this, msgs, gen, out); break;
    case ChatFormat::kQwen3: render_qwen3(msgs, gen, out); break;
    case ChatFormat::kMistral: render_mistral(*this, msgs, gen, out); break;
  }
  return out;
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const std::string& bos_text,
                        const std::string& eos_text) {
  ChatTemplate t;
  t.format = format;
  t.bos_text = bos_text;
  t.eos_text = eos_text;
  return t.render(messages, add_generation_prompt);
}

}  // namespace sparkv
