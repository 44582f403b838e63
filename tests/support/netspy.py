"""Watch every TCP connect in the process, and make sure none ever leaves for a non-test address.

    seen = spy_connects(monkeypatch)   # list of addresses passed to socket.connect, in any thread

Wraps socket.socket.connect on the outside of the netguard's own wrapper, so a test sees
whether the guard refused *before* any connect call. Non-loopback addresses are checked by
the guard (when one is active) and then stopped here whatever happens: even with a broken
guard no packet is sent to a private address.
"""

import socket

from fakelens.fetch import netguard

LOOPBACK = ("127.0.0.1", "::1")


def spy_connects(monkeypatch) -> list:
    seen = []
    inner = socket.socket.connect

    def spy(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        seen.append(host)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            netguard._check_sockaddr(sock, address)  # the guard's own refusal, if it is active
            raise ConnectionRefusedError(f"test spy stopped a connection to {host}")
        return inner(sock, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen
