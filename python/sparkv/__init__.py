"""sparkv: long-context LLM inference whose KV cache is compressed with SparK.

    import sparkv
    model = sparkv.Model()                      # the small model shipped with sparkv
    r = model.generate("The pass key is 31808. What is the pass key? The pass key is",
                       max_tokens=8, press="spark:ratio=0.8")
    print(r.text, r.kv_bytes, r.kv["dense_f16_bytes"])

Recipes are the CLI's (`sparkv run --help`, `sparkv.Recipe.methods()`); bad input raises
`sparkv.Error` (a `ValueError`) with the CLI's one-line message, a missing file
`FileNotFoundError`. Long native calls release the GIL; Ctrl-C stops a generation.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Iterable, List, Optional, Sequence, Union

from ._sparkv import (  # noqa: F401  (re-exported)
    Error,
    GenerateResult,
    Model,
    Recipe,
    Session,
    TokenStream,
    max_threads,
    set_threads,
    version,
)
from . import _sparkv

__version__ = version()
__all__ = ["Error", "GenerateResult", "Model", "Recipe", "Session", "TokenStream", "eval",
           "max_threads", "set_threads", "version", "default_model_path"]

_MODEL_NAME = "sparkv-tiny-f16.gguf"


def default_model_path() -> str:
    """The model `Model()` loads: $SPARKV_MODEL, else the one shipped in the package, else the
    source tree's models/ (a build-tree import)."""
    env = os.environ.get("SPARKV_MODEL")
    if env:
        return env
    here = pathlib.Path(__file__).resolve().parent
    for cand in (here / "models" / _MODEL_NAME, here.parent.parent / "models" / _MODEL_NAME):
        if cand.exists():
            return str(cand)
    src = getattr(_sparkv, "_source_dir", "")
    return str(pathlib.Path(src) / "models" / _MODEL_NAME) if src else ""


_sparkv._set_default_model(default_model_path())


def eval(model: Optional[Model] = None, *, suite: str = "ruler",
         lengths: Sequence[int] = (1024,), samples: int = 10,
         press: Union[str, Sequence[str]] = (), tasks: Sequence[str] = (),
         depths: Sequence[int] = (), chat: bool = False, seed: int = 0,
         out_dir: Optional[str] = None, fidelity_tokens: int = 32, progress: bool = False,
         plots: bool = False) -> List[dict]:
    """Runs the suites of `sparkv eval` and returns its rows (one dict per sample, task, length
    and recipe; the full cache is always included).

    suite: ruler | passkey | needle | longbench:PATH[,...]. out_dir keeps results.jsonl (and
    the report) and makes the run resumable; by default a temporary folder is used and removed.
    """
    if model is None:
        model = Model()
    recipes = [press] if isinstance(press, str) else list(press)
    for r in recipes:  # fail before any work, with the parser's message
        Recipe.parse(r)
    def run(d: str) -> List[dict]:
        _sparkv._run_eval(model, suite, [int(x) for x in lengths], int(samples), int(seed),
                          list(tasks), [int(x) for x in depths], bool(chat), recipes, d,
                          int(fidelity_tokens), bool(progress), bool(plots))
        with open(os.path.join(d, "results.jsonl"), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    if out_dir is not None:
        return run(out_dir)
    with tempfile.TemporaryDirectory(prefix="sparkv-eval-") as d:
        return run(d)
