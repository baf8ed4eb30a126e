"""RULER-style long-context task generators (docs/generators.md is the normative spec).

make_sample(task, seed, length, tok) -> Sample whose prompt (context + question +
answer_prefix) satisfies 1 (BOS) + tokens(prompt) + max_new_tokens <= length, with the largest
haystack for which that holds (binary search on the haystack size).
"""
from dataclasses import dataclass, field, asdict
from typing import List

from .prose import sentences
from .rng import stream
from .words import words

EVAL_SEED_BASE = 1 << 40          # evaluation seeds are >= 2^40; training seeds are < 2^40
FILLER = "The grass grows tall. The sky stays wide. The wind blows on. Here we go again. Back and forth we walk."


@dataclass
class Sample:
    task: str
    seed: int
    length: int
    context: str
    question: str
    answer_prefix: str
    answers: List[str]
    target: str                 # the text the model should generate after the answer prefix
    max_new_tokens: int
    n_units: int                # haystack size chosen by the search
    depths: List[int] = field(default_factory=list)   # needle depth indices (0..39)

    @property
    def prompt(self):
        return self.context + self.question + self.answer_prefix

    def to_dict(self):
        d = asdict(self)
        d["prompt"] = self.prompt
        return d


# ---- value and key draws (docs §4.1) --------------------------------------------------------
def draw_word_key(rng):
    w = words()
    return rng.choice(w.adjectives) + "-" + rng.choice(w.nouns)


def draw_number(rng):
    return str(rng.between(1000000, 9999999))


def draw_uuid(rng):
    hi = rng.next_u64()
    lo = rng.next_u64()
    hi = (hi & ~(0xF << 12)) | (0x4 << 12)
    lo = (lo & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{hi:016x}{lo:016x}"
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def draw_distinct(rng, drawer, k, taken):
    """k values from drawer, each redrawn while it is in `taken` (which is updated)."""
    out = []
    while len(out) < k:
        x = drawer(rng)
        if x not in taken:
            taken.add(x)
            out.append(x)
    return out


def join_keys(keys):
    if len(keys) == 1:
        return keys[0]
    return ", ".join(keys[:-1]) + ", and " + keys[-1]


def depth_pos(d, n):
    """Insertion index for depth index d in 0..39 among n units (0 = before the first, n = end)."""
    return (d * n) // 39


def insert_units(units, inserts):
    """inserts: list of (pos, text) in draw order; texts with equal pos keep that order."""
    by_pos = {}
    for p, t in inserts:
        by_pos.setdefault(p, []).append(t)
    out = []
    for i in range(len(units) + 1):
        out.extend(by_pos.get(i, ()))
        if i < len(units):
            out.append(units[i])
    return out


# ---- task table -------------------------------------------------------------------------------
# haystack: noise | prose | needle ; key: words | uuids ; value: numbers | uuids
NIAH = {
    "niah_single_1": dict(hay="noise", key="words", value="numbers", k=1, v=1, q=1),
    "niah_single_2": dict(hay="prose", key="words", value="numbers", k=1, v=1, q=1),
    "niah_single_3": dict(hay="prose", key="words", value="uuids", k=1, v=1, q=1),
    "niah_multikey_1": dict(hay="prose", key="words", value="numbers", k=4, v=1, q=1),
    "niah_multikey_2": dict(hay="needle", key="words", value="numbers", k=1, v=1, q=1),
    "niah_multikey_3": dict(hay="needle", key="uuids", value="uuids", k=1, v=1, q=1),
    "niah_multivalue": dict(hay="prose", key="words", value="numbers", k=1, v=4, q=1),
    "niah_multiquery": dict(hay="prose", key="words", value="numbers", k=4, v=1, q=4),
}
MAX_NEW_TOKENS = {
    "passkey": 16, "niah_single_1": 16, "niah_single_2": 16, "niah_single_3": 48,
    "niah_multikey_1": 16, "niah_multikey_2": 16, "niah_multikey_3": 48,
    "niah_multivalue": 48, "niah_multiquery": 48, "vt": 32, "cwe": 64, "fwe": 32,
}
# haystack units per token, upper bound for the search: hi = max(lo, length // UNIT_DIV)
UNIT_DIV = {"noise": 16, "prose": 4, "needle": 12, "passkey": 16, "vt": 16, "cwe": 3, "fwe": 1}
TASKS = ["passkey"] + list(NIAH) + ["vt", "cwe", "fwe"]
SHORT_NAMES = {"passkey": "passkey", "niah_single_1": "s1", "niah_single_2": "s2",
               "niah_single_3": "s3", "niah_multikey_1": "mk1", "niah_multikey_2": "mk2",
               "niah_multikey_3": "mk3", "niah_multivalue": "mv", "niah_multiquery": "mq",
               "vt": "vt", "cwe": "cwe", "fwe": "fwe"}


def _drawer(kind):
    return {"words": draw_word_key, "numbers": draw_number, "uuids": draw_uuid}[kind]


def _niah(task, seed, length, n):
    c = NIAH[task]
    tsg, tpl = ("number", "numbers") if c["value"] == "numbers" else ("uuid", "uuids")
    main = stream(task, seed, length, "main")
    taken = set()
    keys = draw_distinct(main, _drawer(c["key"]), max(c["k"], c["q"]), taken)
    vals = [draw_distinct(main, _drawer(c["value"]), c["v"], taken) for _ in keys]
    hay = stream(task, seed, length, "hay")
    pos = stream(task, seed, length, "pos")

    def needle(key, val):
        return f"One of the secret {tpl} for {key} is: {val}."

    if c["hay"] == "needle":
        dkeys = draw_distinct(hay, _drawer(c["key"]), n, taken) if n else []
        units = []
        for dk in dkeys:
            dv = draw_distinct(hay, _drawer(c["value"]), 1, taken)[0]
            units.append(needle(dk, dv))
        d = pos.below(40)
        depths = [d]
        lines = insert_units(units, [(depth_pos(d, n), needle(keys[0], vals[0][0]))])
        haystack = "\n".join(lines)
        order = [vals[0][0]]
    else:
        units = [FILLER] * n if c["hay"] == "noise" else sentences(hay, n)
        needles = [(k_, v_) for k_, vs in zip(keys, vals) for v_ in vs]
        depths = pos.distinct(40, len(needles))
        ins = [(depth_pos(d, n), needle(k_, v_)) for d, (k_, v_) in zip(depths, needles)]
        parts = insert_units(units, ins)
        haystack = ("\n" if c["hay"] == "noise" else " ").join(parts)
        # order of appearance in the context of every needle value
        rank = sorted(range(len(ins)), key=lambda i: (ins[i][0], i))
        order = [needles[i][1] for i in rank]
    qkeys = keys[:c["q"]]
    qk = join_keys(qkeys)
    answers = [v_ for k_ in qkeys for v_ in vals[keys.index(k_)]]
    if c["v"] > 1:   # multi-value: the values in order of appearance
        answers = [v_ for v_ in order if v_ in set(answers)]
    if len(answers) == 1:
        intro = f"A secret {tsg} is hidden in the long text below. Memorize it; a question about it follows the text."
        question = f"What is the secret {tsg} for {qk} in the text above?"
        prefix = f" The secret {tsg} for {qk} in the text above is:"
    else:
        intro = f"Some secret {tpl} are hidden in the long text below. Memorize them; a question about them follows the text."
        question = f"What are all the secret {tpl} for {qk} in the text above?"
        prefix = f" The secret {tpl} for {qk} in the text above are:"
    context = intro + "\n" + haystack + "\n"
    return context, question, prefix, answers, depths


def _passkey(task, seed, length, n):
    main = stream(task, seed, length, "main")
    key = str(main.between(1, 50000))
    pos = stream(task, seed, length, "pos")
    d = pos.below(40)
    line = f"The pass key is {key}. Remember it. {key} is the pass key."
    lines = insert_units([FILLER] * n, [(depth_pos(d, n), line)])
    # RULER's task line: it does not contain the cue "pass key is", so the cue is unambiguous
    context = ("There is an important info hidden inside a lot of irrelevant text. Find it and "
               "memorize it. I will quiz you about the important information there.\n"
               + "\n".join(lines) + "\n")
    return context, "What is the pass key?", " The pass key is", [key], [d]


def _vt(task, seed, length, n):
    main = stream(task, seed, length, "main")
    value = str(main.between(10000, 99999))
    names, taken = [], set()
    while len(names) < 5:
        nm = "".join(chr(65 + main.below(26)) for _ in range(5))
        if nm not in taken:
            taken.add(nm)
            names.append(nm)
    pos = stream(task, seed, length, "pos")
    depths = sorted(pos.distinct(40, 5))
    chain = [f"VAR {names[0]} = {value}"] + [f"VAR {names[i]} = VAR {names[i - 1]}" for i in range(1, 5)]
    lines = insert_units([FILLER] * n, [(depth_pos(d, n), t) for d, t in zip(depths, chain)])
    context = ("Memorize every variable assignment in the text below and follow the chains of "
               "assignments.\n" + "\n".join(lines) + "\n")
    question = f"Question: Which variables hold the value {value} in the text above?"
    prefix = f" Answer: Following the chain of assignments, the 5 variables that hold the value {value} are:"
    return context, question, prefix, names, depths


def _cwe(task, seed, length, n):
    pool = words().cwe_pool
    main = stream(task, seed, length, "main")
    idx = main.distinct(len(pool), 10 + n)
    common, rare = [pool[i] for i in idx[:10]], [pool[i] for i in idx[10:]]
    fc, fu = (6, 1) if length < 4096 else (30, 3)
    lst = [w for w in common for _ in range(fc)] + [w for w in rare for _ in range(fu)]
    stream(task, seed, length, "order").shuffle(lst)
    first = []
    for w in lst:
        if w in common and w not in first:
            first.append(w)
    body = " ".join(f"{i + 1}. {w}" for i, w in enumerate(lst))
    context = ("Below is a numbered list of words. Some of them appear many times. Memorize the "
               "words that appear most often.\n" + body + "\n")
    question = "Question: What are the 10 most common words in the list above?"
    prefix = " Answer: The 10 most common words in the list above are:"
    return context, question, prefix, first, []


def _fwe(task, seed, length, n):
    main = stream(task, seed, length, "main")
    vsize = max(5, (length - MAX_NEW_TOKENS["fwe"]) // 50)
    vocab, taken = [], set()
    while len(vocab) < vsize:
        w = "".join(chr(97 + main.below(26)) for _ in range(6))
        if w not in taken:
            taken.add(w)
            vocab.append(w)
    lst = []
    for k in range(1, vsize + 1):
        cnt = (n * 1000000) // (k * k * 1644934)
        lst.extend(["..." if k == 1 else vocab[k - 1]] * cnt)
    stream(task, seed, length, "order").shuffle(lst)
    context = ("Read the coded text below and count how often each coded word appears. Ignore "
               "the dots.\n" + " ".join(lst) + "\n")
    question = "Question: Which three coded words appear most often in the coded text above?"
    prefix = " Answer: The three most frequent coded words in the text above are:"
    return context, question, prefix, vocab[1:4], []


def _builder(task):
    if task in NIAH:
        return _niah, NIAH[task]["hay"], (0 if NIAH[task]["hay"] == "needle" else 1)
    return {"passkey": (_passkey, "passkey", 1), "vt": (_vt, "vt", 1),
            "cwe": (_cwe, "cwe", 0), "fwe": (_fwe, "fwe", 40)}[task]


def target_text(task, answers):
    if task == "vt":
        return " " + " ".join(answers) + "."
    return " " + ", ".join(answers) + "."


def make_sample(task, seed, length, tok) -> Sample:
    fn, kind, lo = _builder(task)
    gen = MAX_NEW_TOKENS[task]
    hi = max(lo, length // UNIT_DIV[kind])
    if task == "cwe":
        hi = min(hi, len(words().cwe_pool) - 10)

    def fits(n):
        ctx, q, p, a, d = fn(task, seed, length, n)
        return 1 + tok.count(ctx + q + p) + gen <= length, (ctx, q, p, a, d)

    ok, best = fits(lo)
    n_best = lo
    if ok:
        while lo < hi:
            mid = (lo + hi + 1) // 2
            ok, built = fits(mid)
            if ok:
                lo, best, n_best = mid, built, mid
            else:
                hi = mid - 1
    ctx, q, p, a, d = best
    return Sample(task, seed, length, ctx, q, p, a, target_text(task, a), gen, n_best, d)


def eval_seed(i):
    return EVAL_SEED_BASE + i
