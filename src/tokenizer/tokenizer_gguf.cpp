// Tokenizer::from_gguf: reads the tokenizer.ggml.* keys (engine-and-formats.md §2.1).
#include <memory>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

SpecialIds read_special(const GgufFile& g, size_t n_vocab, const std::string& model) {
  SpecialIds sp;
  const std::string& src = g.path();
  auto id = [&](const char* key) -> int32_t {
    const auto v = g.get_int(key);
    return v ? checked_special_id(*v, n_vocab, src, key) : -1;
  };
  sp.bos = id("tokenizer.ggml.bos_token_id");
  sp.eos = id("tokenizer.ggml.eos_token_id");
  sp.eot = id("tokenizer.ggml.eot_token_id");
  sp.eom = id("tokenizer.ggml.eom_token_id");
  sp.unk = id("tokenizer.ggml.unknown_token_id");
  sp.pad = id("tokenizer.ggml.padding_token_id");
  sp.kind = model;
  sp.pre = g.get_string("tokenizer.ggml.pre").value_or("");
  sp.chat_template = g.get_string("tokenizer.chat_template").value_or("");
  // Without the key, follow the converters' defaults: SentencePiece vocabularies and Llama-3
  // prepend BOS, Qwen does not.
  const bool default_bos =
      model == "llama" || sp.pre == "llama-bpe" || sp.pre == "llama3" || sp.pre == "smaug-bpe";
  sp.add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(default_bos);
  return sp;
}

std::vector<int32_t> read_types(const GgufFile& g, size_t n_vocab) {
  const std::vector<int64_t> raw = g.get_int_array("tokenizer.ggml.token_type");
  if (raw.empty()) return {};
  SPARKV_CHECK(raw.size() == n_vocab, "{}: tokenizer.ggml.token_type has {} entries for {} tokens",
               g.path(), raw.size(), n_vocab);
  return std::vector<int32_t>(raw.begin(), raw.end());
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& g) {
  const std::string& src = g.path();
  const auto model = g.get_string("tokenizer.ggml.model");
  SPARKV_CHECK(model.has_value(), "{}: tokenizer.ggml.model is missing (no tokenizer in this file)",
               src);
  std::vector<std::string> tokens = g.get_string_array("tokenizer.ggml.tokens");
  SPARKV_CHECK(!tokens.empty(), "{}: tokenizer.ggml.tokens is missing or empty", src);
  const size_t n = tokens.size();

  if (*model == "gpt2") {
    BpeVocab v;
    v.source = src;
    v.special = read_special(g, n, *model);
    SPARKV_CHECK(!v.special.pre.empty(),
                 "{}: tokenizer.ggml.pre is missing; the split regex is unknown (re-convert the "
                 "model with a current converter)",
                 src);
    v.split_pattern = split_pattern_for_pre(v.special.pre);
    // llama.cpp sets ignore_merges for the Llama-3 pre-tokenizer; HF's Qwen2 files ask for NFC.
    v.ignore_merges = v.split_pattern == std::string(kLlama3SplitPattern);
    v.nfc = v.special.pre == "qwen2";
    v.token_types = read_types(g, n);
    const std::vector<std::string> merges = g.get_string_array("tokenizer.ggml.merges");
    SPARKV_CHECK(!merges.empty(), "{}: tokenizer.ggml.merges is missing or empty", src);
    v.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const size_t sp = merges[i].find(' ');
      SPARKV_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < merges[i].size(),
                   "{}: tokenizer.ggml.merges[{}] = '{}' is not 'left right'", src, i, merges[i]);
      v.merges.emplace_back(merges[i].substr(0, sp), merges[i].substr(sp + 1));
    }
    v.tokens = std::move(tokens);
    return std::make_unique<BpeTokenizer>(std::move(v));
  }
  if (*model == "llama") {
    SpmVocab v;
    v.source = src;
    v.special = read_special(g, n, *model);
    v.token_types = read_types(g, n);
    const std::vector<double> scores = g.get_float_array("tokenizer.ggml.scores");
    SPARKV_CHECK(scores.size() == n, "{}: tokenizer.ggml.scores has {} entries for {} tokens", src,
                 scores.size(), n);
    v.scores.assign(scores.begin(), scores.end());
    v.add_space_prefix = g.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
    if (v.special.unk < 0)
      for (size_t i = 0; i < n; ++i)
        if (tokens[i] == "<unk>") v.special.unk = static_cast<int32_t>(i);
    v.tokens = std::move(tokens);
    return std::make_unique<SpmTokenizer>(std::move(v));
  }
  fail("{}: tokenizer.ggml.model = '{}' is not supported (known: gpt2, llama)", src, *model);
}

}  // namespace sparkv
