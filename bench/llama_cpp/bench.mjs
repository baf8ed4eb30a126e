// llama.cpp's side of bench/vs_llama_cpp.py: the same measurement `sparkv bench` makes, through
// node-llama-cpp's prebuilt CPU build (llama.cpp compiled by its authors, loaded as a Node addon).
//
//   node bench/llama_cpp/bench.mjs --model FILE.gguf --depth 8192 --pp 16 --tg 32 --threads 2
//
// Per depth: a fresh context of depth + pp + tg tokens; `fill` = the depth's random token ids
// evaluated in one call (llama.cpp batches them in --batch tokens, 512 as its default); `pp` =
// pp more tokens on top; `tg` = tg greedy steps, the median step reported as tokens per second.
// One JSON line per depth on stdout.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}

// xorshift32: a fixed, seeded stream of token ids (the ids do not matter to the speed)
function ids(n, seed, vocab, avoid) {
  let s = seed >>> 0 || 1;
  const out = [];
  while (out.length < n) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const t = s % vocab;
    if (!avoid.has(t)) out.push(t);
  }
  return out;
}

const model_path = arg("model");
if (!model_path) throw new Error("--model FILE.gguf is required");
const depths = arg("depth", "0").split(",").map(Number);
const pp = Number(arg("pp", "16")), tg = Number(arg("tg", "32"));
const threads = Number(arg("threads", "2")), batch = Number(arg("batch", "512"));
const seed = Number(arg("seed", "1"));

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error,
                              maxThreads: threads});
const model = await llama.loadModel({modelPath: model_path, gpuLayers: 0, useMmap: true});
const vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;  // the GGUF's vocabulary
const avoid = new Set([model.tokens.bos, model.tokens.eos].filter((t) => t != null));

for (const depth of depths) {
  const context = await model.createContext({contextSize: depth + pp + tg + 8, batchSize: batch,
                                             threads: {ideal: threads, min: threads}});
  const seq = context.getSequence();
  const prompt = ids(depth + pp, seed + depth, vocab, avoid);
  let t0 = performance.now();
  if (depth > 0) await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, depth));
  const fill_s = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(depth));
  const pp_s = (performance.now() - t0) / 1000;
  const steps = [];
  let last = performance.now();
  let n = 0;
  // greedy (temperature 0) steps; the first one feeds the last prompt token again
  for await (const tok of seq.evaluate([prompt[prompt.length - 1]], {temperature: 0})) {
    const now = performance.now();
    steps.push(now - last);
    last = now;
    if (++n >= tg) break;
  }
  steps.sort((a, b) => a - b);
  const median_ms = steps[Math.floor(steps.length / 2)];
  console.log(JSON.stringify({engine: "llama.cpp", build: "node-llama-cpp prebuilt (linux-x64)",
    depth, fill_s, pp_tok_s: pp / pp_s, tg_tok_s: 1000 / median_ms, threads, batch,
    flash_attention: context.flashAttention, context_size: context.contextSize,
    // the whole Node process: llama.cpp's weights, KV and scratch, plus Node itself (~50 MiB)
    peak_rss_mib: process.resourceUsage().maxRSS / 1024}));
  await context.dispose();
}
await model.dispose();
await llama.dispose();
