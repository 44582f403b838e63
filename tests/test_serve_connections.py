"""What `fakelens serve`'s connections cost (a real server in a subprocess).

waitress takes a limited number of connections (its default, 100) and kept an idle one 60 s: a local
program, or a web page using many host names that resolve to 127.0.0.1, held them all with requests
the server had refused (an audit's conns.py), and the extension could not reach it for a minute."""

import socket
import time

import pytest
import requests

from support.live_backend import start_backend


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    backend = start_backend(tmp_path_factory.mktemp("serve") / "home")
    yield backend
    backend.stop()


def read_to_end(sock: socket.socket, timeout: float = 10.0) -> tuple[bytes, bool]:
    """What the server sent, and whether it closed the connection (False: it kept it open)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
        return data, True
    except TimeoutError:
        return data, False


@pytest.mark.parametrize("headers, status", [
    ({"Host": "evil.example:{port}"}, 403),                                         # forbidden_host
    ({"Host": "127.0.0.1:{port}", "Origin": "https://evil.example"}, 403),           # forbidden_origin
    ({"Host": "127.0.0.1:{port}"}, 401),                                            # unauthorized
])
def test_a_refused_request_closes_its_connection(backend, headers, status):
    head = "".join(f"{k}: {v.format(port=backend.port)}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", backend.port)) as sock:
        sock.sendall(f"GET /api/v1/checks?limit=1 HTTP/1.1\r\n{head}\r\n".encode())
        data, closed = read_to_end(sock)
    head_lines = data.split(b"\r\n\r\n")[0].decode().lower().splitlines()
    assert head_lines[0].startswith(f"http/1.1 {status}"), data
    assert "connection: close" in head_lines and closed, data


def test_an_accepted_request_keeps_its_connection(backend):
    with socket.create_connection(("127.0.0.1", backend.port)) as sock:
        sock.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{backend.port}\r\n\r\n".encode())
        data, closed = read_to_end(sock, timeout=2)
    assert data.startswith(b"HTTP/1.1 200") and b"connection: close" not in data.lower() and not closed, data


def health_within(port: int, seconds: float = 10.0):
    """A hang bound, not a speed: waitress's default limit kept a new connection waiting about 60 s."""
    r = requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=seconds)
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_connections_refused_by_host_do_not_keep_the_extension_out(backend):
    """An audit's conns.py: 120 connections whose requests got 403 filled waitress's 100."""
    socks = []
    try:
        for _ in range(120):
            s = socket.create_connection(("127.0.0.1", backend.port))
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: evil.example:%d\r\n\r\n" % backend.port)
            socks.append(s)
        time.sleep(1)
        health_within(backend.port)
    finally:
        for s in socks:
            s.close()


def test_idle_connections_beyond_waitress_default_limit_do_not_keep_the_extension_out(backend):
    socks = []
    try:
        for _ in range(150):   # nothing sent: these stay until the channel timeout
            socks.append(socket.create_connection(("127.0.0.1", backend.port)))
        time.sleep(1)
        health_within(backend.port)
    finally:
        for s in socks:
            s.close()


def test_the_connection_limit_fits_the_file_limit():
    from fakelens.serving import connection_limit

    assert connection_limit(20000) == 500
    # each connection may hold a spool file too (a large body being received): two files each, 256 kept
    assert connection_limit(1024) == 384
    assert connection_limit(512) == 128 and connection_limit(256) == 16



def test_a_client_that_trickles_its_headers_loses_its_connection(backend):
    """waitress's idle timeout counts from the last byte: a program sending a header line every few
    seconds (no token needed) kept its connection for ever, and 520 such kept the extension out. A
    request's headers are due within 10 s of its first byte."""
    trickle = socket.create_connection(("127.0.0.1", backend.port))
    trickle.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{backend.port}\r\n".encode())
    start, cut = time.monotonic(), None
    try:
        while time.monotonic() - start < 40:   # a line every 2 s: never idle by waitress's measure
            time.sleep(2)
            try:
                trickle.sendall(b"X-Slow: 1\r\n")
            except OSError:   # closed by the server
                cut = time.monotonic() - start
                break
    finally:
        trickle.close()
    assert cut is not None and cut < 25, cut   # looked at every 5 s
    health_within(backend.port)


def test_answers_left_unread_do_not_hold_a_thread_for_ever():
    """Requests sent one after another on a connection, their answers never read: once 16 MB wait, the
    thread writing them waits for the client, and waitress never timed out a connection with requests,
    so 16 such held every thread. Such a connection is closed after the idle timeout (here fakelens's
    server with one thread, a plain app answering 1 MB)."""
    import threading

    from support.live_backend import free_port
    from fakelens.serving import make_server

    big = b"x" * 2**20

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(big)))])
        return [big]

    port = free_port()
    server, _ = make_server(app, port, threads=1)
    threading.Thread(target=server.run, daemon=True).start()
    unread = socket.create_connection(("127.0.0.1", port))
    try:
        unread.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        unread.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 60)   # 60 MB of answers, in one read
        time.sleep(22)   # the idle timeout's 15 s, looked at every 5 s
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=10)   # the one thread answers again
        assert r.status_code == 200 and len(r.content) == len(big)
    finally:
        unread.close()
        server.close()
