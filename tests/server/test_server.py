"""sparkv serve over real HTTP: answers equal `sparkv run`'s, streaming, continuous batching under
16 concurrent clients, a client that leaves, and every bad input's status and error body."""
import json
import os
import socket
import threading
import time

from conftest import Server, run_cli

PASSKEY = ("The pass key is {key}. Remember it. " + "The grass is green. The sky is blue. " * 12 +
           "What is the pass key? The pass key is")


def completion(server, prompt, press="full", n=16, **extra):
    st, body = server.post("/v1/completions", dict(prompt=prompt, max_tokens=n, temperature=0,
                                                   kv_press=press, **extra))
    assert st == 200, body
    return body


def test_completions_equal_cli(server):
    for key, press in [(31808, "full"), (52719, "spark:ratio=0.5"),
                       (70341, "snapkv:budget=96+spark:ratio=0.8"), (11111, "think:ratio=0.5")]:
        prompt = PASSKEY.format(key=key)
        body = completion(server, prompt, press)
        cli = run_cli(prompt, press)
        assert body["choices"][0]["text"] == cli["text"], press
        u = body["usage"]
        assert u["prompt_tokens"] == cli["prompt_tokens"]
        assert u["completion_tokens"] == cli["generated_tokens"]
        assert u["kv_press"] == cli["press"]
        assert u["kv_bytes"] > 0 and u["kv_bytes_dense_f16"] > 0
        assert body["object"] == "text_completion" and body["id"].startswith("cmpl-")


def test_streamed_chat_equals_cli_and_unstreamed(server):
    q = "What is the pass key? The pass key is 4242. Say it again."
    req = dict(messages=[{"role": "user", "content": q}], max_tokens=12, temperature=0,
               kv_press="spark:ratio=0.5")
    st, plain = server.post("/v1/chat/completions", req)
    assert st == 200, plain
    events = server.stream("/v1/chat/completions", req)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert events[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    assert events[-1]["usage"]["completion_tokens"] == plain["usage"]["completion_tokens"]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert text == plain["choices"][0]["message"]["content"]
    assert text == run_cli(q, "spark:ratio=0.5", 12, chat=True)["text"]


def test_streamed_completion_and_stop(server):
    prompt = PASSKEY.format(key=31808)
    events = server.stream("/v1/completions", dict(prompt=prompt, max_tokens=16, temperature=0))
    text = "".join(e["choices"][0]["text"] for e in events)
    assert text == completion(server, prompt)["choices"][0]["text"]
    cut = completion(server, prompt, stop=["808"])
    assert "808" not in cut["choices"][0]["text"] and cut["choices"][0]["finish_reason"] == "stop"


def test_sixteen_concurrent_clients_match_sequential(server):
    presses = ["full", "spark:ratio=0.5", "snapkv:budget=96+spark:ratio=0.8", "think:ratio=0.5"]
    jobs = [(PASSKEY.format(key=10000 + 7919 * i), presses[i % 4]) for i in range(16)]
    expected = {j: completion(server, j[0], j[1], n=12)["choices"][0]["text"] for j in jobs}
    got, errors = {}, []

    def client(i):
        try:
            for r in range(3):  # bounded requests each
                j = jobs[(i + r) % 16]
                got[(i, r)] = (j, completion(server, j[0], j[1], n=12)["choices"][0]["text"])
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(got) == 48  # no request lost
    for (j, text) in got.values():
        assert text == expected[j], j[1]
    st, metrics = server.request("GET", "/metrics")
    assert st == 200
    steps = int(next(l.split()[1] for l in metrics.splitlines() if l.startswith("sparkv_decode_steps_total")))
    fed = int(next(l.split()[1] for l in metrics.splitlines()
                   if l.startswith("sparkv_decode_batched_tokens_total")))
    assert fed > steps, "decode steps were never batched"
    # The KV budget (64 MiB) bounds what the caches add to the process (ASan's quarantine and
    # shadow memory would dwarf it: not measured under sanitizers).
    if os.environ.get("SPARKV_SANITIZED", "0") != "1":
        assert server.rss_peak_kb() < (64 + 200) * 1024
    st, health = server.request("GET", "/health")
    assert st == 200 and health["status"] == "ok"


def test_models_health_metrics(server):
    st, m = server.request("GET", "/v1/models")
    assert st == 200 and m["object"] == "list" and m["data"][0]["id"] == "sparkv-tiny-f16.gguf"
    st, metrics = server.request("GET", "/metrics")
    for name in ["sparkv_http_requests_total", "sparkv_prompt_tokens_total", "sparkv_generated_tokens_total",
                 "sparkv_time_to_first_token_seconds_bucket", "sparkv_tokens_per_second",
                 "sparkv_kv_bytes_held", "sparkv_kv_bytes_saved_total", "sparkv_queue_length"]:
        assert name in metrics, name


def expect_error(st, body, status, param=None, code=None):
    assert st == status, body
    assert isinstance(body, dict) and set(body["error"]) >= {"message", "type", "param", "code"}, body
    assert body["error"]["message"]
    if param:
        assert body["error"]["param"] == param, body
    if code:
        assert body["error"]["code"] == code, body


def test_bad_input(server):
    expect_error(*server.post("/v1/completions", "{not json"), 400)
    expect_error(*server.post("/v1/completions", "[1, 2]"), 400)
    expect_error(*server.post("/v1/completions", '{"prompt": "a", "max_tokens": 1e999}'), 400)
    # Invalid UTF-8 in a malformed body: the error quotes it (as U+FFFD), the server stays up.
    expect_error(*server.post("/v1/completions", b'{"prompt": "a", "logprob\xff\xff\xff": 1'), 400)
    expect_error(*server.post("/v1/completions", b'{"prompt": "bad \xff utf8"}'), 400)
    expect_error(*server.post("/v1/completions", {"prompt": 5}), 400, "prompt")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "max_tokens": "ten"}), 400, "max_tokens")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "temperature": 9}), 400, "temperature")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "stream": "yes"}), 400, "stream")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "kv_press": "spark:ratio=2"}), 400,
                 "kv_press", "invalid_kv_press")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "kv_press": "nosuch"}), 400, "kv_press")
    expect_error(*server.post("/v1/chat/completions", {"messages": []}), 400, "messages")
    expect_error(*server.post("/v1/chat/completions", {"messages": [{"role": "bot", "content": "x"}]}), 400)
    expect_error(*server.post("/v1/completions", {"prompt": "word " * 1100}), 400,
                 code="context_length_exceeded")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "max_tokens": 1024}), 400,
                 code="context_length_exceeded")
    expect_error(*server.post("/v1/completions", b"{\"prompt\": \"" + b"a" * (10 << 20) + b"\"}"), 413)
    expect_error(*server.request("GET", "/v1/nothing"), 404)
    expect_error(*server.post("/v1/completions", {"prompt": [1, 2, 999999]}), 400, "prompt")
    expect_error(*server.post("/v1/completions", {"prompt": "hi", "n": 2}), 400, "n")
    # Raw garbage on the socket: the server answers or closes, and stays up.
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(b"\x00\x01GARBAGE / HTTP/9\r\n\r\n")
        s.recv(1000)
    st, h = server.request("GET", "/health")
    assert st == 200 and h["status"] == "ok"


def test_api_key_queue_budget_and_disconnect():
    with Server("--slots", "1", "--queue", "0", "--api-key", "sekret", "--kv-mem-limit", "4MiB",
                "--ctx-size", "4096") as s:
        expect_error(*s.post("/v1/completions", {"prompt": "hi"}, key=None), 401, code="invalid_api_key")
        expect_error(*s.post("/v1/completions", {"prompt": "hi"}, key="wrong"), 401, code="invalid_api_key")
        st, h = s.request("GET", "/health", key=None)
        assert st == 200
        st, body = s.post("/v1/completions", {"prompt": "The sky is", "max_tokens": 4, "temperature": 0})
        assert st == 200, body
        # 4 MiB of KV cannot hold 2,000 decode rows (4 layers x 2 heads x 64 x 2 x 2 bytes = 2 KiB
        # per token), however compressed the prompt: 503.
        expect_error(*s.post("/v1/completions", {"prompt": "word " * 1500, "max_tokens": 2000,
                                                 "kv_press": "snapkv:budget=96+spark:ratio=0.8"}),
                     503, code="kv_budget_exceeded")
        # One slot, no queue: a long streamed generation (1,500 tokens, EOS ignored) holds the
        # slot; a second request is 429; the streaming client leaves, and its slot is free again.
        c = s.conn()
        c.request("POST", "/v1/completions",
                  body=json.dumps({"prompt": "The sky is", "max_tokens": 1500, "temperature": 1.0,
                                   "ignore_eos": True, "stream": True, "kv_press": "full"}),
                  headers={"Authorization": "Bearer sekret", "Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200
        r.readline()
        expect_error(*s.post("/v1/completions", {"prompt": "hi", "max_tokens": 2}), 429)
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        deadline = time.time() + 60
        while True:
            st, body = s.post("/v1/completions", {"prompt": "hi", "max_tokens": 2})
            if st == 200 or time.time() > deadline:
                break
            time.sleep(0.05)
        assert st == 200, body
        st, metrics = s.request("GET", "/metrics")
        gen = int(next(l.split()[1] for l in metrics.splitlines()
                       if l.startswith("sparkv_generated_tokens_total")))
        assert gen < 1500, "the abandoned generation ran to its end"
