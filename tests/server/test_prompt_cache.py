"""The server's prompt cache over real HTTP: a repeated long prompt is restored instead of
prefilled (usage.prompt_tokens_details.cached_tokens) with the same answer; a prompt that extends a
cached one reuses it; a next turn that sends back the answer reuses the answer's cache too; with --cache-dir the entries survive a restart, `sparkv run --prompt-cache`
reads them, and a corrupt file there is set aside while the request is still answered."""
import glob
import json
import os
import subprocess

from conftest import CLI, MODEL, Server

DOC = "The pass key is {key}. Remember it. " + "The grass is green. The sky is blue. " * 60
QUESTION = "What is the pass key? The pass key is"
PRESS = "snapkv:budget=128+spark:ratio=0.8"


def complete(server, prompt, press=PRESS, n=8):
    st, body = server.post("/v1/completions", dict(prompt=prompt, max_tokens=n, temperature=0,
                                                   kv_press=press))
    assert st == 200, body
    return body


def metric(server, name):
    st, text = server.request("GET", "/metrics")
    assert st == 200
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_repeat_and_extension_hit_the_cache():
    with Server("--slots", "2", "--ctx-size", "2048", "--kv-mem-limit", "256MiB") as s:
        prompt = DOC.format(key=31808) + QUESTION
        first = complete(s, prompt)
        second = complete(s, prompt)
        assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
        assert second["usage"]["prompt_tokens_details"]["cached_tokens"] == first["usage"]["prompt_tokens"]
        assert second["choices"][0]["text"] == first["choices"][0]["text"]
        # Another recipe never shares an entry.
        other = complete(s, prompt, press="full")
        assert other["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
        # A longer prompt beginning with a cached one restores it and appends the rest.
        longer = complete(s, prompt + " 3", n=4)
        assert longer["usage"]["prompt_tokens_details"]["cached_tokens"] == first["usage"]["prompt_tokens"]
        assert metric(s, "sparkv_prompt_cache_hits_total") == 2
        assert metric(s, "sparkv_prompt_cache_bytes") > 0


def test_next_turn_reuses_the_answer():
    # A conversation: the second turn is the first prompt, the answer the server generated, and a
    # new question. The entry stored when the first request finished holds prompt + answer, so
    # the restored prefix goes past the first prompt; with the full cache (nothing compressed at
    # the first turn that a fresh prefill of the second would keep) the answer equals a
    # cache-less server's.
    prompt = DOC.format(key=27183) + QUESTION
    with Server("--slots", "1", "--ctx-size", "2048") as s:
        first = complete(s, prompt, press="full", n=12)
        turn2 = prompt + first["choices"][0]["text"] + " Once more: " + QUESTION
        second = complete(s, turn2, press="full", n=8)
        cached = second["usage"]["prompt_tokens_details"]["cached_tokens"]
        assert cached > first["usage"]["prompt_tokens"], (cached, first["usage"])
        assert cached < second["usage"]["prompt_tokens"]
    with Server("--slots", "1", "--ctx-size", "2048", "--prompt-cache-mem", "0") as s:
        fresh = complete(s, turn2, press="full", n=8)
        assert fresh["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
        assert fresh["choices"][0]["text"] == second["choices"][0]["text"]


def test_directory_prefixes_after_restart(tmp_path):
    # After a restart the directory's files are indexed by their headers: a prompt that begins
    # with a file's tokens (not only one that equals them) restores it, and the answer equals the
    # one the first server gave for the same extended prompt from its memory entry.
    d = str(tmp_path / "pc")
    prompt = DOC.format(key=61403) + QUESTION
    with Server("--cache-dir", d) as s:
        base = complete(s, prompt)
        longer_before = complete(s, prompt + " 6", n=4)
    # a file that is not a prompt cache is set aside at start-up, not fatal
    with open(os.path.join(d, "0000000000000000-5.sparkv"), "wb") as f:
        f.write(b"not a cache")
    with Server("--cache-dir", d) as s:
        longer = complete(s, prompt + " 6", n=4)
        cached = longer["usage"]["prompt_tokens_details"]["cached_tokens"]
        assert cached == base["usage"]["prompt_tokens"], (cached, base["usage"])
        assert longer["choices"][0]["text"] == longer_before["choices"][0]["text"]
        assert os.path.exists(os.path.join(d, "0000000000000000-5.sparkv.bad"))
        assert any("not a sparkv prompt cache" in x for x in s.startup_lines)


def test_prompt_cache_off():
    with Server("--prompt-cache-mem", "0") as s:
        prompt = DOC.format(key=4242) + QUESTION
        complete(s, prompt)
        assert complete(s, prompt)["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
        assert metric(s, "sparkv_prompt_cache_entries") == 0


def test_cache_dir_survives_restart_and_feeds_the_cli(tmp_path):
    d = str(tmp_path / "pc")
    prompt = DOC.format(key=52719) + QUESTION
    with Server("--cache-dir", d) as s:
        first = complete(s, prompt)
    # Two entries: the prompt (stored after its prefill) and the prompt + the answer fed back
    # (stored when the request finished); files are named <hash>-<tokens>.sparkv.
    files = sorted(glob.glob(os.path.join(d, "*.sparkv")),
                   key=lambda f: int(f.rsplit("-", 1)[1].split(".")[0]))
    assert len(files) == 2
    with Server("--cache-dir", d) as s:
        again = complete(s, prompt)
        assert again["usage"]["prompt_tokens_details"]["cached_tokens"] == first["usage"]["prompt_tokens"]
        assert again["choices"][0]["text"] == first["choices"][0]["text"]
    # The CLI reads the server's file: same prompt, same recipe -> a hit, the same answer.
    out = subprocess.run([CLI, "run", "-m", MODEL, "-p", prompt, "-n", "8", "--press", PRESS,
                          "--prompt-cache", files[0], "--json"],
                         capture_output=True, text=True, check=True)
    j = json.loads(out.stdout)
    assert j["prompt_cache"] == "hit" and j["text"] == first["choices"][0]["text"]
    # A corrupt file: set aside, the request answered by a fresh prefill, the server still up.
    with open(files[0], "r+b") as f:
        f.seek(200)
        f.write(b"\xff\xfe\xfd")
    with Server("--cache-dir", d) as s:
        fresh = complete(s, prompt)
        assert fresh["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
        assert fresh["choices"][0]["text"] == first["choices"][0]["text"]
        assert os.path.exists(files[0] + ".bad")
        st, _ = s.request("GET", "/health")
        assert st == 200
    # The CLI refuses the corrupt file with one line.
    out = subprocess.run([CLI, "run", "-m", MODEL, "-p", prompt, "-n", "4", "--press", PRESS,
                          "--prompt-cache", files[0] + ".bad"], capture_output=True, text=True)
    assert out.returncode != 0 and "checksum mismatch" in out.stderr
