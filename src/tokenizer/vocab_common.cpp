#include "tokenizer/vocab_common.h"

#include <algorithm>

#include "core/error.h"

namespace sparkv {

std::vector<int32_t> collect_stop_ids(const SpecialIds& sp, const std::vector<std::string>& tokens) {
  std::vector<int32_t> ids;
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  add(sp.eos);
  add(sp.eot);
  add(sp.eom);
  static const char* const kEndOfTurn[] = {"<|im_end|>", "<|eot_id|>", "<|end_of_text|>",
                                           "<|endoftext|>", "<|eom_id|>"};
  for (const char* name : kEndOfTurn) {
    // Special tokens sit at the end of the vocab: search from the back.
    for (size_t i = tokens.size(); i-- > 0;)
      if (tokens[i] == name) {
        add(static_cast<int32_t>(i));
        break;
      }
  }
  return ids;
}

std::vector<AddedToken> added_tokens_from_types(const std::vector<std::string>& tokens,
                                                const std::vector<int32_t>& types) {
  std::vector<AddedToken> out;
  for (size_t i = 0; i < types.size() && i < tokens.size(); ++i) {
    if (types[i] != kTokenControl && types[i] != kTokenUserDefined) continue;
    AddedToken t;
    t.content = tokens[i];
    t.id = static_cast<int32_t>(i);
    t.special = types[i] == kTokenControl;
    out.push_back(std::move(t));
  }
  return out;
}

int32_t checked_special_id(int64_t id, size_t n_vocab, const std::string& source,
                           const std::string& key) {
  if (id < 0) return -1;
  SPARKV_CHECK(static_cast<uint64_t>(id) < n_vocab, "{}: {} = {} is out of range (vocab size {})",
               source, key, id, n_vocab);
  return static_cast<int32_t>(id);
}

}  // namespace sparkv
