// Prefill a prompt, compress the KV cache with a SparK recipe, generate (README "C++ API").
#include <cstdio>

#include <sparkv/sparkv.h>

int main(int argc, char** argv) try {
  using namespace sparkv::api;
  const Model model = Model::load(argc > 1 ? argv[1] : "models/sparkv-tiny-f16.gguf");
  const Recipe recipe = Recipe::parse("spark:ratio=0.8");  // prune 80% of key channels per token
  std::string prompt = "The grass is green. The pass key is 31808. Remember it. ";
  for (int i = 0; i < 20; ++i) prompt += "The sky is blue. The sun is yellow. Here we go. ";
  prompt += "What is the pass key? The pass key is";

  Session session(model);
  // Prefill and pack the cache layer by layer: one layer's dense cache exists at a time.
  session.prefill_and_compress(model.tokenizer().encode(prompt), recipe);
  GenerateOptions opts;
  opts.max_tokens = 8;
  opts.stop = {"\n"};  // stop at the end of the line
  const GenerateResult out = session.generate(opts);
  const KvReport kv = session.kv();
  std::printf("%s\n[%s] KV %zu bytes, dense f16 %zu bytes\n", out.text.c_str(),
              recipe.spec().c_str(), kv.bytes, kv.dense_f16_bytes);
} catch (const sparkv::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
