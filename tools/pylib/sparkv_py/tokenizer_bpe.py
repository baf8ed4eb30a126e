#!/usr/bin/python3
"""A tiny deterministic byte-level BPE tokenizer (GPT-2 byte map, Qwen2 split regex).

    tok = build_tokenizer(n_vocab)        # 256 byte tokens, n_vocab-258 merges, <|bos|>, <|eos|>
    tok.tokens, tok.merges, tok.bos_id, tok.eos_id, tok.specials
    tok.hf_tokenizer_json()  -> dict for tokenizer.json
    tok.hf_tokenizer_config() -> dict for tokenizer_config.json (ChatML chat_template)
    tok.add_to_gguf(writer)  -> tokenizer.ggml.* keys + tokenizer.chat_template
    tok.encode(text) -> ids (reference BPE encode; ASCII-oriented pre-split, for self-checks)

Ids: 0..255 are the byte tokens in byte order (token i is the byte-mapped form of byte i), then
the merged tokens in merge-rank order, then the specials. Merges are learnt by plain BPE on a
small built-in English corpus (most frequent pair, ties -> lexicographically smallest); if the
corpus runs out, synthetic merges of two existing tokens fill the remainder.
"""
import re

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# ASCII approximation of the split regex for Python's `re` (the corpus is ASCII).
_ASCII_SPLIT = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|'S|'T|'RE|'VE|'M|'LL|'D|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]"
                          r"| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                   "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

CORPUS = """The quick brown fox jumps over the lazy dog. A long context needs a small cache:
keys and values of every token are kept, and the attention reads them again for each new token.
In the beginning the model reads the prompt, then it writes one token at a time. The needle is
hidden in the haystack; find the number that was said to be the magic number. It is 7481.
Some of the channels of the keys matter more than others, and the query tells which ones.
Then there is the question: what is the answer? The answer is in the text, if you read it well.
She sells sea shells on the sea shore, and the shells that she sells are sea shells for sure.
"""


def bytes_to_unicode():
    """GPT-2 byte -> unicode char map."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    m = {}
    extra = 0
    for b in range(256):
        if b in keep:
            m[b] = chr(b)
        else:
            m[b] = chr(0x100 + extra)
            extra += 1
    return m


BYTE_MAP = bytes_to_unicode()
UNICODE_TO_BYTE = {v: k for k, v in BYTE_MAP.items()}


def _mapped(s):
    return "".join(BYTE_MAP[b] for b in s.encode("utf-8"))


def learn_merges(n_merges, corpus=CORPUS):
    words = {}
    for w in _ASCII_SPLIT.findall(corpus):
        key = tuple(_mapped(w))
        words[key] = words.get(key, 0) + 1
    vocab = set(BYTE_MAP.values())
    merges = []
    while len(merges) < n_merges:
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        if not counts:
            break
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merged = best[0] + best[1]
        if merged not in vocab:   # a token reachable by two paths is recorded once
            merges.append(best)
            vocab.add(merged)
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    # synthetic fill: pairs of letters, then letter + merged token, in a fixed order
    if len(merges) < n_merges:
        base = sorted(vocab)
        for a in [BYTE_MAP[c] for c in b"etaoinshrdlu"] + base:
            for b in [BYTE_MAP[c] for c in b"etaoinshrdlu"]:
                if len(merges) >= n_merges:
                    break
                if a + b not in vocab:
                    merges.append((a, b))
                    vocab.add(a + b)
            if len(merges) >= n_merges:
                break
    return merges


class ByteBpeTokenizer:
    def __init__(self, merges, specials=("<|bos|>", "<|eos|>"), add_bos=False):
        self.merges = [tuple(m) for m in merges]
        self.tokens = [BYTE_MAP[b] for b in range(256)]
        seen = set(self.tokens)
        for a, b in self.merges:
            t = a + b
            if t in seen:
                raise ValueError(f"merge {a!r} {b!r} produces an existing token")
            self.tokens.append(t)
            seen.add(t)
        self.n_normal = len(self.tokens)
        self.specials = list(specials)
        self.tokens += self.specials
        self.bos_id = self.tokens.index("<|bos|>") if "<|bos|>" in self.tokens else None
        self.eos_id = self.tokens.index("<|eos|>") if "<|eos|>" in self.tokens else None
        self.add_bos = bool(add_bos)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {m: i for i, m in enumerate(self.merges)}

    @property
    def n_vocab(self):
        return len(self.tokens)

    # ---- reference encode / decode (ASCII pre-split; specials matched literally)
    def encode(self, text):
        out = []
        pat = "(" + "|".join(re.escape(s) for s in self.specials) + ")" if self.specials else None
        parts = re.split(pat, text) if pat else [text]
        for part in parts:
            if part in self.specials:
                out.append(self.ids[part])
                continue
            for w in _ASCII_SPLIT.findall(part):
                sym = list(_mapped(w))
                while len(sym) > 1:
                    best = min(range(len(sym) - 1),
                               key=lambda i: self.ranks.get((sym[i], sym[i + 1]), 1 << 30))
                    if (sym[best], sym[best + 1]) not in self.ranks:
                        break
                    sym[best:best + 2] = [sym[best] + sym[best + 1]]
                out.extend(self.ids[s] for s in sym)
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if i >= self.n_normal:
                bs += t.encode("utf-8")
            else:
                bs += bytes(UNICODE_TO_BYTE[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    # ---- HF files
    def hf_tokenizer_json(self):
        bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
              "use_regex": False}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self.ids[s], "content": s, "single_word": False, "lstrip": False,
                 "rstrip": False, "normalized": False, "special": True} for s in self.specials],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated",
                 "invert": False},
                dict(bl)]},
            "post_processor": dict(bl),
            "decoder": dict(bl),
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": "", "end_of_word_suffix": "",
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": {t: i for i, t in enumerate(self.tokens[:self.n_normal])},
                      "merges": [f"{a} {b}" for a, b in self.merges]},
        }

    def hf_tokenizer_config(self):
        return {
            "add_bos_token": self.add_bos,
            "add_eos_token": False,
            "added_tokens_decoder": {
                str(self.ids[s]): {"content": s, "lstrip": False, "normalized": False,
                                   "rstrip": False, "single_word": False, "special": True}
                for s in self.specials},
            "bos_token": "<|bos|>" if self.bos_id is not None else None,
            "eos_token": "<|eos|>" if self.eos_id is not None else None,
            "pad_token": None,
            "unk_token": None,
            "chat_template": CHATML_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "model_max_length": 131072,
            "tokenizer_class": "PreTrainedTokenizerFast",
        }

    # ---- GGUF keys
    def add_to_gguf(self, w):
        w.add_kv("tokenizer.ggml.model", "gpt2", "string")
        w.add_kv("tokenizer.ggml.pre", "qwen2", "string")
        w.add_kv("tokenizer.ggml.tokens", self.tokens, "array:string")
        types = [1] * self.n_normal + [3] * len(self.specials)
        w.add_kv("tokenizer.ggml.token_type", types, "array:i32")
        w.add_kv("tokenizer.ggml.merges", [f"{a} {b}" for a, b in self.merges], "array:string")
        if self.bos_id is not None:
            w.add_kv("tokenizer.ggml.bos_token_id", self.bos_id, "u32")
        if self.eos_id is not None:
            w.add_kv("tokenizer.ggml.eos_token_id", self.eos_id, "u32")
        w.add_kv("tokenizer.ggml.add_bos_token", self.add_bos, "bool")
        w.add_kv("tokenizer.chat_template", CHATML_TEMPLATE, "string")


def build_tokenizer(n_vocab, specials=("<|bos|>", "<|eos|>"), add_bos=False):
    n_merges = n_vocab - 256 - len(specials)
    if n_merges < 0:
        raise ValueError(f"n_vocab {n_vocab} < 256 + {len(specials)} specials")
    return ByteBpeTokenizer(learn_merges(n_merges), specials, add_bos)
