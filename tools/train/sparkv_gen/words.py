"""Word lists under data/words/ (one entry a line; verbs are "base<TAB>past")."""
import os

DATA_DIR = os.environ.get(
    "SPARKV_DATA_DIR",
    os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "data")))


def _lines(name):
    with open(os.path.join(DATA_DIR, "words", name), encoding="utf-8") as f:
        return [ln.rstrip("\n") for ln in f if ln.strip()]


class Words:
    def __init__(self):
        self.nouns = _lines("nouns.txt")
        self.adjectives = _lines("adjectives.txt")
        self.adverbs = _lines("adverbs.txt")
        self.vt_past = [ln.split("\t")[1] for ln in _lines("verbs_transitive.txt")]
        self.vi_past = [ln.split("\t")[1] for ln in _lines("verbs_intransitive.txt")]
        self.extra = _lines("extra_words.txt")
        # cwe pool: curated words (sorted, unique) then the extra list, deduplicated, in that order
        cur = sorted(set(self.nouns) | set(self.adjectives) | set(self.adverbs)
                     | set(self.vt_past) | set(self.vi_past))
        seen = set(cur)
        self.cwe_pool = cur + [w for w in self.extra if w not in seen]


_W = None


def words() -> Words:
    global _W
    if _W is None:
        _W = Words()
    return _W
