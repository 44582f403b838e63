"""SSRF guard: every address a download touches must be public.

Two layers, both checked before any packet leaves:
- check_url() resolves a URL's host and refuses it if any address is private, loopback,
  link-local, reserved, multicast or unspecified (IPv4, IPv6, IPv4-mapped IPv6). It runs on
  the URL asked for, on every redirect hop and on every media URL yt-dlp extracts.
- Inside `with guarded(settings):` every TCP connection made by *this thread* is checked:
  urllib3's create_connection (used by requests and by yt-dlp's requests handler) resolves,
  checks each address and connects only to a checked address (no DNS-rebinding window), and
  socket.connect() refuses an unchecked address as a backstop for any other client. Other
  threads (the tests' own clients, the API server) are unaffected.

settings.allow_loopback lets tests fetch from 127.0.0.1 / ::1; every other private range
stays blocked.
"""

import contextlib
import ipaddress
import os
import re
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import idna
import urllib3.util.connection

from ..errors import FakeLensError
from ..provenance.text import plain

DNS_TIMEOUT_S = 10.0
CANCEL_POLL_S = 0.25   # how often a download's watchdog asks whether its check was cancelled


class BlockedAddress(OSError):
    """Raised inside a connection attempt; an OSError so HTTP clients treat it as a failed connect."""


# Not public, though some Python releases' ipaddress call them global: IPv6 site-local (deprecated, still
# routed inside some networks), IPv6 documentation 3fff::/20 (RFC 9637) and the 6to4 relay anycast range.
NOT_GLOBAL = [ipaddress.ip_network(n) for n in ("fec0::/10", "3fff::/20", "192.88.99.0/24")]
# NAT64's well-known prefix (RFC 6052): on an IPv6-only network with DNS64 every IPv4-only site
# resolves into it, so the IPv4 address inside decides (ipaddress calls the whole range reserved)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _reason(ip: ipaddress._BaseAddress) -> str | None:
    """Why an address may not be fetched from, or None when it is public."""
    if any(ip in net for net in NOT_GLOBAL if net.version == ip.version):
        return "reserved"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if mapped is not None:
            return _reason(mapped)
        if ip.teredo is not None:
            return "reserved"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "private"
    return None


def _ip_literal(address: str):
    """The address as an ipaddress object, or None when it is a name."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None


def blocked_reason(address: str, settings) -> str | None:
    """None if `address` (an IP literal) may be connected to under these settings."""
    ip = _ip_literal(address)
    if ip is None:
        return "not an IP address"
    reason = _reason(ip)
    if reason == "loopback" and settings.allow_loopback:
        return None
    return reason


def resolve(host: str, port: int, timeout: float = DNS_TIMEOUT_S) -> list[tuple]:
    """getaddrinfo with a timeout (getaddrinfo itself has none). Returns (family, sockaddr) pairs."""
    result: dict = {}

    def run():
        try:
            result["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except UnicodeError:   # IDNA: an empty label ("a..b") or one over 63 characters
            result["bad_name"] = True
        except OSError as e:
            result["error"] = e

    worker = threading.Thread(target=run, name="fakelens-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise FakeLensError("fetch_timeout", f"looking up {host} took longer than {timeout:.2g} s")
    if "bad_name" in result:
        raise FakeLensError("bad_url", f"{host[:100]} is not a valid host name")
    if "error" in result:
        raise FakeLensError("fetch_failed", f"could not find the server {host} ({result['error']})")
    return [(family, sockaddr) for family, _, _, _, sockaddr in result["infos"]]


def _check_addresses(host: str, addrs: list[tuple], settings) -> None:
    if not addrs:
        raise FakeLensError("fetch_failed", f"could not find the server {host}")
    for _, sockaddr in addrs:
        reason = blocked_reason(sockaddr[0], settings)
        if reason:
            kind = "" if reason == "private" else f", {reason}"
            # which address a name resolves to stays out of the message: a page could name a host of
            # the user's network and read the answer from a badge
            where = f"is a private address{f' ({reason})' if kind else ''}" if host == sockaddr[0] else \
                f"resolves to a private address{f' ({reason})' if kind else ''}"
            raise FakeLensError("blocked_address", f"{host} {where}; FakeLens only fetches from public addresses")


def ascii_host(host: str) -> str:
    """A host name as DNS and HTTP carry it: an international one in its xn-- form as browsers write it
    (UTS 46 over IDNA 2008, which keeps "ß"), else as IDNA 2003 does (a symbol, "☃.net", which browsers
    still open and IDNA 2008 refuses). The name checked and the name fetched are then one and the same:
    the check resolved by Python's IDNA 2003 ("fass") while requests fetched by IDNA 2008, or refused."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise FakeLensError("bad_url", f"the host name {plain(host)} is not a valid international domain name") from None


def ascii_url(url: str) -> str:
    """`url` with its host name as ascii_host gives it (the rest as it was)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except (ValueError, TypeError):
        return url   # split_url says what is wrong with it
    if not host or host.isascii():
        return url
    userinfo, at, _ = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{ascii_host(host)}" + (f":{port}" if port is not None else "")))


HOST_CHARS = re.compile(r"[A-Za-z0-9_.-]+")


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or FakeLensError("bad_url")."""
    if not isinstance(url, str) or not url.strip():
        raise FakeLensError("bad_url", "no URL given")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise FakeLensError("bad_url", f"not a valid URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "no scheme"
        raise FakeLensError("bad_url", f"only http and https URLs can be fetched (got {shown})")
    host = parts.hostname
    if not host:
        raise FakeLensError("bad_url", "the URL has no host name")
    host = ascii_host(host)
    # a name of DNS's letters, or an address: "exa mple.com" or "%31%32%37.0.0.1" was looked up, and
    # failed as "could not find the server" (with the resolver's errno), as if the site were down
    if not HOST_CHARS.fullmatch(host) and _ip_literal(host) is None:
        raise FakeLensError("bad_url", f"{plain(host)} is not a valid host name")
    return scheme, host, port or (443 if scheme == "https" else 80)


def check_url(url: str, settings, seen: dict | None = None, lookups_until: float | None = None,
              deadline: float | None = None) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to any non-public address. `seen`
    remembers each host's answer (or error) across calls, so a page scan of many URLs on one slow
    server waits for its name once, not once per URL or port. Past `lookups_until` (time.monotonic())
    no new name is looked up: the download checks it again anyway, so a batch of slow names cannot
    hold the request. A lookup waits no longer than `deadline` (time.monotonic()), or the active
    guard's: a download's time limit counts its name lookups too (a slow resolver doubled it)."""
    _, host, port = split_url(url)
    guard = _active()
    deadline = deadline if deadline is not None else guard.deadline if guard is not None else None
    key = host   # the addresses are what is checked, whatever the port

    def out_of_time() -> bool:   # a name past the batch's lookup time (an address needs no lookup)
        return lookups_until is not None and time.monotonic() > lookups_until and _ip_literal(host) is None

    if seen is not None and key not in seen and out_of_time():
        return
    if seen is None or key not in seen:
        wait = DNS_TIMEOUT_S if lookups_until is None else max(0.5, min(DNS_TIMEOUT_S, lookups_until - time.monotonic()))
        if deadline is not None and _ip_literal(host) is None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                raise FakeLensError("fetch_timeout", f"the download took longer than {settings.fetch_wall_s:g} s")
        try:
            answer = resolve(host, port, wait)
        except FakeLensError as exc:
            if out_of_time():
                return   # the download checks this name again
            answer = exc
        if seen is not None:
            seen[key] = answer
    else:
        answer = seen[key]
    if isinstance(answer, FakeLensError):
        raise answer
    _check_addresses(host, answer, settings)


# --- connection-level guard, active per thread inside guarded() ---

_state = threading.local()


def _active():
    return getattr(_state, "guard", None)


class Guard:
    """What a guarded block allows, and what it refused (clients may wrap our error in their own)."""

    def __init__(self, settings, deadline: float | None, cancelled=None):
        self.settings = settings
        self.deadline = deadline
        self.cancelled = cancelled   # the check's "was I cancelled?", asked by the watchdog
        self.blocked: FakeLensError | None = None
        self.timed_out = False
        self.was_cancelled = False

        # (fd, family, peer, local) of each connection made: by number, since TLS wrapping detaches the
        # socket object; the local address tells a later connection that reused the number apart
        self._conns: list[tuple[int, int, tuple, tuple]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def track(self, sock):
        with self._lock:
            try:
                self._conns.append((sock.fileno(), sock.family, sock.getpeername()[:2], sock.getsockname()[:2]))
            except OSError:
                pass

    def start_watchdog(self):
        """At the deadline, or once the check is cancelled, shut down this guard's connections: a read
        blocked anywhere (a silent server, yt-dlp reading a trickling page) then ends at once."""
        if self.deadline is not None or self.cancelled is not None:
            threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        while True:
            left = self.remaining()
            if left is not None and left <= 0:
                return self.expire()
            if self._stopped.wait(CANCEL_POLL_S if left is None else min(CANCEL_POLL_S, left)):
                return
            if self.cancelled is not None and self.cancelled():
                self.was_cancelled = True
                return self._shut_down()

    def stop_watchdog(self):
        self._stopped.set()

    def expire(self):
        self.timed_out = True
        self._shut_down()

    def _shut_down(self):
        with self._lock:
            conns, self._conns = self._conns, []
        for fd, family, peer, local in conns:
            try:  # a dup of the fd; shut down only if it is still the same connection (another
                # check's socket may have the number now, even to the same server: not its local port)
                dup = socket.socket(family, socket.SOCK_STREAM, fileno=os.dup(fd))
            except OSError:
                continue
            try:
                if dup.getpeername()[:2] == peer and dup.getsockname()[:2] == local:
                    dup.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                dup.close()

    def refuse(self, error: FakeLensError):
        self.blocked = error
        raise BlockedAddress(error.message)


_original_create_connection = urllib3.util.connection.create_connection
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _guarded_create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None,
                               socket_options=None):
    guard = _active()
    if guard is None:
        return _original_create_connection(address, timeout, source_address, socket_options)
    host, port = address
    host = host.strip("[]")
    left = guard.remaining()
    if left is not None and left <= 0:
        guard.timed_out = True
        raise TimeoutError("the download took longer than its time limit")
    try:
        addrs = resolve(host, port, min(DNS_TIMEOUT_S, left) if left else DNS_TIMEOUT_S)
        _check_addresses(host, addrs, guard.settings)
    except FakeLensError as e:
        if e.code == "blocked_address":
            guard.refuse(e)
        raise OSError(e.message) from None
    err = None
    for family, sockaddr in addrs:
        sock = None
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
            if socket_options:
                for opt in socket_options:
                    sock.setsockopt(*opt)
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)  # a checked address: no second lookup (tracked by _guarded_connect)
            return sock
        except OSError as e:
            err = e
            if sock is not None:
                sock.close()
    raise err


def _check_sockaddr(sock, address):
    guard = _active()
    if guard is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else str(address)
    reason = blocked_reason(host, guard.settings)
    if reason:
        # Not naming the address: here it may come from a name the user's resolver answered (a host in
        # a video's playlist, DNS rebinding), which a page could read back from a badge.
        guard.refuse(FakeLensError(
            "blocked_address", f"a connection to a private address ({reason}) was refused; FakeLens only "
                               f"fetches from public addresses"))


def _guarded_connect(self, address):
    _check_sockaddr(self, address)
    guard = _active()
    if guard is not None and guard.was_cancelled:   # a client trying again after the watchdog's cut
        raise ConnectionAbortedError("the check was cancelled")
    left = guard.remaining() if guard is not None else None
    before = self.gettimeout()
    if left is not None:   # a connect that hangs (a black-holed address) ends with the wall time too
        if left <= 0:
            guard.timed_out = True
            raise TimeoutError("the download took longer than its time limit")
        if before is None or before > left:
            self.settimeout(left)
    try:
        result = _original_connect(self, address)
    finally:
        if self.gettimeout() != before:
            self.settimeout(before)
    if guard is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        guard.track(self)
    return result


def _guarded_connect_ex(self, address):
    _check_sockaddr(self, address)
    return _original_connect_ex(self, address)


# Installed once at import; without an active guard on the thread they behave as the originals.
urllib3.util.connection.create_connection = _guarded_create_connection
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


@contextlib.contextmanager
def guarded(settings, deadline: float | None = None, cancelled=None):
    """Check every TCP connection this thread makes until the block ends. Yields the Guard."""
    previous = _active()
    guard = Guard(settings, deadline, cancelled)
    _state.guard = guard
    guard.start_watchdog()
    try:
        yield guard
    finally:
        guard.stop_watchdog()
        _state.guard = previous
