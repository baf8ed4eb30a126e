#!/usr/bin/env python3
"""Fails on an #include that runs back up the layer order (docs/design.md, "Layers").

Each folder of src/ is a layer and may include only its own headers and those of layers below it.
Programs (tools/cli, tools/server, examples) may include only the public API, include/sparkv/,
whose headers include nothing from src/, and the server's own headers (server/, tools/server/). KNOWN lists upward edges that remain, with the reason (none today); an
entry that no longer occurs is an error too, so the list only shrinks.
Usage: scripts/check_layers.py [repo root] | --self-test"""
import pathlib
import re
import shutil
import sys
import tempfile

ORDER = ["core", "quant", "io", "tokenizer", "attn", "kv", "model", "press", "sample", "runtime",
         "eval", "api"]
KNOWN: set = set()
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def self_test():
    """The check fails on each kind of violation (a test that cannot fail is a defect)."""
    here = pathlib.Path(__file__).resolve().parent.parent
    cases = [("src/core/x.h", '#include "model/model.h"\n'),
             ("tools/cli/x.cpp", '#include "runtime/session.h"\n'),
             ("tools/server/x.cpp", '#include "kv/layer_cache.h"\n'),
             ("include/sparkv/x.h", '#include "core/error.h"\n'),
             ("src/newlayer/x.h", "\n")]
    for rel, text in cases:
        with tempfile.TemporaryDirectory() as d:
            for sub in ("src", "include", "tools", "examples"):
                shutil.copytree(here / sub, pathlib.Path(d) / sub)
            (pathlib.Path(d) / rel).parent.mkdir(parents=True, exist_ok=True)
            (pathlib.Path(d) / rel).write_text(text)
            if check(pathlib.Path(d), quiet=True) == 0:
                print(f"layers self-test: {rel} with {text.strip()!r} was not caught")
                return 1
    print(f"layers self-test: {len(cases)} violations caught")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    return check(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())


def check(root, quiet=False):
    rank = {name: i for i, name in enumerate(ORDER)}
    bad, seen = [], set()
    for path in sorted((root / "src").rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        rel = path.relative_to(root).as_posix()
        layer = path.relative_to(root / "src").parts[0]
        if layer not in rank:
            bad.append(f"{rel}: folder '{layer}' is not in the layer order")
            continue
        for inc in INCLUDE.findall(path.read_text(errors="replace")):
            top = inc.split("/")[0]
            if top == "sparkv":
                continue  # the public API's own types (sparkv/error.h) are usable everywhere
            if top not in rank:
                continue  # same-folder or system-style includes
            if rank[top] > rank[layer]:
                if (rel, inc) in KNOWN:
                    seen.add((rel, inc))
                else:
                    bad.append(f"{rel}: includes {inc} ({top} is above {layer})")
    for folder in ("tools/cli", "tools/server", "examples"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".h", ".cpp"):
                continue
            for inc in INCLUDE.findall(path.read_text(errors="replace")):
                if "/" in inc and not inc.startswith(("sparkv/", "server/")):
                    bad.append(f"{path.relative_to(root)}: includes internal {inc} "
                               "(programs use include/sparkv/ only)")
    for path in sorted((root / "include").rglob("*.h")):
        for inc in INCLUDE.findall(path.read_text(errors="replace")):
            if not inc.startswith("sparkv/"):
                bad.append(f"{path.relative_to(root)}: public header includes {inc}")
    for edge in sorted(KNOWN - seen):
        bad.append(f"{edge[0]}: the known upward include {edge[1]} is gone; drop it from KNOWN")
    for line in [] if quiet else bad:
        print("layers: " + line)
    if not bad and not quiet:
        print(f"layers: ok ({' < '.join(ORDER)}; {len(KNOWN)} known upward includes)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
