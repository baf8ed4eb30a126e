// Encode throughput of the byte-level BPE tokenizers on a large (>= 100k-token) document built
// from the conformance fixture strings (prose, code, numbers, CJK, emoji, random Unicode).
#include <benchmark/benchmark.h>

#include <memory>

#include "../tests/unit/tokenizer_test_util.h"
#include "tokenizer/tokenizer.h"

namespace {

using sparkv::Tokenizer;

std::string make_document(size_t min_bytes) {
  const nlohmann::json fx = sparkv::test::read_fixture_json("ids_qwen3.json");
  std::string doc;
  while (doc.size() < min_bytes)
    for (const auto& c : fx["cases"]) {
      doc += c["text"].get<std::string>();
      doc += '\n';
    }
  return doc;
}

void run(benchmark::State& state, const Tokenizer& tok, const std::string& doc) {
  size_t n_tokens = 0;
  for (auto _ : state) {
    const auto ids = tok.encode(doc, false, true);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens"] = static_cast<double>(n_tokens);
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(n_tokens) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(doc.size()) * state.iterations());
}

void BM_EncodeQwen3(benchmark::State& state) {
  static const auto tok = Tokenizer::from_hf(sparkv::test::qwen_vocab_dir("qwen3").string());
  static const std::string doc = make_document(600'000);
  run(state, *tok, doc);
}
BENCHMARK(BM_EncodeQwen3)->Unit(benchmark::kMillisecond);

void BM_EncodeLlama3(benchmark::State& state) {
  const auto dir = sparkv::test::npm_vocab_dir("tokenizer-llama3");
  if (dir.empty()) {
    state.SkipWithError("Llama-3 vocabulary not installed (scripts/tokenizer/fetch_vocabs.sh)");
    return;
  }
  static const auto tok = Tokenizer::from_hf(dir.string());
  static const std::string doc = make_document(600'000);
  run(state, *tok, doc);
}
BENCHMARK(BM_EncodeLlama3)->Unit(benchmark::kMillisecond);

}  // namespace
