#!/usr/bin/python3
"""Prompt-cache benchmark (issue 21): time until the first token can be sampled for a long
document prompt, prefilled (miss: prefill + compression + writing the file) versus restored
from the prompt-cache file (hit), side by side in one run, per recipe and prompt length, with
`sparkv run --prompt-cache --json` (prompt_ready_seconds). Answers must be equal.

    /usr/bin/python3 bench/prompt_cache.py [--model M] [--lengths 1024,3500] [--out docs/results/prompt-cache]
"""
import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "build", "sparkv")
RECIPES = ["full", "spark:ratio=0.8", "snapkv:budget=512+spark:ratio=0.8"]


def run(model, prompt, press, cache):
    """The run's JSON, with its own peak RSS (wait4's rusage of that child alone)."""
    p = subprocess.Popen([CLI, "run", "-m", model, "-p", prompt, "-n", "8", "--press", press,
                          "--prompt-cache", cache, "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    assert status == 0, out
    j = json.loads(out)
    j["peak_rss_mib"] = ru.ru_maxrss / 1024
    return j


def bandwidth_gbs(model):
    out = subprocess.run([CLI, "bench", "-m", model, "--depth", "0", "--json"], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)["bandwidth_gbs"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "sparkv-tiny-f16.gguf"))
    ap.add_argument("--lengths", default="1024,3500")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "prompt-cache"))
    a = ap.parse_args()
    rows = []
    bw = bandwidth_gbs(a.model)
    print(f"measured bandwidth (triad) {bw:.1f} GB/s", flush=True)
    filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. "
    for n in [int(x) for x in a.lengths.split(",")]:
        # ~17 tokens per filler sentence group on the embedded tokenizer; trimmed by the CLI count
        reps = max(1, n // 17)
        prompt = "The pass key is 31808. Remember it. " + filler * reps + "What is the pass key? The pass key is"
        for press in RECIPES:
            with tempfile.TemporaryDirectory() as d:
                f = os.path.join(d, "pc.sparkv")
                miss = run(a.model, prompt, press, f)
                hits = [run(a.model, prompt, press, f) for _ in range(3)]
                size = os.path.getsize(f)
            assert miss["prompt_cache"] == "written" and all(h["prompt_cache"] == "hit" for h in hits)
            assert all(h["text"] == miss["text"] for h in hits), press
            hit = min(h["prompt_ready_seconds"] for h in hits)
            rows.append(dict(prompt_tokens=miss["prompt_tokens"], press=press,
                             miss_s=miss["prompt_ready_seconds"], hit_s=hit,
                             ratio=hit / miss["prompt_ready_seconds"], file_bytes=size,
                             kv_bytes=miss["kv_bytes_after_press"] or miss["kv_bytes"],
                             miss_peak_rss_mib=miss["peak_rss_mib"],
                             hit_peak_rss_mib=max(h["peak_rss_mib"] for h in hits),
                             text=miss["text"]))
            r = rows[-1]
            print(f"{r['prompt_tokens']:6d} {press:36s} miss {r['miss_s']*1e3:8.1f} ms  hit "
                  f"{r['hit_s']*1e3:7.2f} ms  ratio {r['ratio']*100:5.2f}%  file {size/1024:8.0f} KiB  "
                  f"peak RSS {r['miss_peak_rss_mib']:.0f} / {r['hit_peak_rss_mib']:.0f} MiB",
                  flush=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "prompt_cache.json"), "w") as f:
        json.dump(dict(model=os.path.relpath(a.model, ROOT), bandwidth_gbs=bw, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
