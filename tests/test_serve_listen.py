"""Where `fakelens serve` listens (real servers in subprocesses).

Browsers resolve `localhost` to ::1 first: a server on 127.0.0.1 alone left [::1]:PORT to any other
program on the computer, which then received the extension's token and media."""

import errno
import socket
import subprocess
import sys
import time

import pytest
import requests

from support.live_backend import free_port, start_backend


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


def impostor(port: int) -> socket.socket:
    """Another program listening on [::1]:PORT, as an audit's impostor.py did."""
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::1", port))
    s.listen(5)
    return s


def serve(home, port, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(home), "serve", "--port", str(port)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    backend = start_backend(tmp_path_factory.mktemp("serve") / "home")
    yield backend
    backend.stop()


@needs_ipv6
def test_a_program_on_the_ipv6_loopback_port_stops_the_start(tmp_path):
    """The impostor case: it would receive every request the extension sends to http://localhost:PORT."""
    port = free_port()
    with impostor(port):
        r = serve(tmp_path / "home", port)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"[::1]:{port}" in lines[0] and "localhost" in lines[0], r.stderr
    assert "pairing token" not in r.stdout


@needs_ipv6
def test_localhost_is_answered_on_both_loopback_addresses(backend):
    port = backend.port
    for address in ("127.0.0.1", "[::1]"):   # Chromium tries ::1 first, then 127.0.0.1
        r = requests.get(f"http://{address}:{port}/api/v1/health", headers={"Host": f"localhost:{port}"}, timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "ok", (address, r.text)
        r = requests.get(f"http://{address}:{port}/api/v1/checks?limit=1", timeout=10,
                         headers={"Host": f"localhost:{port}", **backend.headers})
        assert r.status_code == 200, (address, r.text)
    # the address is the server's: another program cannot take it while it runs
    with pytest.raises(OSError) as taken:
        impostor(port).close()
    assert taken.value.errno == errno.EADDRINUSE
    lines = (backend.home / "serve.log").read_text().splitlines()
    assert f"FakeLens backend on http://127.0.0.1:{port}" in lines
    assert any(f"[::1]:{port}" in line for line in lines), lines


def test_without_an_ipv6_loopback_localhost_is_served_on_127_only_and_says_so(tmp_path):
    """A machine without IPv6: the start goes on, on 127.0.0.1, saying so once."""
    port, home = free_port(), tmp_path / "home"
    code = ("import socket, sys; socket.has_ipv6 = False; from fakelens.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", code, "--home", str(home), "serve", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "pairing token" not in (tmp_path / "serve.log").read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).ok
    finally:
        proc.terminate()
        proc.wait(30)
    out = (tmp_path / "serve.log").read_text()
    said = [line for line in out.splitlines() if "127.0.0.1 only" in line]
    assert len(said) == 1 and "localhost" in said[0], out
    assert "[::1]" not in out.replace(said[0], ""), out
