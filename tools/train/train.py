#!/usr/bin/python3
"""Train sparkv's embedded model: a small Llama on generated long-context tasks + prose.

    nice -n 10 /usr/bin/python3 tools/train/train.py --out /work/sparkv-train/run1
    nice -n 10 /usr/bin/python3 tools/train/train.py --out /work/sparkv-train/run1 --resume

Rows of `T` tokens are packed with documents (BOS ... EOS); attention is block-diagonal per
document and positions restart at 0 in each, so a packed row trains exactly like separate
sequences. Loss = mean CE over every predicted token + answer_weight * mean CE over the answer
tokens (target + EOS). Teacher-forced exact match (every answer token the argmax) equals greedy
exact match, so it is logged per task as the accuracy signal for the length curriculum.
See tools/train/README.md for the design and the recorded choices.
"""
import argparse
import json
import math
import multiprocessing
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as model_mod  # noqa: E402
from model import (Config, LlamaForCausalLM, circuit_slices, induction_init, key_match_init,  # noqa: E402
                   prev_token_init)
from sparkv_gen.bpe import Tokenizer, digit_chunk_merges  # noqa: E402
from sparkv_gen.prose import paragraphs  # noqa: E402
from sparkv_gen.rng import SplitMix64, stream  # noqa: E402
from sparkv_gen.tasks import TASKS, SHORT_NAMES, make_sample  # noqa: E402

STAGES = [128, 256, 512, 1024, 2048, 4096]
# documents per draw (relative weights); "copy" only while warming up / early stages
WEIGHTS = {"passkey": 1.0, "niah_single_1": 1.0, "niah_single_2": 1.0, "niah_single_3": 1.0,
           "niah_multikey_1": 1.5, "niah_multikey_2": 1.5, "niah_multikey_3": 1.5,
           "niah_multivalue": 1.0, "niah_multiquery": 1.0, "vt": 1.0, "cwe": 0.5, "fwe": 0.5,
           "prose": 2.0, "ngram": 0.0}
MIN_LEN = {"passkey": 112, "niah_single_1": 112, "niah_single_2": 96, "niah_single_3": 160,
           "niah_multikey_1": 160, "niah_multikey_2": 96, "niah_multikey_3": 240,
           "niah_multivalue": 192, "niah_multiquery": 208, "vt": 192, "cwe": 496, "fwe": 160,
           "prose": 32, "copy": 32, "copy_plain": 32, "ngram": 32}
BAR = ["passkey", "niah_single_1", "niah_single_2", "niah_multikey_1", "niah_multikey_2"]   # --bar
TRAIN_SEED_LIMIT = 1 << 40
COPY_ALPHABET = 512
ZERO_CHUNK_FRAC = 0.0   # --zero-chunk-frac
COPY_NUMBER_EVERY = 0   # --copy-number-every


# ---- data ---------------------------------------------------------------------------------------
class Doc:
    __slots__ = ("task", "ids", "ans_start", "length")

    def __init__(self, task, ids, ans_start, length):
        self.task, self.ids, self.ans_start, self.length = task, ids, ans_start, length


def number_unit(tok, rng):
    """A number as the tasks write it in copy data: the lone space token, then 3-7 digits (one
    token per digit under the Qwen2 split, chunks of up to 3 under Llama-3's)."""
    n = 3 + rng.below(5)
    return [tok.space_id] + tok.encode_ordinary("".join(str(rng.below(10)) for _ in range(n)))


def zero_middle_chunks(prompt, target, rng):
    """--zero-chunk-frac P: each 7-digit number of the answer gets its 4th digit set to 0 with
    probability P, in the prompt as in the answer (training rows only; evaluation samples are the
    generators' own). Under the Llama-3 split a 7-digit number is 3 chunks (123|045|6), and the
    100 middle chunks with a leading zero appear in nothing else the model trains on: run8's final
    model copied them right in 51% of the needles whose number had one (22 of 43), against 97%
    (346 of 357) for the other numbers (competence-learned, 2,048 and 4,096 tokens)."""
    for num in sorted(set(re.findall(r"(?<!\d)\d{7}(?!\d)", target))):
        if num[3] != "0" and rng.below(1 << 20) < ZERO_CHUNK_FRAC * (1 << 20):
            new = num[:3] + "0" + num[4:]
            prompt, target = prompt.replace(num, new), target.replace(num, new)
    return prompt, target


def make_doc(kind, seed, L, tok, rng):
    """A document of at most L tokens. ans_start = index of the first answer token (or None)."""
    if kind == "copy_plain":
        # the warm-up's first phase from a random init (--copy-plain-steps): symbols only. With
        # the digit units below, over half the tokens are one of 11 ids that recur many times in
        # the first half, so "the token after this one's earlier occurrence" is ambiguous for them
        # and a one-token induction head earns little: run7 (head_dim 128, random init) showed no
        # copying after 330 steps, where a digit-free copy probe of the same model copied by ~100
        h = (L - 1) // 2
        x = [tok.symbol_base + rng.below(COPY_ALPHABET) for _ in range(h)]
        return Doc(kind, [tok.bos_id] + x + x, 1 + h, L)
    if kind == "copy":
        h = (L - 1) // 2
        # alphabet: the first COPY_ALPHABET merged tokens (frequent English pieces whose
        # embeddings train anyway); a small alphabet makes induction form fast
        # Digits are in the copied symbols: answers are digit strings, and without copying
        # pressure on them the tied embeddings of the ten digits collapse onto one direction
        # (measured in run2: mean cosine 0.995 after 900 steps), which makes them uncopyable.
        # A third of the units are numbers as the tasks write them: the lone space token then
        # 3-7 digits (the first answer digit is found through "the token after ' '", which the
        # run3 probe at step 555 got wrong in 8 of 8 samples while copying the other digits).
        x = []
        if COPY_NUMBER_EVERY > 0:
            # --copy-number-every N: one unit in N is a number (space + 3-7 digits), the rest
            # symbols. run7 (random init) copied symbols at 0.8 exact-match but digit-dense copies
            # at 0.0 for 160 steps: with ~60% of tokens among 11 ids, the next digit needs a
            # 3-4-token match. The retrieval tasks copy one number from digit-free filler, which
            # sparse numbers imitate while still training the digit embeddings.
            while len(x) < h:
                if rng.below(COPY_NUMBER_EVERY) == 0:
                    x.extend(number_unit(tok, rng))
                else:
                    x.append(tok.symbol_base + rng.below(COPY_ALPHABET))
            x = x[:h]
            return Doc(kind, [tok.bos_id] + x + x, 1 + h, L)
        while len(x) < h:
            u = rng.below(10)
            if u < 2:
                x.append(tok.digit_ids[rng.below(10)])
            elif u < 5:
                x.extend(number_unit(tok, rng))
            else:
                x.append(tok.symbol_base + rng.below(COPY_ALPHABET))
        x = x[:h]
        return Doc(kind, [tok.bos_id] + x + x, 1 + h, L)
    if kind == "ngram":
        # Copy over a tiny alphabet (6 symbols drawn per document): a symbol is followed by every
        # symbol somewhere in the first half, so predicting the second half needs the previous 2-3
        # tokens, not just one — the longer match multi-key retrieval needs (the key is 2 tokens,
        # 3 tokens before the value). run3/run4 retrieved a needle but picked one at random among
        # the keys (55% of multikey_1 answers at 2,048 were a distractor's value).
        h = min((L - 1) // 2, 64)
        alpha = [tok.symbol_base + rng.below(COPY_ALPHABET) for _ in range(6)]
        x = [alpha[rng.below(6)] for _ in range(h)]
        return Doc(kind, [tok.bos_id] + x + x, 1 + h, L)
    if kind == "prose":
        r = stream("prose", seed, L, "hay")
        ids = [tok.bos_id] + tok.encode_ordinary(paragraphs(r, L // 10 + 4))
        return Doc(kind, ids[:L], None, L)
    s = make_sample(kind, seed, L, tok)
    prompt, target = s.prompt, s.target
    if ZERO_CHUNK_FRAC > 0:
        prompt, target = zero_middle_chunks(prompt, target, rng)
    p = [tok.bos_id] + tok.encode_ordinary(prompt)
    t = tok.encode_ordinary(target) + [tok.eos_id]
    ids = p + t
    if len(ids) > L:          # cannot happen when L >= MIN_LEN[kind]; keep the guard
        return None
    return Doc(kind, ids, len(p), L)


def pick_kind(rng, remaining, weights):
    ks = [k for k in sorted(weights) if weights[k] > 0 and MIN_LEN[k] <= remaining]
    if not ks:
        return None
    tot = sum(int(weights[k] * 100) for k in ks)
    r = rng.below(tot)
    for k in ks:
        r -= int(weights[k] * 100)
        if r < 0:
            return k
    return ks[-1]


def build_row(T, rng, tok, weights):
    docs, used = [], 0
    first = True
    while T - used >= 32:
        rem = T - used
        kind = pick_kind(rng, rem, weights)
        if kind is None:
            break
        lo = MIN_LEN[kind]
        if first and rng.below(4) != 0:
            lo = max(lo, T // 2)
        L = rng.between(min(lo, rem), rem)
        if kind == "copy_plain":
            # one copy document per row, as long as the row: the longest halves give the most
            # induction signal per step (the probe that copied by step ~100 used rows like this;
            # run7's first restart, packing 32-128-token copy documents, stayed at chance for 300)
            L = rem
        d = make_doc(kind, rng.below(TRAIN_SEED_LIMIT), L, tok, rng)
        first = False
        if d is None:
            continue
        docs.append(d)
        used += len(d.ids)
    return docs


def collate(rows, T, tok, device):
    B = len(rows)
    ids = torch.full((B, T), tok.eos_id, dtype=torch.long)
    pos = torch.zeros((B, T), dtype=torch.long)
    doc = torch.full((B, T), -1, dtype=torch.long)
    lm = torch.zeros((B, T), dtype=torch.bool)      # position t predicts token t+1 (same doc)
    ans = torch.zeros((B, T), dtype=torch.bool)
    spans = []                                       # (row, start, end, task): predictions t in [start, end)
    for b, docs in enumerate(rows):
        o = 0
        for j, d in enumerate(docs):
            n = len(d.ids)
            ids[b, o:o + n] = torch.tensor(d.ids)
            pos[b, o:o + n] = torch.arange(n)
            doc[b, o:o + n] = j
            lm[b, o:o + n - 1] = True
            if d.ans_start is not None:
                ans[b, o + d.ans_start - 1:o + n - 1] = True
                if d.length >= T // 2 or d.task in ("copy", "copy_plain"):
                    spans.append((b, o + d.ans_start - 1, o + n - 1, d.task))
            o += n
    tgt = torch.roll(ids, -1, dims=1)
    doc = doc.to(device)
    # the [B, T, T] mask is built where it is used (on CUDA it would be B*T*T bytes to copy)
    mask = (doc[:, :, None] == doc[:, None, :]) & torch.ones(T, T, dtype=torch.bool, device=device).tril()[None]
    mask &= (doc >= 0)[:, :, None]
    mask |= torch.eye(T, dtype=torch.bool, device=device)[None]   # padding rows attend to themselves
    return (ids.to(device), pos.to(device), mask, tgt.to(device), lm.to(device),
            ans.to(device), spans)


# ---- data workers (--workers N): rows built in forked processes --------------------------------
# Each step draws one seed from the trainer's RNG; a worker builds that step's rows from
# SplitMix64(seed), so the data stream is fixed by the seed sequence whatever the worker count.
_TOK = None


def _build_rows(spec):
    T, B, weights, seed = spec
    r = SplitMix64(seed)
    return T, [build_row(T, r, _TOK, weights) for _ in range(B)]


# ---- schedule -------------------------------------------------------------------------------------
def base_lr(st, a):
    """--lr, or the LR of the last --lr-after STEP:LR whose step has been reached."""
    lr = a.lr
    for item in (a.lr_after or "").split(","):
        if item:
            step, _, value = item.partition(":")
            if st["step"] >= int(step):
                lr = float(value)
    return lr


def lr_at(st, a):
    lr = base_lr(st, a)
    since = st["step"] - st.get("opt_reset_step", 0)
    if since < a.warmup:
        return lr * (since + 1) / a.warmup
    frac = st["elapsed"] / (a.budget_h * 3600.0)
    if frac < a.decay_start:
        return lr
    f = min(1.0, (frac - a.decay_start) / (1.0 - a.decay_start))
    return lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * f)))


def stage_weights(st, a):
    w = dict(WEIGHTS)
    if not st.get("copy_done"):
        if st["step"] < a.copy_plain_steps:
            return {"copy_plain": 1.0}
        # Digit copies join the symbol copies instead of replacing them: run7's second start
        # switched at step 300 and the first digit steps (embeddings the warm-up never trained,
        # gradient norm 12) wiped the copy circuit within 10 steps (copy loss 0.002 -> 3.1).
        return {"copy_plain": 0.5, "copy": 0.5}
    w["copy"] = {0: 1.0, 1: 0.5}.get(st["stage"], 0.25)
    for item in filter(None, a.mix.split(",")):
        k, v = item.split("=")
        if k not in w:
            raise SystemExit(f"--mix: unknown document kind '{k}'")
        w[k] = float(v)
    return w


def step_T(st, a, max_stage):
    """The row length of this step: the stage length, or in the last stage a length drawn from
    --lengths (deterministic in the step number, so a resumed run draws the same lengths)."""
    if a.lengths and st["stage"] == max_stage:
        ls = [int(x) for x in a.lengths.split(",")]
        return ls[SplitMix64(0x1E46 + st["step"]).below(len(ls))]
    return stage_T(st)


def stage_T(st):
    return STAGES[st["stage"]]


def tokens_per_step(T, a):
    return a.tokens_short if T <= 512 else a.tokens_long


# ---- checkpoint -----------------------------------------------------------------------------------
def save_ckpt(path, model, opt, st, rng, cfg, a):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": st,
                "rng_state": rng.state, "config": cfg.to_dict(), "args": vars(a),
                "torch_rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)
    if a.carry:
        # what a later session on a fresh machine needs to go on: F16 weights (half of F32, a
        # sixth of the full checkpoint) and the trainer state; the optimiser restarts (see --resume)
        tmp = a.carry + ".tmp"
        torch.save({"model": {k: v.detach().cpu().half() for k, v in model.state_dict().items()},
                    "state": st, "rng_state": rng.state, "config": cfg.to_dict(), "args": vars(a),
                    "torch_rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, a.carry)
    if a.model_copy:   # weights only (no optimiser state): a third of the size, enough to export
        tmp = a.model_copy + ".tmp"
        torch.save({"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "state": st, "config": cfg.to_dict(), "args": vars(a)}, tmp)
        os.replace(tmp, a.model_copy)


def load_ckpt(path):
    try:   # torch >= 2.6 defaults to weights_only=True, which refuses the trainer state
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:
        return torch.load(path, map_location="cpu")


def make_optimizer(model, a):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                              {"params": nodecay, "weight_decay": 0.0}],
                             lr=a.lr, betas=(0.9, 0.95))


def main():
    global COPY_ALPHABET, COPY_NUMBER_EVERY, BAR, ZERO_CHUNK_FRAC
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/sparkv-train/run1")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default="",
                    help="start a new run (fresh optimiser and schedule) from this checkpoint's weights, "
                         "in the last curriculum stage")
    ap.add_argument("--workers", type=int, default=0, help="processes building data rows (0 = in the trainer)")
    ap.add_argument("--amp", choices=["auto", "bf16", "none"], default="auto",
                    help="autocast dtype; auto = bf16 on CUDA, none on CPU")
    ap.add_argument("--sdpa", choices=["auto", "off"], default="auto",
                    help="auto = torch's scaled_dot_product_attention on CUDA when this torch has it")
    ap.add_argument("--freeze-circuits", type=int, default=0,
                    help="keep the init circuits' weight slices (model.circuit_slices) fixed for this many steps")
    ap.add_argument("--model-copy", default="", help="also write a weights-only checkpoint here")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=640)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64,
                    help="per-head width (run7, the learned model: 128, as in the checkpoints users bring)")
    ap.add_argument("--copy-alphabet", type=int, default=COPY_ALPHABET,
                    help="merged tokens the copy warm-up draws its symbols from (fewer: induction forms sooner)")
    ap.add_argument("--rope-theta", type=float, default=500000.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-after", default="",
                    help="STEP:LR[,STEP:LR...]: the base LR from that step on (run8: 2478:2e-4)")
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--decay-start", type=float, default=0.85, help="fraction of the time budget")
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--answer-weight", type=float, default=1.0)
    ap.add_argument("--copy-steps", type=int, default=300, help="most steps of pure copy warm-up")
    ap.add_argument("--copy-plain-steps", type=int, default=0,
                    help="first steps of the warm-up copy symbols only, no digit strings (random init)")
    ap.add_argument("--copy-acc", type=float, default=0.5, help="copy exact-match EMA that ends the warm-up")
    ap.add_argument("--init", choices=["induction", "induction+key", "prev", "random"], default="induction",
                    help="induction+key: also the key-aware induction circuit (model.key_match_init)")
    ap.add_argument("--tokens-short", type=int, default=2048)
    ap.add_argument("--tokens-long", type=int, default=4096)
    ap.add_argument("--max-len", type=int, default=2048)
    ap.add_argument("--advance-acc", type=float, default=0.8)
    ap.add_argument("--bar", default=",".join(BAR),
                    help="tasks whose EMA accuracy must reach --advance-acc to advance a stage")
    ap.add_argument("--carry", default="",
                    help="also write a compact resume file here (F16 weights + trainer state, no "
                         "optimiser); --resume uses it when OUT/ckpt.pt is missing (a new machine)")
    ap.add_argument("--stage-min-steps", type=int, default=60)
    ap.add_argument("--stage-max-frac", default="0.08,0.08,0.12,0.20,0.45,0.2",
                    help="max fraction of the time budget spent in each stage")
    ap.add_argument("--budget-h", type=float, default=3.0)
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--ckpt-every-s", type=float, default=300.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mix", default="",
                    help="override document weights, e.g. niah_multikey_1=3,prose=1.5 (after the warm-up)")
    ap.add_argument("--lengths", default="",
                    help="in the last stage, draw each step's row length from this list (e.g. 512,1024,2048) "
                         "instead of the stage length")
    ap.add_argument("--digit-respread-step", type=int, default=0,
                    help="at this step, add fresh random components to the digit embeddings "
                         "(a recorded intervention of run2, see README; 0 = never)")
    ap.add_argument("--zero-chunk-frac", type=float, default=0.0,
                    help="set the 4th digit of an answer's 7-digit numbers to 0 with this probability "
                         "(the leading-zero middle chunks of the Llama-3 split; zero_middle_chunks)")
    ap.add_argument("--copy-number-every", type=int, default=0,
                    help="digit copies: one unit in N is a number, the rest symbols (0 = the dense "
                         "digit mix the shipped model trained on)")
    a = ap.parse_args()
    COPY_ALPHABET = a.copy_alphabet
    COPY_NUMBER_EVERY = a.copy_number_every
    ZERO_CHUNK_FRAC = a.zero_chunk_frac
    BAR = [k for k in a.bar.split(",") if k]
    unknown = [k for k in BAR if k not in MIN_LEN]
    if unknown:
        raise SystemExit(f"--bar: unknown task(s) {', '.join(unknown)}")

    torch.set_num_threads(a.threads)
    tok = Tokenizer.load(a.tokenizer)
    tok.digit_ids = [tok.encode_ordinary(str(i))[0] for i in range(10)]
    tok.space_id = tok.encode_ordinary(" 1")[0]          # the lone space before a number
    # copy symbols: merged tokens after the Llama-3 split's 1,100 number chunks (bpe.py)
    tok.symbol_base = 256 + (len(digit_chunk_merges()) if tok.split == "llama3" else 0)
    global _TOK
    _TOK = tok
    # fork the data workers before CUDA is initialised
    pool = multiprocessing.get_context("fork").Pool(a.workers) if a.workers > 0 else None
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    amp = (a.amp == "bf16") or (a.amp == "auto" and device.type == "cuda")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        model_mod.USE_SDPA = a.sdpa == "auto" and hasattr(F, "scaled_dot_product_attention")
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    log_path = os.path.join(a.out, "log.jsonl")

    if a.resume:
        from_carry = not os.path.exists(ckpt_path) and a.carry and os.path.exists(a.carry)
        ck = load_ckpt(a.carry if from_carry else ckpt_path)
        cfg = Config(**ck["config"])
        model = LlamaForCausalLM(cfg)
        model.load_state_dict({k: v.float() for k, v in ck["model"].items()})
        model.to(device)
        opt = make_optimizer(model, a)
        st = ck["state"]
        if from_carry:
            # fresh Adam moments: the LR warms up again over --warmup steps from here (lr_at)
            st["opt_reset_step"] = st["step"]
            with open(log_path, "a") as f:
                f.write(json.dumps({"event": "resume_from_carry", "step": st["step"], "path": a.carry}) + "\n")
        else:
            opt.load_state_dict(ck["opt"])
        rng = SplitMix64(0)
        rng.state = ck["rng_state"]
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at step {st['step']} stage T={stage_T(st)} elapsed {st['elapsed']:.0f}s", flush=True)
    elif a.init_from:
        ck = load_ckpt(a.init_from)
        cfg = Config(**ck["config"])
        model = LlamaForCausalLM(cfg)
        model.load_state_dict(ck["model"])
        model.to(device)
        opt = make_optimizer(model, a)
        st = {"step": 0, "stage": STAGES.index(a.max_len), "stage_start_step": 0, "stage_start_elapsed": 0.0,
              "elapsed": 0.0, "tokens": 0, "ema": {}, "history": [], "copy_done": True,
              "init_from": {"path": a.init_from, "step": ck.get("state", {}).get("step"),
                            "tokens": ck.get("state", {}).get("tokens")}}
        rng = SplitMix64(0x5EED0000 + a.seed)
        with open(log_path, "a") as f:
            f.write(json.dumps({"event": "start", "params": model.n_params(), "config": cfg.to_dict(),
                                "args": vars(a), "init_from": st["init_from"]}) + "\n")
    else:
        torch.manual_seed(a.seed)
        cfg = Config(vocab_size=tok.n_vocab, hidden_size=a.hidden, intermediate_size=a.ffn,
                     num_hidden_layers=a.layers, num_attention_heads=a.heads,
                     num_key_value_heads=a.kv_heads, head_dim=a.head_dim, rope_theta=a.rope_theta,
                     max_position_embeddings=max(4096, a.max_len),
                     bos_token_id=tok.bos_id, eos_token_id=tok.eos_id)
        model = LlamaForCausalLM(cfg)
        init_extra = {}
        if a.init in ("induction", "induction+key"):
            parts = induction_init(model, seed=a.seed, max_dist=a.max_len,
                                   equal_norm=a.init == "induction+key")
            if a.init == "induction+key":
                # the second halves of the adjective-noun keys ("-palace"): the only tokens of the
                # form -letters in the tasks' texts
                key_ids = [i for i in range(tok.n_vocab) if re.fullmatch(r"-[a-z]+", tok.decode([i]) or "")]
                key_match_init(model, parts, key_ids, seed=a.seed, max_dist=a.max_len)
            if a.freeze_circuits > 0:
                # the residual directions the frozen circuits read in the embeddings: u (every
                # token) and, with the key circuit, the is-key flag; kept with the row norms
                dirs = [parts["basis"][:, 0]]
                if a.init == "induction+key":
                    dirs.append(parts["basis"][:, 1 + parts["n_tok"] + cfg.head_dim])
                U = torch.stack(dirs, 1)
                E0 = model.model.embed_tokens.weight.detach()
                init_extra = {"frozen_dirs": U.T.tolist(), "frozen_coords": (E0 @ U).tolist(),
                              "frozen_norms": E0.norm(dim=1).tolist()}
        elif a.init == "prev":
            prev_token_init(model, seed=a.seed)
        model.to(device)
        opt = make_optimizer(model, a)
        st = {"step": 0, "stage": 0, "stage_start_step": 0, "stage_start_elapsed": 0.0,
              "elapsed": 0.0, "tokens": 0, "ema": {}, "history": []}
        st.update(init_extra)
        rng = SplitMix64(0x5EED0000 + a.seed)
        with open(log_path, "a") as f:
            f.write(json.dumps({"event": "start", "params": model.n_params(), "config": cfg.to_dict(),
                                "args": vars(a)}) + "\n")
    print(f"params {model.n_params()} device {device} amp {amp} sdpa {model_mod.USE_SDPA} "
          f"workers {a.workers}", flush=True)
    max_stage = STAGES.index(a.max_len)
    stage_max = [float(x) for x in a.stage_max_frac.split(",")]
    budget_s = a.budget_h * 3600.0
    last_ckpt = time.time()
    agg = {}
    pending = []    # in-flight worker batches: (spec, AsyncResult)
    # The init circuits' slices as they are now (at init, or as saved while still frozen):
    # restored after every optimiser step while frozen, so neither gradients nor weight decay
    # move them. run6's second start showed why: by step 683 training had rewritten the
    # most-recent-key head, and multi-key retrieval fell back to run3's level.
    frozen = [(p_, ix, p_.detach()[ix].clone()) for p_, ix in circuit_slices(model, a.init == "induction+key")] \
        if a.freeze_circuits > 0 and st["step"] < a.freeze_circuits else []
    # Frozen weights are not enough: run6's third start kept them, yet by step 680 the layer-0 key
    # head attended to " is" / " above" at the answer — their embeddings had grown a component
    # along the flag it reads. So the embeddings' coordinates along u and the flag, and the input
    # norms of layers 0 and 1, are kept as well.
    frozen_emb = None
    if frozen:
        for lay in (0, 1):
            w = model.model.layers[lay].input_layernorm.weight
            frozen.append((w, (slice(None),), w.detach().clone()))
        if "frozen_dirs" in st:
            Uf = torch.tensor(st["frozen_dirs"], device=device).T            # [d, k]
            frozen_emb = (Uf, torch.tensor(st["frozen_coords"], device=device),   # [V, k]
                          torch.tensor(st["frozen_norms"], device=device))    # [V]

    def step_spec(step):
        """(row length, rows, document weights) of the step with this number, from the state."""
        s2 = dict(st, step=step)
        T = step_T(s2, a, max_stage) if st.get("copy_done") else 128
        return T, max(1, tokens_per_step(T, a) // T), stage_weights(st, a)

    def next_rows():
        if pool is None:
            T, B, w = step_spec(st["step"])
            return T, [build_row(T, rng, tok, w) for _ in range(B)]
        # keep 2 batches per worker in flight; a batch submitted before a curriculum change
        # keeps its old stage's length and mix (at most 2*workers steps late)
        while len(pending) < 2 * a.workers:
            T, B, w = step_spec(st["step"] + len(pending))
            pending.append(pool.apply_async(_build_rows, ((T, B, w, rng.below(1 << 63)),)))
        return pending.pop(0).get()

    while st["step"] < a.max_steps and st["elapsed"] < budget_s:
        t0 = time.time()
        c0 = time.process_time()
        if a.digit_respread_step and st["step"] == a.digit_respread_step and not st.get("respread"):
            with torch.no_grad():
                E = model.model.embed_tokens.weight
                g = torch.Generator().manual_seed(a.seed + 17)
                noise = torch.randn(len(tok.digit_ids), E.shape[1], generator=g)
                noise *= float(E[tok.digit_ids].norm(dim=1).mean()) * 0.7 / noise.norm(dim=1, keepdim=True)
                E[tok.digit_ids] += noise.to(E.device)
            st["respread"] = True
            ev = {"event": "digit_respread", "step": st["step"]}
            print(json.dumps(ev), flush=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(ev) + "\n")
        Tb, rows = next_rows()
        T = stage_T(st)          # the stage length (what an advance event reports)
        B = len(rows)
        ids, pos, mask, tgt, lm, ans, spans = collate(rows, Tb, tok, device)
        t_data = time.time() - t0
        for g in opt.param_groups:
            g["lr"] = lr_at(st, a)
        model.train()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(ids, pos, mask)
        logits = logits.float()
        ce = F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1), reduction="none").view(tgt.shape)
        lm_loss = ce[lm].mean()
        ans_loss = ce[ans].mean() if ans.any() else torch.zeros((), device=device)
        loss = lm_loss + a.answer_weight * ans_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if frozen and st["step"] < a.freeze_circuits:
            with torch.no_grad():
                for p_, ix, v_ in frozen:
                    p_[ix] = v_
                if frozen_emb is not None:
                    # coordinates along u and the flag back to C0, the rest rescaled so that
                    # each row keeps its norm n0 (RMSNorm divides by it: growing norms shrank
                    # the frozen heads' scores in run6's fourth start)
                    E_ = model.model.embed_tokens.weight
                    Uf, C0, n0 = frozen_emb
                    R_ = E_ - (E_ @ Uf) @ Uf.T
                    rest = torch.sqrt((n0 * n0 - (C0 * C0).sum(1)).clamp_min(1e-12))
                    E_.copy_(C0 @ Uf.T + R_ * (rest / R_.norm(dim=1).clamp_min(1e-12))[:, None])
        with torch.no_grad():
            pred = logits.argmax(-1)
            for (b, s0, s1, task) in spans:
                ok = bool((pred[b, s0:s1] == tgt[b, s0:s1]).all())
                e = st["ema"].get(task, 0.0)
                st["ema"][task] = 0.9 * e + 0.1 * float(ok)
                c = agg.setdefault(task, [0, 0])
                c[0] += int(ok)
                c[1] += 1
        dt = time.time() - t0
        # the budget counts exclusive-machine seconds: process CPU time / threads on CPU (the
        # machine is shared, wall time is inflated by other jobs), wall time on CUDA
        st["elapsed"] += dt if device.type == "cuda" else (time.process_time() - c0) / a.threads
        st["wall"] = st.get("wall", 0.0) + dt
        st["step"] += 1
        st["tokens"] += int(lm.sum())
        rec = {"step": st["step"], "T": Tb, "B": B, "loss": round(loss.item(), 4),
               "lm_loss": round(lm_loss.item(), 4), "ans_loss": round(ans_loss.item(), 4),
               "gnorm": round(float(gn), 3), "lr": round(lr_at(st, a), 6), "tok_s": round(B * Tb / dt),
               "data_s": round(t_data, 2), "elapsed": round(st["elapsed"], 1), "wall": round(st["wall"], 1), "tokens": st["tokens"]}
        if st["step"] % 10 == 0:
            rec["acc"] = {SHORT_NAMES.get(k, k): round(c[0] / c[1], 2) for k, c in sorted(agg.items())}
            rec["n"] = {SHORT_NAMES.get(k, k): c[1] for k, c in sorted(agg.items())}
            agg = {}
            print(json.dumps(rec), flush=True)
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")

        # curriculum: advance when the bar tasks' EMA accuracy >= advance_acc, or the stage's
        # share of the time budget is spent
        if not st.get("copy_done") and (st["step"] >= a.copy_steps or (
                st["step"] >= max(50, a.copy_plain_steps + 20) and st["ema"].get("copy", 0.0) >= a.copy_acc)):
            st["copy_done"] = True
            ev = {"event": "copy_done", "step": st["step"], "copy_ema": round(st["ema"].get("copy", 0.0), 3),
                  "elapsed": round(st["elapsed"], 1)}
            print(json.dumps(ev), flush=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(ev) + "\n")
            st["stage_start_step"] = st["step"]
            st["stage_start_elapsed"] = st["elapsed"]
        elif st.get("copy_done") and st["stage"] < max_stage:
            in_stage = st["step"] - st["stage_start_step"]
            # bar tasks that fit this stage's rows (multikey_1 needs 160 tokens: at T=128 it never
            # occurs, and counting its missing EMA as 0 held run3 and run6 at T=128 until the
            # stage's time share ran out)
            accs = [st["ema"].get(k, 0.0) for k in BAR if MIN_LEN[k] <= stage_T(st)]
            good = min(accs) >= a.advance_acc
            over = (st["elapsed"] - st["stage_start_elapsed"]) >= stage_max[st["stage"]] * budget_s
            if in_stage >= a.stage_min_steps and (good or over):
                ev = {"event": "advance", "step": st["step"], "from": T, "to": STAGES[st["stage"] + 1],
                      "reason": "acc" if good else "time", "ema": {SHORT_NAMES.get(k, k): round(v, 2) for k, v in st["ema"].items()},
                      "elapsed": round(st["elapsed"], 1)}
                print(json.dumps(ev), flush=True)
                with open(log_path, "a") as f:
                    f.write(json.dumps(ev) + "\n")
                st["history"].append(ev)
                save_ckpt(os.path.join(a.out, f"ckpt_T{T}.pt"), model, opt, st, rng, cfg, a)
                st["stage"] += 1
                st["stage_start_step"] = st["step"]
                st["stage_start_elapsed"] = st["elapsed"]
                st["ema"] = {}
        if time.time() - last_ckpt >= a.ckpt_every_s:
            save_ckpt(ckpt_path, model, opt, st, rng, cfg, a)
            last_ckpt = time.time()
    save_ckpt(ckpt_path, model, opt, st, rng, cfg, a)
    with open(log_path, "a") as f:
        f.write(json.dumps({"event": "end", "step": st["step"], "elapsed": st["elapsed"]}) + "\n")
    print("done", st["step"], flush=True)


if __name__ == "__main__":
    main()
