#!/usr/bin/python3
"""Prefill and decode speed against llama.cpp, side by side in one run, on the same GGUF (issue 20).

llama.cpp's CPU build comes from the npm registry (node-llama-cpp's prebuilt, loaded as a Node
addon; bench/llama_cpp/). Per depth, one `sparkv bench` process and one llama.cpp process make the
same measurement: `fill` = the depth's random token ids prefilled, `pp` = 16 more prompt tokens,
`tg` = the median of 32 greedy decode steps; both 2 threads, one after the other, nothing else
running, both with spinning worker threads (llama.cpp's default; GOMP_SPINCOUNT for sparkv, what
its CLI picks on an idle machine). Beside them, from the same run: the triad bandwidth (sparkv bench measures it before its
row), the FMA peak, and the projection GEMMs' and prefill attention's GFLOP/s
(build/sparkv_bench: BM_FmaPeak, BM_ProjGemm, BM_PrefillAttn).

    cd bench/llama_cpp && npm install --ignore-scripts --omit=optional && cd ../..
    /usr/bin/python3 bench/make_shaped_gguf.py --shape qwen3-0.6b --out /work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf
    /usr/bin/python3 bench/vs_llama_cpp.py --model /work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf \\
        --out docs/results/vs-llama-cpp            # rows already in results.jsonl are skipped
    /usr/bin/python3 bench/vs_llama_cpp.py --report-only --out docs/results/vs-llama-cpp

OpenBLAS: sparkv's prefill GEMMs run OpenBLAS's SGEMM, whose kernel set OpenBLAS picks from the
CPU unless OPENBLAS_CORETYPE names one. This project's VM pins OPENBLAS_CORETYPE=Haswell (AVX2) in
its environment; a user's machine has no such pin. Rows run with --blas-core auto (the default)
drop the pin, so OpenBLAS picks for the CPU; `--blas-core pinned` keeps the environment's.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPTHS = [0, 2048, 8192, 16384]


def env_for(blas_core):
    env = dict(os.environ)
    if blas_core == "auto":
        env.pop("OPENBLAS_CORETYPE", None)
    # The wait policy `sparkv` picks itself on an idle machine (threads spin briefly between
    # parallel regions, as llama.cpp's thread pool does), set here so that a probe misreading the
    # load right after the previous row cannot put a row to sleep between regions.
    env.setdefault("GOMP_SPINCOUNT", "100000")
    return env


def run_sparkv(binary, model, depth, pp, tg, threads, blas_core):
    cmd = [binary, "bench", "-m", model, "-d", str(depth), "-p", str(pp), "-n", str(tg),
           "-t", str(threads), "--json"]
    j = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                  env=env_for(blas_core)).stdout)
    r = j["rows"][0]
    return {"engine": "sparkv", "depth": depth, "fill_s": r["fill_s"],
            "pp_tok_s": r["pp_tokens_per_s"], "tg_tok_s": r["tg_tokens_per_s"],
            "peak_rss_mib": r["peak_rss_mib"], "bandwidth_gbs": r["bandwidth_gbs"],
            "fma_peak_gflops": j["fma_peak_gflops"], "blas_core": j["blas_core"],
            "threads": j["threads"]}


def run_llama_cpp(model, depth, pp, tg, threads):
    script = os.path.join(ROOT, "bench", "llama_cpp", "bench.mjs")
    cmd = ["node", script, "--model", model, "--depth", str(depth), "--pp", str(pp), "--tg",
           str(tg), "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_kernels(bench_binary, blas_core):
    cmd = [bench_binary, "--benchmark_filter=FmaPeak|ProjGemm|PrefillAttn",
           "--benchmark_format=json"]
    j = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                  env=env_for(blas_core)).stdout)
    rows = {}
    for b in j["benchmarks"]:
        rows[b["name"].replace("/real_time", "").replace("/iterations:3", "")] = b["GFLOP/s"] / (
            1e9 if b["GFLOP/s"] > 1e6 else 1)
    return {"engine": "kernels", "blas_core": blas_core, "gflops": rows}


def report(rows, out):
    kern = [r for r in rows if r["engine"] == "kernels"]
    by = {}
    for r in rows:
        if r["engine"] in ("sparkv", "llama.cpp"):
            by.setdefault(r["depth"], {})[r["engine"]] = r
    lines = ["# sparkv against llama.cpp on the same GGUF (issue 20)", "",
             "Random-weight GGUF with the shape of Qwen3-0.6B (28 layers, 16 query / 8 KV heads, "
             "head_dim 128, Q8_0; `bench/make_shaped_gguf.py`), 2 threads, one process per engine "
             "and depth, run one after the other by `bench/vs_llama_cpp.py` (nothing else running). "
             "llama.cpp: node-llama-cpp's prebuilt CPU build from npm (bench/llama_cpp/), its "
             "defaults (batch 512, flash attention `auto`). fill = prefill of the depth's random "
             "ids; pp = 16 prompt tokens on top; tg = median of 32 greedy steps. Peak RSS of "
             "llama.cpp includes its Node host (~50 MiB).", "",
             "| depth | sparkv fill s | llama.cpp fill s | prefill speed-up | sparkv pp t/s | "
             "llama.cpp pp t/s | sparkv tg t/s | llama.cpp tg t/s | decode speed-up | "
             "sparkv peak RSS MiB | llama.cpp peak RSS MiB | triad GB/s | OpenBLAS |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for d in sorted(by):
        s, l = by[d].get("sparkv"), by[d].get("llama.cpp")
        if not s or not l:
            continue
        up = f"{l['fill_s'] / s['fill_s']:.2f}x" if d > 0 else "–"
        fs = f"{s['fill_s']:.1f}" if d > 0 else "–"
        fl = f"{l['fill_s']:.1f}" if d > 0 else "–"
        lines.append(
            f"| {d} | {fs} | {fl} | {up} | {s['pp_tok_s']:.1f} | {l['pp_tok_s']:.1f} | "
            f"{s['tg_tok_s']:.2f} | {l['tg_tok_s']:.2f} | {s['tg_tok_s'] / l['tg_tok_s']:.2f}x | "
            f"{s['peak_rss_mib']:.0f} | {l['peak_rss_mib']:.0f} | {s['bandwidth_gbs']:.1f} | "
            f"{s['blas_core']} |")
    if kern:
        k = kern[-1]["gflops"]
        peak = k.get("BM_FmaPeak", 0.0)
        lines += ["", f"Kernels in the same run (`build/sparkv_bench`), FMA peak {peak:.0f} "
                  "GFLOP/s (2 threads):", "", "| kernel | GFLOP/s | share of FMA peak |",
                  "|---|---:|---:|"]
        names = {"BM_ProjGemm/2048/1024/0/0": "q projection 2048 x 1024, 512 tokens",
                 "BM_ProjGemm/1024/1024/0/0": "k / v projection 1024 x 1024, 512 tokens",
                 "BM_ProjGemm/1024/2048/0/0": "o projection 1024 x 2048, 512 tokens",
                 "BM_ProjGemm/3072/1024/0/0": "gate / up 3072 x 1024, 512 tokens",
                 "BM_ProjGemm/1024/3072/0/0": "down 1024 x 3072, 512 tokens",
                 "BM_PrefillAttn/0": "attention, 512 queries on 0 cached tokens",
                 "BM_PrefillAttn/2048": "attention, 512 queries on 2,048 cached",
                 "BM_PrefillAttn/7680": "attention, 512 queries on 7,680 cached"}
        for name, label in names.items():
            if name in k:
                lines.append(f"| {label} | {k[name]:.0f} | {100 * k[name] / peak:.0f}% |")
        small = [(t, k.get(f"BM_ProjGemm/3072/1024/{t}/1"), k.get(f"BM_ProjGemm/3072/1024/{t}/2"))
                 for t in (4, 8, 16, 32, 64)]
        if all(g and s_ for _, g, s_ in small):
            lines += ["", "Few tokens (gate 3072 x 1024, Q8_0): GFLOP/s of the batched GEMV on the "
                      "quantized rows / of SGEMM on dequantized tiles — matmul switches at 16 tokens:",
                      "", "| tokens | " + " | ".join(str(t) for t, _, _ in small) + " |",
                      "|---|" + "---:|" * len(small),
                      "| batched GEMV | " + " | ".join(f"{g:.0f}" for _, g, _ in small) + " |",
                      "| SGEMM | " + " | ".join(f"{s_:.0f}" for _, _, s_ in small) + " |"]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n\nReproduce: see the docstring of `bench/vs_llama_cpp.py`.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="/work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "vs-llama-cpp"))
    ap.add_argument("--depths", default=",".join(map(str, DEPTHS)))
    ap.add_argument("--pp", type=int, default=16)
    ap.add_argument("--tg", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--blas-core", choices=["auto", "pinned"], default="auto")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "sparkv"))
    ap.add_argument("--bench-binary", default=os.path.join(ROOT, "build", "sparkv_bench"))
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "results.jsonl")
    rows = [json.loads(x) for x in open(path)] if os.path.exists(path) else []
    if not a.report_only:
        if not os.path.exists(a.model):
            sys.exit(f"{a.model}: no such file (make it with bench/make_shaped_gguf.py)")
        done = {(r["engine"], r.get("depth")) for r in rows}
        todo = []
        if ("kernels", None) not in done:
            todo.append(("kernels", None))
        for d in map(int, a.depths.split(",")):
            todo += [(e, d) for e in ("sparkv", "llama.cpp") if (e, d) not in done]
        for engine, d in todo:
            print(f"[vs_llama_cpp] {engine} depth {d}", file=sys.stderr, flush=True)
            if engine == "kernels":
                r = run_kernels(a.bench_binary, a.blas_core)
            elif engine == "sparkv":
                r = run_sparkv(a.binary, a.model, d, a.pp, a.tg, a.threads, a.blas_core)
            else:
                r = run_llama_cpp(a.model, d, a.pp, a.tg, a.threads)
            rows.append(r)
            with open(path, "a") as f:
                f.write(json.dumps(r) + "\n")
    report(rows, a.out)
    print(open(os.path.join(a.out, "README.md")).read())


if __name__ == "__main__":
    main()
