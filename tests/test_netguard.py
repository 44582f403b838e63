"""The SSRF guard: which addresses are refused, and that refusal happens before any connect."""

import socket
import threading
import time

import pytest
import requests

from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.fetch.netguard import BlockedAddress, blocked_reason, check_url, guarded
from support.httpd import MediaServer
from support.netspy import spy_connects


@pytest.fixture
def strict(tmp_path):
    return Settings(home=tmp_path)  # allow_loopback False: production


@pytest.fixture
def loose(tmp_path):
    return Settings(home=tmp_path, allow_loopback=True)  # the tests' setting


@pytest.fixture
def connects(monkeypatch):
    """Every address passed to socket.connect; a private one must never get there."""
    return spy_connects(monkeypatch)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guard-files")
    (folder / "hello.txt").write_text("hello\n")
    with MediaServer(folder) as srv:
        yield srv


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("127.1.2.3", "loopback"), ("::1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"),
    ("100.64.0.1", "private"),                 # carrier-grade NAT
    ("169.254.169.254", "link-local"),         # cloud metadata
    ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("fc00::1", "private"), ("fd12:3456::1", "private"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),   # IPv4-mapped IPv6
    ("::ffff:169.254.169.254", "link-local"),
    ("2002:a00:1::", "private"),              # 6to4 wrapping 10.0.0.1
    ("64:ff9b::7f00:1", "loopback"), ("64:ff9b::a00:1", "private"),   # NAT64 wrapping 127.0.0.1, 10.0.0.1
    ("64:ff9b:0:0:1::808:808", "reserved"),   # outside the NAT64 /96: the range's own reason
    ("192.0.2.1", "private"),                  # documentation range
    # ranges some Python releases' ipaddress calls global
    ("fec0::1", "reserved"), ("fefe::1", "reserved"),   # IPv6 site-local (fec0::/10)
    ("3fff::1", "reserved"), ("192.88.99.1", "reserved"), ("2002:c058:6301::", "reserved"),  # 6to4 relay
])
def test_blocked_addresses(address, reason, strict):
    assert blocked_reason(address, strict) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])   # NAT64 (DNS64) of 8.8.8.8
def test_public_addresses(address, strict):
    assert blocked_reason(address, strict) is None


def test_allow_loopback_allows_loopback_only(loose):
    assert blocked_reason("127.0.0.1", loose) is None
    assert blocked_reason("::1", loose) is None
    assert blocked_reason("::ffff:127.0.0.1", loose) is None
    for address in ("10.0.0.1", "169.254.169.254", "192.168.0.1", "0.0.0.0", "fe80::1", "::ffff:10.0.0.1"):
        assert blocked_reason(address, loose), address


@pytest.mark.parametrize("url, words", [
    ("ftp://example.com/a.jpg", "got ftp:"),
    ("file:///etc/passwd", "got file:"),
    ("data:image/png;base64,iVBORw0KGgo=", "got data:"),
    ("javascript:alert(1)", "got javascript:"),
    ("example.com/a.jpg", "no scheme"),
    ("", "no URL"),
    ("http:///a.jpg", "no host"),
    ("http://[::1/a.jpg", "not a valid URL"),
    ("http://example.com:99999/", "not a valid URL"),
    # looked up and said "could not find the server", as if the site were down
    ("https://exa mple.com/a.jpg", "exa mple.com is not a valid host name"),
    ("http://%31%32%37.0.0.1/", "is not a valid host name"),
    ("http://ex<ample.com/", "is not a valid host name"),
])
def test_bad_urls(url, words, strict):
    with pytest.raises(FakeLensError) as e:
        check_url(url, strict)
    assert e.value.code == "bad_url" and words in e.value.message


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/a.jpg", "http://localhost:8080/a.jpg",  # a host name that resolves to loopback
    "http://[::1]/a.jpg", "http://10.0.0.1/a.jpg", "http://169.254.169.254/latest/meta-data/",
    "https://192.168.1.1/", "http://0.0.0.0/", "http://[::ffff:10.0.0.1]/", "http://2130706433/",  # 127.0.0.1 as a number
])
def test_private_urls_refused(url, strict):
    with pytest.raises(FakeLensError) as e:
        check_url(url, strict)
    assert e.value.code == "blocked_address"
    assert "private address" in e.value.message and e.value.status == 403


def test_a_name_refused_does_not_say_what_it_resolves_to(strict):
    """A page can name a host of the user's network and read the error from a badge: the message
    says why (a private address) but not which address the name has."""
    with pytest.raises(FakeLensError) as e:
        check_url("http://localhost:8080/a.jpg", strict)
    assert e.value.message == ("localhost resolves to a private address (loopback); FakeLens only fetches "
                               "from public addresses")


def test_loopback_url_allowed_only_with_the_setting(loose, strict):
    check_url("http://127.0.0.1:8080/a.jpg", loose)
    check_url("http://localhost:8080/a.jpg", loose)
    with pytest.raises(FakeLensError, match="private address"):
        check_url("http://10.0.0.1/a.jpg", loose)
    check_url("https://8.8.8.8/a.jpg", strict)  # an IP literal: no DNS, no connection


def test_a_batch_looks_each_host_up_once(loose):
    """The answer for a host, or its failure, is kept for the rest of the batch."""
    seen = {}
    for path in ("a.jpg", "b.jpg", "c.jpg"):
        check_url(f"http://localhost:8080/{path}", loose, seen)
    check_url("http://localhost:9090/d.jpg", loose, seen)   # another port: the same addresses
    assert list(seen) == ["localhost"] and seen["localhost"]
    failures = []
    for path in ("a.jpg", "b.jpg"):
        with pytest.raises(FakeLensError) as e:
            check_url(f"http://no-such-host.invalid/{path}", loose, seen)
        failures.append(e.value)
    assert failures[0] is failures[1] is seen["no-such-host.invalid"]   # looked up once
    assert failures[0].code in ("fetch_failed", "fetch_timeout")
    with pytest.raises(FakeLensError, match="private address"):       # the address rule still applies
        check_url("http://10.0.0.1/a.jpg", loose, seen)
    # past the batch's lookup time no new name is looked up (the download checks it), known ones still count
    check_url("http://no-such-other-host.invalid/a.jpg", loose, seen, lookups_until=time.monotonic() - 1)
    assert "no-such-other-host.invalid" not in seen
    with pytest.raises(FakeLensError, match="private address"):
        check_url("http://10.0.0.2/b.jpg", loose, seen, lookups_until=time.monotonic() - 1)   # no lookup needed


def test_guard_refuses_before_connecting(strict, loose, server, connects):
    with guarded(loose) as guard:
        with pytest.raises(requests.ConnectionError):
            requests.get("http://10.0.0.1:81/x", timeout=2)
    assert guard.blocked.code == "blocked_address" and "10.0.0.1" in guard.blocked.message
    with guarded(strict) as guard:
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url("/files/hello.txt"), timeout=2)
        assert guard.blocked.code == "blocked_address"
    assert connects == []  # refused while resolving: no connect call at all
    with guarded(loose):
        assert requests.get(server.url("/files/hello.txt"), timeout=5).text == "hello\n"
    assert connects == ["127.0.0.1"]


def test_socket_connect_backstop(strict, server, connects):
    # clients that bypass urllib3 (http.client, yt-dlp's other handlers) are checked at connect()
    with guarded(strict) as guard:
        with pytest.raises(BlockedAddress):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
        with pytest.raises(BlockedAddress, match="private address") as e:
            socket.create_connection(("169.254.169.254", 80), timeout=2)
        assert "169.254" not in str(e.value)   # the address may have come from the user's resolver
    assert guard.blocked.code == "blocked_address"
    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()  # unguarded again


def test_guard_is_per_thread(strict, server):
    results = {}

    def other_thread():  # e.g. the API server or a test's own client
        results["text"] = requests.get(server.url("/files/hello.txt"), timeout=5).text

    with guarded(strict):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join(10)
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url("/files/hello.txt"), timeout=2)
    assert results["text"] == "hello\n"
    # and once the block ends this thread is free again
    assert requests.get(server.url("/files/hello.txt"), timeout=5).status_code == 200


def test_guard_deadline_stops_new_connections(loose, server):
    with guarded(loose, deadline=time.monotonic() - 1) as guard:
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url("/files/hello.txt"), timeout=2)
    assert guard.timed_out


def test_a_deadline_cuts_only_its_own_connections(loose, server):
    """Check A's wall time runs out after its connection closed and another check's socket took the
    same file descriptor to the same server: only A's connections may be shut down."""
    port = int(server.url("/").split(":")[2].split("/")[0])
    reused = threading.Event()
    got = {}

    def check_a():
        with guarded(loose, time.monotonic() + 1.0):
            sock = socket.socket()
            sock.connect(("127.0.0.1", port))
            got["fd"] = sock.fileno()
            sock.close()
            reused.wait(5)
            time.sleep(1.5)   # past A's deadline: its watchdog fires now

    def check_b():
        with guarded(loose, time.monotonic() + 60):
            sock = socket.socket()
            sock.connect(("127.0.0.1", port))
            got["same_fd"] = sock.fileno() == got.get("fd")
            reused.set()
            sock.sendall(b"GET /trickle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received, until = 0, time.monotonic() + 2.5
            sock.settimeout(1.0)
            while time.monotonic() < until:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += len(chunk)
            got["open"] = time.monotonic() >= until
            sock.close()

    a = threading.Thread(target=check_a)
    a.start()
    while "fd" not in got:
        time.sleep(0.01)
    time.sleep(0.05)
    b = threading.Thread(target=check_b)
    b.start()
    a.join(10)
    b.join(10)
    if not got.get("same_fd"):
        pytest.skip("the second socket did not reuse the file descriptor")
    assert got["open"], "check B's download was cut at check A's deadline"


def test_a_hanging_connect_ends_at_the_wall_time(loose):
    """A server that never completes the handshake (its backlog full): each address tried used to get
    the full connect timeout, past the download's wall time."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filled = []
    for _ in range(8):   # fill the backlog: later handshakes get no answer
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        filled.append(s)
    time.sleep(0.2)
    try:
        started = time.monotonic()
        with guarded(loose, time.monotonic() + 1.0):
            sock = socket.socket()
            sock.settimeout(10)
            with pytest.raises(OSError):
                for _ in range(3):   # three addresses of one host, say
                    sock.connect(("127.0.0.1", port))
            sock.close()
        assert time.monotonic() - started < 6   # not 3 × 10 s
    finally:
        for s in filled:
            s.close()
        listener.close()
