#!/usr/bin/python3
"""Plot a training log with gnuplot (Debian package; matplotlib is not installed here).

    /usr/bin/python3 tools/train/plot_log.py /work/sparkv-train/run2 --out models/training-curve.png
    /usr/bin/python3 tools/train/plot_log.py tools/train/runs/run8-log.jsonl.gz \
        /work/sparkv-train/run8b --out models/sparkv-tiny-learned-training-curve.png

Several logs (a run directory or a .jsonl / .jsonl.gz file each) are one history: a fine-tuning run
started from the previous run's final weights (--init-from) continues its x axis, and a dotted
vertical line marks where it begins.

Top: total, LM and answer-token loss (smoothed over 25 steps) and the curriculum's stage length
against training hours; bottom: teacher-forced exact match of the bar tasks, pooled over 100 steps.
"""
import argparse
import gzip
import json
import os
import subprocess
import tempfile

BAR = ["passkey", "s1", "s2", "mk1", "mk2"]


def read_log(path):
    if os.path.isdir(path):
        path = os.path.join(path, "log.jsonl")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run", nargs="+", help="run directory or log file, oldest first")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    steps, starts = [], []
    for run in a.run:
        part = []
        for r in (r for r in read_log(run) if "loss" in r):
            # a resume restarts from the last checkpoint: the records after it that the resumed
            # run repeats are not part of the weights' history, so the later copy replaces them
            while part and part[-1]["step"] >= r["step"]:
                part.pop()
            part.append(r)
        t0 = steps[-1]["elapsed"] if steps else 0.0
        if steps:
            starts.append(t0 / 3600)
        steps += [dict(r, elapsed=r["elapsed"] + t0) for r in part]
    # a dotted line in both panels where each later run begins
    arrows = "".join(f"set arrow from {x:.4f}, graph 0 to {x:.4f}, graph 1 nohead dt 3\n" for x in starts)
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "loss.dat"), "w") as f:
        win = []
        # stages only advance, so the running max of the row length is the stage length (--lengths
        # mixes shorter rows into the last stage)
        stage = 0
        for r in steps:
            stage = max(stage, r["T"])
            win.append((r["loss"], r["lm_loss"], r["ans_loss"]))
            win = win[-25:]
            m = [sum(x[i] for x in win) / len(win) for i in range(3)]
            f.write(f"{r['elapsed'] / 3600:.4f} {m[0]:.4f} {m[1]:.4f} {m[2]:.4f} {stage}\n")
    with open(os.path.join(tmp, "acc.dat"), "w") as f:
        # exact match pooled over the last 10 records (100 steps), weighted by sample counts
        hist = []
        for r in steps:
            if "acc" not in r:
                continue
            hist.append(r)
            hist = hist[-10:]
            cols = []
            for k in BAR:
                n = sum(h["n"].get(k, 0) for h in hist)
                ok = sum(h["acc"].get(k, 0.0) * h["n"].get(k, 0) for h in hist)
                cols.append(f"{ok / n:.3f}" if n else "NaN")
            f.write(f"{r['elapsed'] / 3600:.4f} " + " ".join(cols) + f" {r['T']}\n")
    gp = f"""
set terminal pngcairo size 1000,800
set output '{os.path.abspath(a.out)}'
set multiplot layout 2,1
set grid
set xlabel 'training hours (CPU time / 2 threads)'
set ylabel 'loss (25-step mean)'
set y2label 'stage length T'
set y2tics
set logscale y2 2
{arrows}plot '{tmp}/loss.dat' u 1:2 w l t 'total', '' u 1:3 w l t 'LM (all tokens)', \
     '' u 1:4 w l t 'answer tokens', '' u 1:5 axes x1y2 w l dt 2 t 'T'
unset y2label; unset y2tics; unset logscale y2
set ylabel 'answer exact match (training batches, 100-step pool)'
set yrange [0:1.05]
plot for [i=2:{1 + len(BAR)}] '{tmp}/acc.dat' u 1:i w l t word('{' '.join(BAR)}', i-1)
unset multiplot
"""
    subprocess.run(["gnuplot"], input=gp.encode(), check=True)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
