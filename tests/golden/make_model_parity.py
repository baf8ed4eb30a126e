#!/usr/bin/python3
"""Logit-parity fixture for the embedded model (tests/unit/model_parity_test.cpp).

    /usr/bin/python3 tests/golden/make_model_parity.py --model-dir models [--out tests/golden/model/parity.json]
    /usr/bin/python3 tests/golden/make_model_parity.py --model-dir models --name sparkv-tiny-learned \
        --out tests/golden/model/parity-learned.json

Builds 20 held-out prompts (evaluation seeds EVAL_SEED_BASE + i, which training never draws): 17
task samples over every task of tools/train/sparkv_gen at lengths 128..1024 and 3 prose documents
as tools/train/eval_py.py's held-out perplexity makes them. Each prompt is tokenised with the model
folder's tokenizer ([bos] + encode_ordinary, as the eval runner does) and run through the
independent float64 forward pass of tools/pylib/sparkv_py/reference_model.py on the weights of
sparkv-tiny-f16.gguf (= the HF folder's F16 matrices, with the GGUF's F32 norm weights: see
model_ref.py). Stored per prompt: the ids and the float32 logits of the last 2 positions (base64
little-endian f4). The fixture records the sha256 of the GGUF files it belongs to; the C++ test
refuses to compare against a different file. `hf_norms_max_dlogit` records how far the same
reference moves with the HF folder's F16-rounded norm weights instead (informational).
"""
import argparse
import json
import os
import time

import numpy as np

from model_ref import DEFAULT_MODEL_DIR, HERE, ModelDir, b64, forward, check_forward
from model_ref import ref  # sparkv_py.reference_model
from sparkv_gen.prose import paragraphs
from sparkv_gen.rng import stream
from sparkv_gen.tasks import EVAL_SEED_BASE, TASKS, make_sample

N_TASK_PROMPTS = 17
LENGTHS = [128, 256, 384, 512, 768, 1024]
PROSE_LENGTHS = [200, 600, 1000]
N_LAST = 2


def prompts(md):
    """-> [(label, ids)]: 17 task samples (every task, lengths 128..1024), 3 prose documents."""
    out = []
    for i in range(N_TASK_PROMPTS):
        task, seed = TASKS[i % len(TASKS)], EVAL_SEED_BASE + i
        length = LENGTHS[(i + i // len(TASKS)) % len(LENGTHS)]  # the 2nd round shifts lengths
        s = make_sample(task, seed, length, md.tok)
        out.append((f"{task}/L{length}/seed=2^40+{i}", md.prompt_ids(s.prompt)))
    for j, length in enumerate(PROSE_LENGTHS):
        r = stream("prose", EVAL_SEED_BASE + j, length, "hay")
        ids = md.prompt_ids(paragraphs(r, length // 10 + 4))[:length]
        out.append((f"prose/L{length}/seed=2^40+{j}", ids))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    ap.add_argument("--name", default="sparkv-tiny", help="file stem of the exported model")
    ap.add_argument("--out", default=os.path.join(HERE, "model", "parity.json"))
    a = ap.parse_args()
    md = ModelDir(a.model_dir, a.name)
    cases = []
    t0 = time.time()
    hf_norms = 0.0
    for n, (label, ids) in enumerate(prompts(md)):
        logits = ref.logits_for(md.cfg, md.weights, ids)                # [T, vocab] float64
        hf = ref.logits_for(md.cfg, md.hf_weights, ids)[-N_LAST:]
        hf_norms = max(hf_norms, float(np.abs(hf - logits[-N_LAST:]).max()))
        if n == 0:  # the capture forward of make_press_model_case.py agrees with this reference
            check_forward(md.cfg, md.weights, ids, forward(md.cfg, md.weights, ids)[0])
        last = logits[-N_LAST:]
        cases.append(dict(label=label, ids=[int(t) for t in ids], n_last=N_LAST,
                          logits=b64(last), max_abs_logit=round(float(np.abs(last).max()), 3)))
        print(f"  {label}: {len(ids)} tokens, top-1 of last = {int(last[-1].argmax())}", flush=True)
    fixture = dict(schema=1, generator="tests/golden/make_model_parity.py",
                   model=md.provenance(), n_vocab=int(md.cfg["vocab_size"]),
                   tolerance={"f32_cache": 1e-3, "f16_cache": 0.05, "q8_0": 0.25},
                   hf_norms_max_dlogit=hf_norms, cases=cases)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    total = sum(len(c["ids"]) for c in cases)
    print(f"{a.out}: {len(cases)} prompts, {total} tokens, {time.time() - t0:.0f}s "
          f"(reference with the HF folder's F16 norms instead: max |dlogit| {hf_norms:.3g})")


if __name__ == "__main__":
    main()
