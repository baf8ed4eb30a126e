"""Byte-level BPE: GPT-2 byte<->unicode map, HF tokenizer.json, one of two split regexes:
Qwen2's (single digits; the shipped sparkv-tiny) or Llama-3's (numbers in chunks of 1-3 digits;
sparkv-tiny-learned, whose vocabulary holds every such chunk as one token, as Llama-3's does).

Ids: 0..255 = byte tokens in byte order (token i is the mapped form of byte i), then merged
tokens in merge-rank order, then the special tokens.
"""
import json
from collections import Counter, defaultdict

import regex

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPLITS = {"qwen2": QWEN2_SPLIT, "llama3": LLAMA3_SPLIT}
GGUF_PRE = {"qwen2": "qwen2", "llama3": "llama-bpe"}
_SPLIT_RE = {k: regex.compile(v) for k, v in SPLITS.items()}

SPECIALS = ["<|bos|>", "<|eos|>", "<|im_start|>", "<|im_end|>"]

CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                   "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def bytes_to_unicode():
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}


def pretokenize(text, split="qwen2"):
    return _SPLIT_RE[split].findall(text)


def digit_chunk_merges():
    """Merges that make every 1-3 digit string one token (Llama-3 split: numbers arrive as such
    chunks). BPE merges the lowest-ranked pair first (leftmost on ties), so "abc" is built as
    (ab, c) when rank(ab) <= rank(bc), else as (a, bc): one merge per chunk, no duplicates."""
    two = [(a, b) for a in "0123456789" for b in "0123456789"]
    rank = {p: i for i, p in enumerate(two)}
    three = [(a + b, c) if rank[(a, b)] <= rank[(b, c)] else (a, b + c) for a, b in two
             for c in "0123456789"]
    return two + three


def mapped(piece: str) -> str:
    return "".join(B2U[b] for b in piece.encode("utf-8"))


def train_bpe(texts, n_merges, split="qwen2", skip_digits=False):
    """Plain BPE on pre-token counts: repeatedly merge the most frequent adjacent pair
    (ties: lexicographically smallest (a, b)). skip_digits leaves out pieces holding a digit
    (under the Llama-3 split those are the number chunks, which digit_chunk_merges covers)."""
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t, split))
    if skip_digits:
        counts = Counter({w: c for w, c in counts.items() if not any(ch.isdigit() for ch in w)})
    wtypes = [list(mapped(w)) for w in counts]
    wfreq = [counts[w] for w in counts]
    pair_cnt = defaultdict(int)
    pair_where = defaultdict(set)
    for i, sym in enumerate(wtypes):
        for a, b in zip(sym, sym[1:]):
            pair_cnt[(a, b)] += wfreq[i]
            pair_where[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pair_cnt:
            break
        (a, b), c = min(pair_cnt.items(), key=lambda kv: (-kv[1], kv[0]))
        if c <= 0:
            break
        merges.append((a, b))
        ab = a + b
        for i in list(pair_where[(a, b)]):
            sym = wtypes[i]
            f = wfreq[i]
            for x, y in zip(sym, sym[1:]):
                pair_cnt[(x, y)] -= f
                if pair_cnt[(x, y)] <= 0:
                    pair_cnt.pop((x, y), None)
                pair_where[(x, y)].discard(i)
            new, j = [], 0
            while j < len(sym):
                if j + 1 < len(sym) and sym[j] == a and sym[j + 1] == b:
                    new.append(ab)
                    j += 2
                else:
                    new.append(sym[j])
                    j += 1
            wtypes[i] = new
            for x, y in zip(new, new[1:]):
                pair_cnt[(x, y)] += f
                pair_where[(x, y)].add(i)
        pair_cnt.pop((a, b), None)
        pair_where.pop((a, b), None)
    return merges


class Tokenizer:
    def __init__(self, merges, specials=SPECIALS, split="qwen2"):
        if split not in SPLITS:
            raise ValueError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
        self.split = split
        self._split_re = _SPLIT_RE[split]
        self.merges = [tuple(m) for m in merges]
        self.tokens = [B2U[b] for b in range(256)] + [a + b for a, b in self.merges]
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("duplicate merged token")
        self.specials = list(specials)
        self.tokens += self.specials
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self.bos_id = self.vocab["<|bos|>"]
        self.eos_id = self.vocab["<|eos|>"]
        self._cache = {}
        self._special_re = regex.compile("|".join(regex.escape(s) for s in
                                                  sorted(self.specials, key=len, reverse=True)))

    @property
    def n_vocab(self):
        return len(self.tokens)

    def _bpe(self, piece):
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        sym = list(mapped(piece))
        while len(sym) > 1:
            best, bi = None, -1
            for i in range(len(sym) - 1):
                r = self.ranks.get((sym[i], sym[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            sym[bi:bi + 2] = [sym[bi] + sym[bi + 1]]
        ids = [self.vocab[s] for s in sym]
        if len(self._cache) < 2_000_000:
            self._cache[piece] = ids
        return ids

    def encode_ordinary(self, text):
        out = []
        for p in self._split_re.findall(text):
            out.extend(self._bpe(p))
        return out

    def encode(self, text, allow_special=True):
        if not allow_special:
            return self.encode_ordinary(text)
        out, pos = [], 0
        for m in self._special_re.finditer(text):
            out.extend(self.encode_ordinary(text[pos:m.start()]))
            out.append(self.vocab[m.group(0)])
            pos = m.end()
        out.extend(self.encode_ordinary(text[pos:]))
        return out

    def count(self, text):
        return len(self.encode_ordinary(text))

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if t in self.specials:
                bs.extend(t.encode("utf-8"))
            else:
                bs.extend(U2B[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    # ---- HF files -------------------------------------------------------------------------
    def hf_tokenizer_json(self):
        n_base = len(self.tokens) - len(self.specials)
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": n_base + k, "content": s, "single_word": False, "lstrip": False,
                 "rstrip": False, "normalized": False, "special": True}
                for k, s in enumerate(self.specials)],
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLITS[self.split]}, "behavior": "Isolated",
                 "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                 "use_regex": False}]},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<|bos|>", "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [self.bos_id],
                                               "tokens": ["<|bos|>"]}}},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": {t: i for i, t in enumerate(self.tokens[:n_base])},
                      "merges": [f"{a} {b}" for a, b in self.merges]},
        }

    def hf_tokenizer_config(self):
        n_base = len(self.tokens) - len(self.specials)
        return {
            "add_bos_token": True,
            "add_eos_token": False,
            "added_tokens_decoder": {
                str(n_base + k): {"content": s, "lstrip": False, "normalized": False,
                                  "rstrip": False, "single_word": False, "special": True}
                for k, s in enumerate(self.specials)},
            "bos_token": "<|bos|>",
            "eos_token": "<|eos|>",
            "pad_token": "<|eos|>",
            "unk_token": None,
            "clean_up_tokenization_spaces": False,
            "model_max_length": 4096,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "chat_template": CHATML_TEMPLATE,
        }

    def add_to_gguf(self, w):
        """tokenizer.* keys for a sparkv_py.gguf_writer.GgufWriter."""
        n_base = len(self.tokens) - len(self.specials)
        w.add_kv("tokenizer.ggml.model", "gpt2", "string")
        w.add_kv("tokenizer.ggml.pre", GGUF_PRE[self.split], "string")
        w.add_kv("tokenizer.ggml.tokens", self.tokens, "array:string")
        w.add_kv("tokenizer.ggml.token_type", [1] * n_base + [3] * len(self.specials), "array:i32")
        w.add_kv("tokenizer.ggml.merges", [f"{a} {b}" for a, b in self.merges], "array:string")
        w.add_kv("tokenizer.ggml.bos_token_id", self.bos_id, "u32")
        w.add_kv("tokenizer.ggml.eos_token_id", self.eos_id, "u32")
        w.add_kv("tokenizer.ggml.padding_token_id", self.eos_id, "u32")
        w.add_kv("tokenizer.ggml.add_bos_token", True, "bool")
        w.add_kv("tokenizer.ggml.add_eos_token", False, "bool")
        w.add_kv("tokenizer.chat_template", CHATML_TEMPLATE, "string")

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.hf_tokenizer_json(), f, ensure_ascii=False, indent=1)

    @staticmethod
    def load(path):
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
                  for m in j["model"]["merges"]]
        specials = [a["content"] for a in sorted(j["added_tokens"], key=lambda a: a["id"])]
        pat = j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
        split = next((k for k, v in SPLITS.items() if v == pat), None)
        if split is None:
            raise ValueError(f"{path}: split regex is neither Qwen2's nor Llama-3's")
        tok = Tokenizer(merges, specials, split)
        if tok.vocab != {**j["model"]["vocab"], **{a["content"]: a["id"] for a in j["added_tokens"]}}:
            raise ValueError(f"{path}: vocab ids do not follow bytes/merges/specials order")
        return tok
