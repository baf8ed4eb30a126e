"""English-like prose from a small grammar over the curated word lists (docs/generators.md §3).

The prose never contains digits, ':' or the word "is", so it never looks like a needle's cue.
"""
from .words import words

DETS = ["the", "the", "the", "a", "every", "that", "this", "her", "his", "our", "my", "their"]
PREPS = ["near", "behind", "under", "over", "beside", "across", "into", "through", "around",
         "toward", "with", "past"]
CONJ = ["because", "while", "after", "before", "although"]

# Sentence patterns; slots: D det, A adjective, N noun, T transitive past, I intransitive past,
# R adverb, P preposition, C conjunction. Other items are literal words.
PATTERNS = [
    ["D", "A", "N", "T", "D", "N"],
    ["D", "N", "I", "R"],
    ["D", "N", "I", "P", "D", "A", "N"],
    ["R,", "D", "N", "T", "D", "A", "N"],
    ["D", "A", "N", "and", "D", "N", "I", "P", "D", "N"],
    ["D", "N", "was", "A", "and", "A"],
    ["D", "N", "T", "D", "N", "C", "D", "N", "was", "A"],
    ["when", "D", "N", "I,", "D", "A", "N", "T", "D", "N"],
    ["D", "N", "of", "D", "N", "I", "R"],
    ["D", "N", "T", "D", "N", "R"],
    ["D", "A", "N", "I", "P", "D", "N", "C", "D", "N", "I"],
    ["nobody", "T", "D", "A", "N", "P", "D", "N"],
]


def sentence(rng) -> str:
    """One sentence: pattern = choice(PATTERNS), then each slot left to right draws one word.
    'a' becomes 'an' before a vowel letter; the first letter is capitalised; ends with '.'."""
    w = words()
    pat = rng.choice(PATTERNS)
    out = []
    for slot in pat:
        tail = ""
        if slot.endswith(","):
            slot, tail = slot[:-1], ","
        if slot == "D":
            x = rng.choice(DETS)
        elif slot == "A":
            x = rng.choice(w.adjectives)
        elif slot == "N":
            x = rng.choice(w.nouns)
        elif slot == "T":
            x = rng.choice(w.vt_past)
        elif slot == "I":
            x = rng.choice(w.vi_past)
        elif slot == "R":
            x = rng.choice(w.adverbs)
        elif slot == "P":
            x = rng.choice(PREPS)
        elif slot == "C":
            x = rng.choice(CONJ)
        else:
            x = slot
        out.append(x + tail)
    for i in range(len(out) - 1):
        if out[i] == "a" and out[i + 1][0] in "aeiou":
            out[i] = "an"
    s = " ".join(out)
    return s[0].upper() + s[1:] + "."


def sentences(rng, n: int):
    return [sentence(rng) for _ in range(n)]


def paragraphs(rng, n_sentences: int) -> str:
    """Free prose for language modelling: sentences joined by ' ', a paragraph break '\\n'
    after a sentence when below(5) == 0 (drawn after the sentence)."""
    parts = []
    for i in range(n_sentences):
        parts.append(sentence(rng))
        if i + 1 < n_sentences:
            parts.append("\n" if rng.below(5) == 0 else " ")
    return "".join(parts)
