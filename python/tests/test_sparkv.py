"""The Python bindings against the CLI, the golden fixtures and bad input (run by scripts/test.sh
through CTest: PYTHONPATH=build/python, SPARKV_CLI=build/sparkv, SPARKV_GOLDEN_DIR=build/golden)."""
import json
import os
import pathlib
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import sparkv

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = os.environ.get("SPARKV_CLI", str(ROOT / "build" / "sparkv"))
GOLDEN = pathlib.Path(os.environ.get("SPARKV_GOLDEN_DIR", str(ROOT / "build" / "golden")))
PROMPT = ("The pass key is 31808. Remember it. " + "The grass is green. The sky is blue. " * 20 +
          "What is the pass key? The pass key is")
RECIPES = ["full", "spark:ratio=0.8", "spark:ratio=0.5,recovery=mean,recent=0",
           "snapkv:budget=64+spark:ratio=0.8", "think:ratio=0.5"]


@pytest.fixture(scope="module")
def model():
    return sparkv.Model()


def cli(*args, check=True):
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=check)


@pytest.mark.parametrize("press", RECIPES)
def test_generate_equals_cli_greedy(model, press):
    j = json.loads(cli("run", "-p", PROMPT, "-n", "12", "--press", press, "--json").stdout)
    r = model.generate(PROMPT, max_tokens=12, press=press)
    assert r.prompt_ids == j["prompt_ids"]
    assert r.ids == j["generated_ids"]
    assert r.text == j["text"]
    assert r.kv_bytes == j["kv_bytes"]
    assert r.kv["dense_f16_bytes"] == j["kv_bytes_dense_f16"]
    assert r.press == j["press"]


def test_spark_answers_and_saves_bytes(model):
    r = model.generate(PROMPT, max_tokens=8, press="spark:ratio=0.8")
    assert r.text.startswith(" 31808")
    assert r.kv_bytes < r.kv["dense_f16_bytes"]
    assert r.kv["layers_by_storage"].get("spark", 0) > 0


def test_session_logits_equal_golden_fixtures():
    man = json.loads((ROOT / "tests" / "golden" / "forward_manifest.json").read_text())
    tol = man["tolerance"]["max_abs_logit"]
    checked = 0
    for e in man["models"]:
        path = GOLDEN / e["path"]
        if not path.exists():
            pytest.skip(f"golden models not generated ({path})")
        positions = e["logits_positions"]
        last = len(e["prompt"]) - 1
        if last not in positions:
            continue
        m = sparkv.Model(str(path))
        s = sparkv.Session(m, cache_type_k="f32", cache_type_v="f32")
        s.prefill(e["prompt"])
        logits = s.logits()
        assert logits.dtype == np.float32 and logits.shape == (m.n_vocab,)
        assert not logits.flags.writeable and not logits.flags.owndata  # a view, no copy
        ref = np.asarray(e["logits"][positions.index(last)], dtype=np.float64)
        err = float(np.max(np.abs(logits.astype(np.float64) - ref)))
        assert err <= tol, f"{e['name']}: max |dlogit| {err}"
        checked += 1
    assert checked >= 4


def test_session_prefill_compress_fork_decode(model):
    ids = model.tokenize(PROMPT)
    s = sparkv.Session(model)
    s.prefill(ids, press=["spark:ratio=0.8", "snapkv:budget=64"])
    dense = s.kv_bytes()
    f = s.fork("snapkv:budget=64")
    s.compress("spark:ratio=0.8")
    assert s.kv_bytes() < dense and f.kv_bytes() < dense
    a = s.decode(max_tokens=6)
    b = model.generate(ids, max_tokens=6, press="spark:ratio=0.8")
    assert a.ids == b.ids and a.text == b.text
    assert s.n_past > len(ids) and s.history[: len(ids)] == ids
    with pytest.raises(sparkv.Error, match="already compressed"):
        s.compress("spark:ratio=0.5")
    # A second turn on the compressed cache.
    s.append(model.tokenize(" And again, the pass key is", add_bos=False))
    assert s.decode(max_tokens=3).text.startswith(" 3")


def test_prompt_cache_file_round_trip(model, tmp_path):
    ids = model.tokenize(PROMPT)
    a = sparkv.Session(model)
    a.prefill_and_compress(ids, "snapkv:budget=64+spark:ratio=0.8")
    path = str(tmp_path / "pc.sparkv")
    a.save_cache(path)
    b = sparkv.Session.load_cache(model, path)
    assert b.history == ids and b.n_past == len(ids)
    assert b.press == a.press
    assert b.decode(max_tokens=6).ids == a.decode(max_tokens=6).ids
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    with pytest.raises(sparkv.Error, match="checksum mismatch"):
        sparkv.Session.load_cache(model, path)


def test_prefill_and_compress_is_the_two_step_path_layer_by_layer(model):
    ids = model.tokenize(PROMPT)
    two = sparkv.Session(model)
    two.prefill(ids, press="snapkv:budget=64+spark:ratio=0.8")
    two.compress("snapkv:budget=64+spark:ratio=0.8")
    one = sparkv.Session(model)
    one.prefill_and_compress(ids, "snapkv:budget=64+spark:ratio=0.8")
    assert one.kv_bytes() == two.kv_bytes()
    assert one.kv()["bytes_before_compress"] == two.kv()["bytes_before_compress"]
    assert one.decode(max_tokens=6).ids == two.decode(max_tokens=6).ids
    with pytest.raises(sparkv.Error, match="already compressed"):
        one.fork("full")


def test_streaming_pieces_make_the_text(model):
    full = model.generate(PROMPT, max_tokens=10, press="spark:ratio=0.8")
    st = model.generate(PROMPT, max_tokens=10, press="spark:ratio=0.8", stream=True)
    pieces = list(st)
    assert "".join(pieces) == full.text
    assert st.result.ids == full.ids
    early = model.generate(PROMPT, max_tokens=50, stream=True)
    next(early)
    early.close()  # stops the worker; nothing hangs


def test_stop_strings_and_sampling(model):
    r = model.generate(PROMPT, max_tokens=12, stop=["08"])
    assert r.stop_reason == "stop_string" and "08" not in r.text
    a = model.generate(PROMPT, max_tokens=8, temperature=0.9, seed=7)
    b = model.generate(PROMPT, max_tokens=8, temperature=0.9, seed=7)
    assert a.ids == b.ids


def test_tokenize_detokenize_chat(model):
    ids = model.tokenize("hello world")
    assert model.detokenize(ids, skip_special=True) == "hello world"
    j = json.loads(cli("tokenize", "-p", "hello world", "--json").stdout)
    assert ids == j["ids"]
    text = model.apply_chat_template([{"role": "user", "content": "hi"}])
    assert "hi" in text
    assert model.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=True)
    r = model.generate("hello", max_tokens=8, chat=True)
    jc = json.loads(cli("run", "--chat", "-p", "hello", "-n", "8", "--json").stdout)
    assert r.prompt_ids == jc["prompt_ids"] and r.ids == jc["generated_ids"]


def test_recipe_errors_match_the_cli():
    assert sparkv.Recipe.parse("spark:ratio=0.8").spec.startswith("spark:ratio=0.8,")
    assert sparkv.Recipe().is_full
    names = [m["name"] for m in sparkv.Recipe.methods()]
    assert "spark" in names and "snapkv" in names
    for bad in ["spark:ratio=2", "nosuch:x=1", "spark:ratio=0.5,bogus=1", "snapkv"]:
        with pytest.raises(ValueError) as ei:
            sparkv.Recipe.parse(bad)
        err = cli("run", "-p", "x", "-n", "1", "--press", bad, check=False)
        assert err.returncode != 0
        assert str(ei.value) in err.stderr, (bad, str(ei.value), err.stderr)


def test_shipped_model_names_resolve(model):
    assert sparkv.Model("sparkv-tiny").path == sparkv.default_model_path()
    q8 = sparkv.Model("sparkv-tiny-q8_0")
    assert q8.path.endswith("models/sparkv-tiny-q8_0.gguf") and q8.info()["head_dim"] == 64
    assert sparkv.Model("sparkv-tiny-hf").path.endswith("models/sparkv-tiny-hf")
    with pytest.raises(FileNotFoundError, match="no-such-model: no such file"):
        sparkv.Model("no-such-model")


def test_bad_input_raises_clear_exceptions(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        sparkv.Model(str(tmp_path / "missing.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 60)
    with pytest.raises(sparkv.Error):
        sparkv.Model(str(bad))
    with pytest.raises(sparkv.Error, match="out of range"):
        model.generate([1, 2, model.n_vocab + 5], max_tokens=2)
    with pytest.raises(sparkv.Error, match="out of range"):
        model.generate([-1], max_tokens=2)
    with pytest.raises(sparkv.Error, match="out of range"):
        model.generate([2**40], max_tokens=2)
    with pytest.raises(sparkv.Error, match="out of range"):
        model.detokenize([model.n_vocab])
    with pytest.raises(ValueError):
        model.generate("x", max_tokens=2, press="spark:ratio=7")
    with pytest.raises(sparkv.Error):
        model.generate("x", max_tokens=2, top_p=-1.0)
    with pytest.raises(sparkv.Error):
        model.generate("x", max_tokens=-3)
    with pytest.raises(sparkv.Error):
        sparkv.Session(model, cache_type_k="q9_9")
    with pytest.raises(sparkv.Error, match="kv-mem-limit"):
        sparkv.Session(model, n_ctx=1 << 20, kv_mem_limit=1 << 20).prefill([1, 2, 3])
    with pytest.raises(sparkv.Error, match="prefill"):
        sparkv.Session(model).compress("spark:ratio=0.5")
    with pytest.raises(sparkv.Error):
        model.apply_chat_template([{"role": "user"}])
    with pytest.raises(TypeError):
        model.generate(3.5)
    s = sparkv.Session(model, n_ctx=16)
    with pytest.raises(sparkv.Error):
        s.prefill(list(range(1, 40)))
    assert model.generate("x", max_tokens=1).ids  # still usable after every error


def test_two_threads_two_sessions_match_sequential(model):
    prompts = [PROMPT, "The wind blows. " * 30 + "The wind"]
    recipes = ["spark:ratio=0.8", "snapkv:budget=64+spark:ratio=0.5"]
    seq = [model.generate(p, max_tokens=16, press=r).ids for p, r in zip(prompts, recipes)]
    out = [None, None]

    def work(i):
        out[i] = model.generate(prompts[i], max_tokens=16, press=recipes[i]).ids

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == seq


def test_ctrl_c_interrupts_a_long_generation(model):
    ids = model.tokenize("The wind blows. " * 4)
    n = model.n_ctx_train - len(ids) - 1
    t0 = time.monotonic()
    whole = model.generate(ids, max_tokens=n, ignore_eos=True)  # the time it takes uninterrupted
    t_whole = time.monotonic() - t0
    assert len(whole.ids) == n
    timer = threading.Timer(t_whole / 10, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.generate(ids, max_tokens=n, ignore_eos=True)
    # Stopped at the next token, not when the generation would have ended.
    assert time.monotonic() - t0 < t_whole / 2, (time.monotonic() - t0, t_whole)
    timer.cancel()


def test_eval_returns_rows(model):
    rows = sparkv.eval(model, suite="passkey", lengths=[256], samples=2,
                       press=["spark:ratio=0.8"])
    labels = {r["label"] for r in rows}
    assert labels == {"full", "spark:ratio=0.8"}
    assert all(r["kv_bytes"] > 0 for r in rows)
    full = [r for r in rows if r["label"] == "full"]
    assert len(full) == 2 and all(r["kv_bytes"] == r["kv_bytes_full"] for r in full)
    with pytest.raises(ValueError):
        sparkv.eval(model, lengths=[256], samples=1, press="spark:ratio=3")


def test_help_is_useful():
    doc = sparkv.Model.__doc__ + sparkv.Model.generate.__doc__
    assert "GGUF" in doc and "press" in doc
    assert "prefill" in sparkv.Session.__doc__
    assert (pathlib.Path(sparkv.__file__).parent / "_sparkv.pyi").exists()
