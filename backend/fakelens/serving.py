"""`fakelens serve`'s WSGI server (waitress): where it listens.

Browsers resolve `localhost` to ::1 before 127.0.0.1, so the server holds [::1]:PORT as well as
127.0.0.1:PORT: a port left free there could be taken by any other program on the computer, which
would then receive the extension's token and media."""

import errno
import socket

from waitress.server import create_server

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


def make_server(app, port: int, **adjustments):
    """The waitress server on listen_sockets(port). Returns (server, addresses listened on)."""
    sockets = listen_sockets(port)
    try:
        server = create_server(app, sockets=sockets, **adjustments)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return server, [f"[{s.getsockname()[0]}]" if s.family == socket.AF_INET6 else s.getsockname()[0]
                    for s in sockets]
