#!/usr/bin/python3
"""Long contexts on a real model shape (issue 20): peak RSS, time to first token and decode speed
per context length and recipe, each row in its own `sparkv bench` process (so peak RSS is that
row's alone), appended to a JSONL file and resumed from it; then a Markdown table and a PNG.

    /usr/bin/python3 bench/make_shaped_gguf.py --shape qwen3-0.6b --out /work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf
    /usr/bin/python3 bench/long_context.py --model /work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf \\
        --out docs/results/long-context            # rows already in results.jsonl are skipped
    /usr/bin/python3 bench/long_context.py --report-only --out docs/results/long-context

A 32k prefill takes minutes on 2 cores: run it in the background (nohup) and rerun to resume.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPTHS = [2048, 8192, 16384, 32768]
RECIPES = ["full", "spark:ratio=0.8", "snapkv:budget=2048+spark:ratio=0.8",
           "snapkv:budget=1024+spark:ratio=0.8"]
MIB = 1 << 20


def run_row(binary, model, depth, recipe, n_prompt, n_gen):
    cmd = [binary, "bench", "-m", model, "-d", str(depth), "-p", str(n_prompt), "-n", str(n_gen),
           "--press", recipe, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    row = j["rows"][0]
    row.update(recipe=recipe, weight_bytes=j["weight_bytes"], threads=j["threads"],
               fma_peak_gflops=j["fma_peak_gflops"], n_prompt=n_prompt, n_gen=n_gen)
    return row


def dense_layer_bytes(row, layer_token_bytes):
    # The dense f16 rows of the context in one layer (what a layer-major prefill holds at once),
    # in whole 64-token pages.
    return (row["depth"] + 63) // 64 * 64 * layer_token_bytes


def budget_refusal(binary, model, depth, limit):
    """What `--kv-mem-limit` says to `full` at `depth` (checked before anything runs)."""
    cmd = [binary, "bench", "-m", model, "-d", str(depth), "-p", "16", "-n", "16", "--press",
           "full", "--kv-mem-limit", limit]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return " ".join(cmd[1:]).replace(model, "MODEL"), r.stderr.strip()


def report(rows, out_dir, layer_token_bytes, refusal=None):
    rows = sorted(rows, key=lambda r: (r["depth"], RECIPES.index(r["recipe"])
                                       if r["recipe"] in RECIPES else 99))
    w = rows[0]["weight_bytes"] if rows else 0
    lines = [
        "# Long contexts on the Qwen3-0.6B shape (issue 20)",
        "",
        "Random weights with the shape of Qwen3-0.6B (28 layers, 16 query / 8 KV heads, head_dim "
        "128, Q8_0 matrices; `bench/make_shaped_gguf.py`), 2 threads, one `sparkv bench -d DEPTH "
        f"-p {rows[0]['n_prompt'] if rows else 16} -n {rows[0]['n_gen'] if rows else 16} --press "
        "RECIPE` process per row, so each row's peak RSS (VmHWM) is its own. Compressing recipes "
        "prefill layer-major: each layer is compressed right after its prefill. TTFT = the "
        "context's prefill + compression up to its last logits. `plan` is what `--kv-mem-limit` "
        "checks (runtime/memory_plan.h). Bandwidth is the triad measured before each row.",
        "",
        f"Weights: {w / MIB:.0f} MiB.",
        "",
        "| context | recipe | TTFT s | compress s | decode tok/s | KV MiB | same tokens dense f16 MiB | plan MiB "
        "| peak RSS MiB | bound MiB | within | triad GB/s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        kv = r["kv_bytes"]
        if r["recipe"] == "full":
            bound = w + 1.1 * kv + 256 * MIB
        else:
            bound = w + 2 * (kv + dense_layer_bytes(r, layer_token_bytes)) + 256 * MIB
        rss = r["peak_rss_mib"] * MIB
        lines.append(
            f"| {r['depth']} | `{r['recipe']}` | {r['ttft_s']:.1f} | {r['compress_s']:.2f} | "
            f"{r['tg_tokens_per_s']:.2f} | {kv / MIB:.0f} | {r['kv_bytes_dense_f16'] / MIB:.0f} | "
            f"{r['kv_plan_bytes'] / MIB:.0f} | {r['peak_rss_mib']:.0f} | {bound / MIB:.0f} | "
            f"{'yes' if rss <= bound else 'NO'} | {r['bandwidth_gbs']:.1f} |")
    lines += [
        "",
        "Bounds (issue 20): `full` ≤ weights + 1.1 × KV + 256 MiB; a compressing recipe ≤ weights + "
        "2 × (its KV + one dense layer) + 256 MiB.",
        "",
        "![peak RSS and TTFT against context](long-context.png)",
    ]
    if refusal:
        lines += [
            "",
            "**A context that does not fit dense runs compressed.** With a 1 GiB budget, `full` at "
            "32k is refused before anything runs, and the refusal names a recipe that fits; the "
            "`plan` column gives what each recipe needs at each context:",
            "",
            f"    sparkv {refusal[0]}",
            f"    {refusal[1]}",
        ]
    lines += [
        "",
        "Reproduce: see the docstring of `bench/long_context.py`.",
    ]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for recipe in RECIPES:
        rr = [r for r in rows if r["recipe"] == recipe]
        if not rr:
            continue
        x = [r["depth"] for r in rr]
        a1.plot(x, [r["peak_rss_mib"] for r in rr], marker="o", label=recipe)
        a2.plot(x, [r["ttft_s"] for r in rr], marker="o", label=recipe)
    for ax, title, unit in ((a1, "peak RSS", "MiB"), (a2, "time to first token", "s")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context (tokens)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    a1.legend(fontsize=7)
    fig.suptitle("Qwen3-0.6B shape, Q8_0, 2 threads")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "long-context.png"), dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="/work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "sparkv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "long-context"))
    ap.add_argument("--depths", default=",".join(map(str, DEPTHS)))
    ap.add_argument("--recipes", default="|".join(RECIPES), help="'|'-separated")
    ap.add_argument("-p", type=int, default=16)
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--layer-token-bytes", type=int, default=8 * 128 * 2 * 2,
                    help="f16 K+V bytes of one token in one layer (Qwen3-0.6B: 8 KV heads x 128)")
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "results.jsonl")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    if not a.report_only:
        done = {(r["depth"], r["recipe"]) for r in rows}
        for depth in map(int, a.depths.split(",")):
            for recipe in a.recipes.split("|"):
                if (depth, recipe) in done:
                    continue
                print(f"[long-context] {depth} {recipe} ...", file=sys.stderr, flush=True)
                row = run_row(a.binary, a.model, depth, recipe, a.p, a.n)
                rows.append(row)
                with open(path, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"[long-context] {depth} {recipe}: TTFT {row['ttft_s']:.1f} s, peak RSS "
                      f"{row['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
    if rows:
        refusal = None
        if os.path.exists(a.model) and os.path.exists(a.binary):
            refusal = budget_refusal(a.binary, a.model, max(r["depth"] for r in rows), "1GiB")
        report(rows, a.out, a.layer_token_bytes, refusal)


if __name__ == "__main__":
    main()
