#include "tokenizer/vocab_tokenizer.h"

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace sparkv {

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_bos,
                                            bool parse_special) const {
  utf8_check(text, "encode input");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && add_bos_) out.push_back(bos_id_);
  std::vector<TextSegment> segs;
  added_.split(text, parse_special, segs);
  for (const TextSegment& s : segs) {
    if (s.id >= 0) out.push_back(s.id);
    else encode_text(s.text, out);
  }
  return out;
}

void VocabTokenizer::check_id(int32_t id) const {
  SPARKV_CHECK(id >= 0 && id < n_vocab(), "token id {} is out of range (vocab size {})", id,
               n_vocab());
}

std::string VocabTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return bytes_[id];
}

const std::string& VocabTokenizer::token_text(int32_t id) const {
  check_id(id);
  return tokens_[id];
}

bool VocabTokenizer::is_special(int32_t id) const {
  check_id(id);
  return types_[id] == kTokenControl;
}

std::string VocabTokenizer::concat_bytes(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  for (int32_t id : ids) {
    check_id(id);
    if (skip_special && types_[id] == kTokenControl) continue;
    out += bytes_[id];
  }
  return out;
}

void VocabTokenizer::set_special(const SpecialIds& sp, const char* kind) {
  bos_id_ = sp.bos;
  eos_id_ = sp.eos;
  add_bos_ = sp.add_bos && sp.bos >= 0;
  chat_template_ = sp.chat_template;
  kind_ = kind;
  pre_ = sp.pre;
  stop_ids_ = collect_stop_ids(sp, tokens_);
}

}  // namespace sparkv
