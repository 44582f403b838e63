"""`fakelens serve`'s WSGI server (waitress): where it listens, and what its connections may cost.

Browsers resolve `localhost` to ::1 before 127.0.0.1, so the server holds [::1]:PORT as well as
127.0.0.1:PORT: a port left free there could be taken by any other program on the computer, which
would then receive the extension's token and media. Requests refused by their Host, Origin or token
close their connection, so that a page (or a program) cannot fill waitress's connections with them; so
does a request that trickles in, and answers left unread."""

import errno
import functools
import socket
import time

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import WSGITask

from .api.auth import CLOSE_CONNECTION

CONNECTIONS = 500   # waitress's default is 100
# An idle connection (nothing received or sent for this long, and no request being answered) is
# closed. waitress never times out a connection whose request is being answered (a check's ?wait=,
# up to 30 s, is not cut), nor an upload still sending: only one silent for the whole time, which
# from this computer's own browser or curl is a client that has stopped. waitress looks every
# CLEANUP_S, so an idle connection goes 15 to 20 s after its last byte (FakeLens set 60 s, then 10,
# before; waitress's own defaults are 120 s and 30).
CHANNEL_TIMEOUT_S = 15
CLEANUP_S = 5
# A request must come whole in time, whatever it trickles: waitress's idle timeout counts from the last
# byte, so a program sending one header line every few seconds (no token needed) kept a connection for
# ever, and 500 such kept the extension out. Its headers within HEADERS_DEADLINE_S of its first byte,
# its body within REQUEST_DEADLINE_S (from this computer the largest upload takes seconds).
HEADERS_DEADLINE_S = 10
REQUEST_DEADLINE_S = 120
IPV6_MISSING = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)


class CannotListen(Exception):
    def __init__(self, address: str, error: OSError):
        super().__init__(address, error)
        self.address, self.error = address, error


def _bound(family, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):   # Windows: SO_REUSEADDR there would let another take the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:   # a restart right after a stop is not refused for the old connections' TIME_WAIT, as waitress does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def listen_sockets(port: int) -> list[socket.socket]:
    """127.0.0.1:PORT and [::1]:PORT, bound; [::1] left out only where this computer has no IPv6
    loopback (then localhost can only be 127.0.0.1 here). CannotListen names the address refused."""
    try:
        sockets = [_bound(socket.AF_INET, "127.0.0.1", port)]
    except OSError as exc:
        raise CannotListen(f"127.0.0.1:{port}", exc) from exc
    if not socket.has_ipv6:
        return sockets
    try:
        sockets.append(_bound(socket.AF_INET6, "::1", port))
    except OSError as exc:
        if exc.errno not in IPV6_MISSING:
            sockets[0].close()
            raise CannotListen(f"[::1]:{port}", exc) from exc
    return sockets


def file_limit() -> int | None:
    """The most files this process may open, raised to 1024 where it is lower and may be (macOS
    gives 256); None where there is no such limit (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1024:
        want = 1024 if hard == resource.RLIM_INFINITY else min(hard, 1024)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (OSError, ValueError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def connection_limit(files: int | None) -> int:
    """CONNECTIONS, or fewer where the file limit leaves too few files for them: each connection
    receiving a large body holds a second file (its spool file, spool.py), and 256 are kept for the
    rest of the server (the database, models, downloads, yt-dlp's pipes). At 1024 files: 384."""
    if files is None:
        return CONNECTIONS   # Windows: select() there takes 512 sockets, the listening ones included
    return min(CONNECTIONS, max(16, (files - 256) // 2))


class _Task(WSGITask):
    def build_response_header(self):
        # waitress refuses a Connection header from the app (hop-by-hop); the app marks the request
        # instead, and it is answered as one whose client asked to close: "Connection: close", then closed
        if self.environ is not None and self.environ.get(CLOSE_CONNECTION):
            self.request.headers["CONNECTION"] = "close"
        return super().build_response_header()


class _Channel(HTTPChannel):
    task_class = _Task
    reading = None   # (the request being read, the time its first byte came)

    def received(self, data):
        answer = super().received(data)
        if self.request is not None and (self.reading is None or self.reading[0] is not self.request):
            self.reading = (self.request, time.time())
        return answer

    def overdue(self, now: float) -> bool:
        """A request not come whole in time (the deadlines above), or answers the client has read nothing
        of for CHANNEL_TIMEOUT_S: the thread writing them waits for the client for ever once 16 MB are
        unread (requests sent one after another, none read: 16 such connections held every thread)."""
        request, (reading, since) = self.request, self.reading or (None, now)
        if request is not None and request is reading and not request.completed and (
                now - since > (REQUEST_DEADLINE_S if request.headers_finished else HEADERS_DEADLINE_S)):
            return True
        return bool(self.requests) and self.total_outbufs_len > 0 and now - self.last_activity > CHANNEL_TIMEOUT_S


def _maintenance(server, now: float) -> None:
    """waitress's own (an idle connection closed), and a connection overdue closed too."""
    type(server).maintenance(server, now)
    for channel in list(server.active_channels.values()):
        if isinstance(channel, _Channel) and channel.overdue(now):
            # at once (will_close waits for the socket to take more bytes, which a client not reading
            # never lets it); a thread waiting to write is woken, and stops
            channel.handle_close()


def make_server(app, port: int, parser_class=None, **adjustments):
    """The waitress server on listen_sockets(port), its connections reading requests with `parser_class`
    (spool.py's) where one is given. Returns (server, addresses listened on)."""
    sockets = listen_sockets(port)
    sockmap = {}
    try:
        server = create_server(app, map=sockmap, sockets=sockets, connection_limit=connection_limit(file_limit()),
                               channel_timeout=CHANNEL_TIMEOUT_S, cleanup_interval=CLEANUP_S,
                               asyncore_use_poll=True,   # select() fails on a file number over 1023
                               **adjustments)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    channel = _Channel if parser_class is None else type("_Channel", (_Channel,), {"parser_class": parser_class})
    for dispatcher in sockmap.values():   # one server per address listened on
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = channel
            dispatcher.maintenance = functools.partial(_maintenance, dispatcher)
    return server, [f"[{s.getsockname()[0]}]" if s.family == socket.AF_INET6 else s.getsockname()[0]
                    for s in sockets]
