"""Two `sparkv serve` replicas behind nginx (Debian's nginx-light) on loopback: the client test of
one server passes through the balancer, and stopping one replica mid-run loses no request (nginx
retries a refused connection, a reset, or the 503 a stopping replica answers on the other one)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Server

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROMPT = ("The pass key is {key}. Remember it. " + "The grass is green. The sky is blue. " * 8 +
          "What is the pass key? The pass key is")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx not installed (apt install nginx-light)")
def test_two_replicas_behind_nginx():
    a = Server("--slots", "4", "--ctx-size", "1024")
    b = Server("--slots", "4", "--ctx-size", "1024")
    port = free_port()
    d = tempfile.mkdtemp(prefix="sparkv-nginx-")
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "deploy", "nginx.conf")) as f:
        conf = f.read()
    conf = (conf.replace("127.0.0.1:8081", f"127.0.0.1:{a.port}")
                .replace("127.0.0.1:8082", f"127.0.0.1:{b.port}")
                .replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{port}"))
    conf = (f"pid {d}/nginx.pid;\nerror_log {d}/error.log;\ndaemon off;\n"
            f"events {{ worker_connections 256; }}\nhttp {{\naccess_log off;\n"
            f"client_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n{conf}\n}}\n")
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    ng = subprocess.Popen([NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf")],
                          stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or ng.poll() is not None:
                    raise AssertionError(ng.stderr.read() if ng.poll() is not None else "nginx did not start")
                time.sleep(0.05)
        lb = Server.__new__(Server)
        lb.host, lb.port, lb.key, lb.proc = "127.0.0.1", port, None, None
        jobs = [PROMPT.format(key=20000 + 977 * i) for i in range(12)]

        def ask(server, p):
            st, body = server.post("/v1/completions", dict(prompt=p, max_tokens=10, temperature=0))
            assert st == 200, body
            return body["choices"][0]["text"]

        expected = {p: ask(a, p) for p in jobs}
        for p in jobs:  # the same answers through the balancer, whichever replica serves them
            assert ask(lb, p) == expected[p]

        # 8 clients x 6 requests; replica b stops after the first few answers.
        got, errors = [], []

        def client(i):
            try:
                for r in range(6):
                    p = jobs[(i + r) % len(jobs)]
                    got.append((p, ask(lb, p)))
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        while len(got) < 6 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        assert b.stop() == 0
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(got) == 48
        assert all(text == expected[p] for p, text in got)
    finally:
        ng.terminate()
        ng.wait(timeout=10)
        if b.proc.poll() is None:
            b.stop()
        assert a.stop() == 0
        shutil.rmtree(d, ignore_errors=True)
