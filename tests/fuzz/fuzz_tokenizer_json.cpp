// Tokenizer::from_hf on a hostile tokenizer.json (+ tokenizer_config.json), then, when it loads,
// encode / decode / stream-decode a few fixed strings and detect the chat template.
// Input: tokenizer.json [kFileSeparator tokenizer_config.json].
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

using namespace sparkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchDir dir;
  dir.clear();
  const auto parts = fuzz::split_files(data, size, 2);
  dir.write("tokenizer.json", parts[0]);
  if (parts.size() > 1) dir.write("tokenizer_config.json", parts[1]);
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = Tokenizer::from_hf(dir.path().string());
  } catch (const Error& e) {
    fuzz::note(e);
    return 0;
  }
  static const char* const kTexts[] = {"Hello world", " ab  ba\n\tab", "héllo 123 <|im_end|>", "",
                                       "\xF0\x9F\x98\x80 x"};
  for (const char* text : kTexts) {
    for (int flags = 0; flags < 4; ++flags) {
      std::vector<int32_t> ids;
      try {
        ids = tok->encode(text, flags & 1, flags & 2);
      } catch (const Error& e) {
        fuzz::note(e);
        continue;
      }
      for (int32_t id : ids)
        if (id < 0 || id >= tok->n_vocab()) __builtin_trap();
      try {
        (void)tok->decode(ids);
        StreamDecoder stream(*tok);
        std::string streamed;
        for (int32_t id : ids) streamed += stream.push(id);
        streamed += stream.flush();
        if (utf8_find_invalid(streamed) != std::string::npos) __builtin_trap();
      } catch (const Error& e) {
        fuzz::note(e);
      }
    }
  }
  try {
    if (!tok->chat_template().empty()) {
      const ChatTemplate t = ChatTemplate::from_text(tok->chat_template(), "<s>", "</s>");
      (void)t.render({{"system", "be brief"}, {"user", "hi"}}, true);
    }
  } catch (const Error& e) {
    fuzz::note(e);
  }
  return 0;
}
