"""The real `fakelens serve` in a subprocess, for the tests and the benchmarks (no pytest needed)."""

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    """A port free on 127.0.0.1 and, where there is one, on [::1] too: `fakelens serve` takes both."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6) as s6:
                s6.bind(("::1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue
        return port


class LiveBackend:
    def __init__(self, home: Path, port: int, env: dict):
        self.home, self.port, self.env = home, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None
        self.token = None

    def start(self, timeout: float = 60.0):
        log = open(self.home / "serve.log", "ab")
        # Ctrl+C as from a terminal: a suite started in the background (`make test &`, nohup) ignores
        # SIGINT, and the server would inherit that and never stop on it (test_restart)
        self.proc = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "serve", "--port", str(self.port)],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fakelens serve exited: {(self.home / 'serve.log').read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise RuntimeError("fakelens serve did not answer in time")
        self.token = (self.home / "token").read_text().strip()
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def start_backend(home: Path, port: int | None = None, **env_extra) -> LiveBackend:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FAKELENS_HOME": str(home), "FAKELENS_ALLOW_LOOPBACK": "1",
           "FAKELENS_WORKERS": "1", **{k: str(v) for k, v in env_extra.items()}}
    return LiveBackend(home, port or free_port(), env).start()
