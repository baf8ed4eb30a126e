#!/usr/bin/env python3
"""Aggregate throughput of `sparkv serve` under 1 / 4 / 16 concurrent clients, per recipe.

Starts the server (loopback, any free port), sends each client's requests back to back (greedy,
ignore_eos, a fixed max_tokens), and reports generated tokens per second of wall time over all
clients, mean time to first token, the KV bytes each request held, and the server's peak RSS
(VmHWM). Also measures the machine's memory bandwidth through `sparkv bench`'s probe.

  /usr/bin/python3 bench/server_bench.py [-m MODEL] [--prompt-words 900] [--max-tokens 64]
      [--requests 2] [--clients 1,4,16] [--press full --press snapkv:budget=512+spark:ratio=0.8]
      [--conversation-tokens 8192 --conversation-budget 4GiB]
      [--out docs/results/server-throughput/embedded.md]

With --conversation-tokens N: for each recipe, one `sparkv bench -d N` row on the same model gives
the KV bytes an N-token conversation holds once prefilled (kv_bytes) and the peak its layer-major
prefill needs (the memory plan the server reserves at admission: compressed cache + one dense
layer); the table adds how many such conversations fit in --conversation-budget of KV — at rest,
and while one more is being prefilled.
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(cli, model, slots, ctx):
    p = subprocess.Popen([cli, "serve", "-m", model, "--port", "0", "--slots", str(slots),
                          "--queue", "64", "--ctx-size", str(ctx)], stderr=subprocess.PIPE, text=True)
    m = None
    for _ in range(50):  # start-up notes may come before the address line
        m = re.search(r":(\d+) ", p.stderr.readline())
        if m:
            break
    return p, int(m.group(1))


def post(port, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    c.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = json.loads(r.read())
    c.close()
    if r.status != 200:
        raise RuntimeError(out)
    return out


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def prompt_of(i, n_words):
    words = ("the grass is green and the sky is blue while the river runs to the sea "
             "under a bright morning sun").split()
    body = " ".join(words[(i * 7 + k) % len(words)] for k in range(n_words))
    return f"The pass key is {10000 + 7919 * i}. Remember it. {body} What is the pass key? The pass key is"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", default=os.path.join(ROOT, "models", "sparkv-tiny-f16.gguf"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "sparkv"))
    ap.add_argument("--prompt-words", type=int, default=900)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2, help="requests per client")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--press", action="append")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--out", default="")
    ap.add_argument("--conversation-tokens", type=int, default=0)
    ap.add_argument("--conversation-budget", default="4GiB")
    a = ap.parse_args()
    presses = a.press or ["full", "snapkv:budget=512+spark:ratio=0.8"]
    clients = [int(x) for x in a.clients.split(",")]

    probe = json.loads(subprocess.run([a.cli, "bench", "-m", a.model, "-d", "0", "-p", "16", "-n", "4", "--json"],
                                      capture_output=True, text=True, check=True).stdout)
    rows = []
    for press in presses:
        for n in clients:
            proc, port = start(a.cli, a.model, max(clients), a.ctx)
            try:
                post(port, dict(prompt="warm up", max_tokens=2, temperature=0))
                results, errors = [], []

                def client(i):
                    try:
                        for r in range(a.requests):
                            results.append(post(port, dict(prompt=prompt_of(i * a.requests + r, a.prompt_words),
                                                           max_tokens=a.max_tokens, temperature=0,
                                                           ignore_eos=True, kv_press=press)))
                    except Exception as e:  # noqa: BLE001
                        errors.append(repr(e))

                t0 = time.time()
                ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                wall = time.time() - t0
                if errors:
                    raise SystemExit(errors[0])
                gen = sum(r["usage"]["completion_tokens"] for r in results)
                rows.append(dict(press=press, clients=n, requests=len(results), wall_s=wall,
                                 tok_s=gen / wall,
                                 ttft_s=sum(r["usage"]["time_to_first_token_s"] for r in results) / len(results),
                                 prompt_tokens=results[0]["usage"]["prompt_tokens"],
                                 kv_bytes=sum(r["usage"]["kv_bytes"] for r in results) / len(results),
                                 kv_dense=sum(r["usage"]["kv_bytes_dense_f16"] for r in results) / len(results),
                                 rss_mib=peak_rss_mib(proc.pid)))
                print(json.dumps(rows[-1]), flush=True)
            finally:
                proc.terminate()
                proc.wait()
    lines = ["| recipe | clients | requests | prompt tok | gen tok/s (all clients) | mean TTFT s | KV bytes / request | dense f16 | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| `{r['press']}` | {r['clients']} | {r['requests']} | {r['prompt_tokens']} | {r['tok_s']:.1f} | "
                     f"{r['ttft_s']:.3f} | {r['kv_bytes']:,.0f} | {r['kv_dense']:,.0f} | {r['rss_mib']:.0f} |")
    lines.append("")
    lines.append(f"Machine: measured bandwidth {probe['bandwidth_gbs']:.1f} GB/s, f32 FMA peak "
                 f"{probe['fma_peak_gflops']:.0f} GFLOP/s; model {os.path.basename(a.model)}; "
                 f"{a.requests} requests per client, {a.max_tokens} tokens each (ignore_eos), greedy.")
    if a.conversation_tokens > 0:
        units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
        b = a.conversation_budget
        budget = int(float(b[:-3]) * units[b[-3:]]) if b[-3:] in units else int(b)
        lines += ["", f"{a.conversation_tokens}-token conversations in {b} of KV "
                  f"(`sparkv bench -d {a.conversation_tokens}` per recipe on the same model):", "",
                  "| recipe | KV bytes / conversation | dense f16 bytes | prefill peak (plan) | "
                  "conversations at rest | with one more prefilling |",
                  "|---|---:|---:|---:|---:|---:|"]
        for press in presses:
            j = json.loads(subprocess.run([a.cli, "bench", "-m", a.model, "-d", str(a.conversation_tokens),
                                           "-p", "16", "-n", "4", "--press", press, "--json"],
                                          capture_output=True, text=True, check=True).stdout)
            r = j["rows"][0]
            kv, plan = r["kv_bytes"], r["kv_plan_bytes"]
            rest = budget // kv
            busy = max(0, (budget - plan) // kv + (1 if plan <= budget else 0))
            lines.append(f"| `{press}` | {kv:,} | {r['kv_bytes_dense_f16']:,} | {plan:,} | {rest} | {busy} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
