"""sparkv_gen: deterministic long-context task generators (training + evaluation).

Pure Python, no `random`, no numpy distributions: every draw is integer arithmetic on a
splitmix64 stream, so the C++ port (src/eval/) can reproduce samples byte for byte.
See docs/generators.md for the normative description.
"""
