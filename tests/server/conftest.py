"""Starts `sparkv serve` on 127.0.0.1 (any free port) and talks to it over real HTTP (http.client)."""
import http.client
import json
import os
import re
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SPARKV_CLI", os.path.join(ROOT, "build", "sparkv"))
MODEL = os.path.join(ROOT, "models", "sparkv-tiny-f16.gguf")


class Server:
    def __init__(self, *args):
        self.proc = subprocess.Popen([CLI, "serve", "--port", "0", "-m", MODEL, *args],
                                     stderr=subprocess.PIPE, text=True)
        # Start-up notes (a prompt-cache file set aside, ...) may come before the address line.
        self.startup_lines = []
        m = None
        while m is None and len(self.startup_lines) < 50:
            line = self.proc.stderr.readline()
            assert line, f"the server exited: {self.startup_lines!r}"
            self.startup_lines.append(line)
            m = re.search(r"http://([\d.]+):(\d+)", line)
        self.host, self.port = m.group(1), int(m.group(2))
        self.key = None
        for i, a in enumerate(args):
            if a == "--api-key":
                self.key = args[i + 1]

    def conn(self, timeout=120):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, key="default"):
        h = {"Content-Type": "application/json"}
        k = self.key if key == "default" else key
        if k:
            h["Authorization"] = f"Bearer {k}"
        h.update(headers or {})
        c = self.conn()
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(raw) if "json" in ctype else raw.decode())

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def stream(self, path, body):
        """POST with stream=true; returns the parsed SSE events (dicts) up to [DONE]."""
        c = self.conn()
        h = {"Content-Type": "application/json"}
        if self.key:
            h["Authorization"] = f"Bearer {self.key}"
        c.request("POST", path, body=json.dumps(dict(body, stream=True)), headers=h)
        r = c.getresponse()
        assert r.status == 200, r.read()
        assert r.getheader("Content-Type").startswith("text/event-stream")
        events = []
        for line in r:
            line = line.decode().strip()
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                break
            events.append(json.loads(line[6:]))
        c.close()
        return events

    def rss_peak_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        if exc_type is None:  # a failing test keeps its own error
            assert rc == 0, f"sparkv serve exited with {rc}"

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.proc.stderr.close()
        return rc


@pytest.fixture(scope="module")
def server():
    s = Server("--slots", "4", "--queue", "32", "--ctx-size", "1024", "--kv-mem-limit", "64MiB")
    yield s
    assert s.proc.poll() is None, "the server died during the tests"
    assert s.stop() == 0


def run_cli(prompt, press="full", n=16, chat=False):
    cmd = [CLI, "run", "-m", MODEL, "-p", prompt, "-n", str(n), "--press", press, "--json", "-c", "1024"]
    if chat:
        cmd.append("--chat")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env=dict(os.environ, OMP_WAIT_POLICY="passive"))
    return json.loads(out.stdout)
