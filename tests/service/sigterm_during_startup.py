#!/usr/bin/env python3
"""SIGTERM during start-up: with the broker unreachable, countersign is still creating its
topics when the signal comes. It must stop at the next wait with exit code 0 (before, it
waited out the topic-creation and metadata timeouts, about a minute), and its HTTP port
must already answer: /healthz 200 (start-up counts as alive), /readyz 503.

Usage: sigterm_during_startup.py COUNTERSIGN_BIN"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main() -> int:
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        port, dead = free_port(), free_port()  # nothing listens on `dead`
        config = os.path.join(tmp, "countersign.yaml")
        with open(config, "w") as f:
            f.write(f'kafka:\n  bootstrap_servers: "127.0.0.1:{dead}"\n  input_topics: [events]\n'
                    f'state:\n  dir: "{tmp}/state"\nmetrics:\n  listen: "127.0.0.1:{port}"\n')
        log = open(os.path.join(tmp, "log"), "w+")
        proc = subprocess.Popen([binary, "run", "--config", config], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            health = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    health = status(port, "/healthz")
                    break
                except OSError:
                    time.sleep(0.1)
            if health != 200:
                print(f"FAIL: /healthz during start-up gave {health}, exit {proc.poll()}")
                return 1
            ready = status(port, "/readyz")
            if ready != 503:
                print(f"FAIL: /readyz during start-up gave {ready}")
                return 1
            time.sleep(1)  # well inside topic creation against a dead broker
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                print("FAIL: still running 20 s after SIGTERM during start-up")
                return 1
            log.seek(0)
            text = log.read()
            if code != 0:
                print(f"FAIL: exit code {code} after SIGTERM during start-up\n{text[-2000:]}")
                return 1
            if "stopped during start-up" not in text:
                print(f"FAIL: no 'stopped during start-up' in the log\n{text[-2000:]}")
                return 1
            print(f"ok: /healthz 200 and /readyz 503 while starting; exit 0 {time.monotonic() - sent:.1f} s after SIGTERM")
            return 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    sys.exit(main())
