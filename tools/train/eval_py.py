#!/usr/bin/python3
"""PyTorch reference evaluation of the embedded model on the generated tasks (full cache, greedy).

    /usr/bin/python3 tools/train/eval_py.py --ckpt /work/sparkv-train/run1/ckpt.pt \
        --lengths 1024,2048,4096 --n 100 --out results.json
    /usr/bin/python3 tools/train/eval_py.py --hf models/sparkv-tiny-hf --tasks passkey --n 20

Samples: make_sample(task, 2^40 + i, length) for i in [offset, offset + n) (evaluation seeds).
Scoring (RULER string_match_all): strip, delete \\x00-\\x1f, strip; per sample the fraction of
gold strings that are substrings of the lower-cased prediction; task score = mean x 100.
--mode tf scores teacher-forced exact match instead (one forward pass, no decoding).
Also reports held-out perplexity on generated prose (--ppl-docs documents of --ppl-len tokens).
"""
import argparse
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Config, LlamaForCausalLM  # noqa: E402
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.prose import paragraphs  # noqa: E402
from sparkv_gen.rng import stream  # noqa: E402
from sparkv_gen.tasks import EVAL_SEED_BASE, TASKS, make_sample  # noqa: E402

_CTRL = re.compile(r"[\x00-\x1f]")


def string_match_all(pred, golds):
    p = _CTRL.sub("", pred.strip()).strip().lower()
    return sum(1.0 for g in golds if g.lower() in p) / len(golds)


def load_model(ckpt=None, hf=None, device="cpu"):
    if ckpt:
        ck = torch.load(ckpt, map_location="cpu")
        cfg = Config(**ck["config"])
        m = LlamaForCausalLM(cfg)
        m.load_state_dict(ck["model"])
        info = {"step": ck["state"]["step"], "elapsed": ck["state"]["elapsed"]}
    else:
        sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
        from sparkv_py.safetensors_io import read_folder
        with open(os.path.join(hf, "config.json")) as f:
            j = json.load(f)
        cfg = Config(vocab_size=j["vocab_size"], hidden_size=j["hidden_size"],
                     intermediate_size=j["intermediate_size"],
                     num_hidden_layers=j["num_hidden_layers"],
                     num_attention_heads=j["num_attention_heads"],
                     num_key_value_heads=j["num_key_value_heads"], head_dim=j["head_dim"],
                     rope_theta=j["rope_theta"], rms_norm_eps=j["rms_norm_eps"],
                     max_position_embeddings=j["max_position_embeddings"],
                     bos_token_id=j["bos_token_id"], eos_token_id=j["eos_token_id"])
        m = LlamaForCausalLM(cfg)
        w = read_folder(hf)
        sd = {k: torch.from_numpy(v.copy()) for k, v in w.items()}
        m.load_state_dict(sd)
        info = {"hf": hf}
    m.eval().to(device)
    return m, info


@torch.no_grad()
def greedy(model, ids, max_new, eos_id, device):
    caches = [{} for _ in model.model.layers]
    x = torch.tensor([ids], device=device)
    logits = model(x, kv_caches=caches)
    out = []
    n = len(ids)
    for _ in range(max_new):
        nxt = int(logits[0, -1].argmax())
        if nxt == eos_id:
            break
        out.append(nxt)
        logits = model(torch.tensor([[nxt]], device=device),
                       pos=torch.tensor([[n]], device=device), kv_caches=caches)
        n += 1
    return out


@torch.no_grad()
def teacher_forced_ok(model, p_ids, t_ids, device):
    x = torch.tensor([p_ids + t_ids], device=device)
    logits = model(x)
    pred = logits[0, len(p_ids) - 1:-1].argmax(-1).tolist()
    return pred == t_ids


@torch.no_grad()
def prose_ppl(model, tok, n_docs, L, device):
    nll, cnt = 0.0, 0
    for i in range(n_docs):
        r = stream("prose", EVAL_SEED_BASE + i, L, "hay")
        ids = ([tok.bos_id] + tok.encode_ordinary(paragraphs(r, L // 10 + 4)))[:L]
        x = torch.tensor([ids], device=device)
        logits = model(x)
        ce = F.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum")
        nll += float(ce)
        cnt += len(ids) - 1
    return math.exp(nll / cnt)


def evaluate(model, tok, tasks, lengths, n, offset=0, mode="greedy", device="cpu", log=None):
    res = {}
    for L in lengths:
        for task in tasks:
            t0 = time.time()
            scores, depth_scores = [], {}
            for i in range(offset, offset + n):
                s = make_sample(task, EVAL_SEED_BASE + i, L, tok)
                p_ids = [tok.bos_id] + tok.encode_ordinary(s.prompt)
                if mode == "tf":
                    t_ids = tok.encode_ordinary(s.target) + [tok.eos_id]
                    sc = float(teacher_forced_ok(model, p_ids, t_ids, device))
                else:
                    gen = greedy(model, p_ids, s.max_new_tokens, tok.eos_id, device)
                    sc = string_match_all(tok.decode(gen), s.answers)
                scores.append(sc)
                if s.depths:
                    b = min(s.depths) * 10 // 40        # depth decile of the first needle
                    depth_scores.setdefault(b, []).append(sc)
            acc = 100.0 * sum(scores) / len(scores)
            res.setdefault(str(L), {})[task] = {
                "score": round(acc, 2), "n": len(scores),
                "by_depth_decile": {str(k): round(100.0 * sum(v) / len(v), 1)
                                    for k, v in sorted(depth_scores.items())}}
            msg = f"L={L} {task:16s} {acc:6.2f}  (n={len(scores)}, {time.time() - t0:.0f}s)"
            print(msg, flush=True)
            if log:
                log.write(msg + "\n")
                log.flush()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt")
    ap.add_argument("--hf")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--lengths", default="2048")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--mode", choices=["greedy", "tf"], default="greedy")
    ap.add_argument("--ppl-docs", type=int, default=0)
    ap.add_argument("--ppl-len", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    a = ap.parse_args()
    if not (a.ckpt or a.hf):
        ap.error("need --ckpt or --hf")
    torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tok = Tokenizer.load(a.tokenizer)
    model, info = load_model(a.ckpt, a.hf, device)
    out = {"model": info, "mode": a.mode, "n": a.n, "offset": a.offset}
    if a.ppl_docs:
        out["prose_ppl"] = round(prose_ppl(model, tok, a.ppl_docs, a.ppl_len, device), 4)
        print(f"held-out prose perplexity ({a.ppl_docs} docs x {a.ppl_len} tokens): {out['prose_ppl']}", flush=True)
    tasks = [t for t in a.tasks.split(",") if t]
    lengths = [int(x) for x in a.lengths.split(",") if x]
    out["results"] = evaluate(model, tok, tasks, lengths, a.n, a.offset, a.mode, device)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
