"""Pairing token, Host-header allowlist and extension-only CORS."""

import hmac
import os
import secrets
import tempfile
import threading
from pathlib import Path

from flask import current_app, request

from ..config import make_data_folder
from ..errors import FakeLensError, storage_unavailable

TOKEN_FILE = "token"
EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://")
# set in a refused request's WSGI environ: `fakelens serve` (serving.py) answers it with
# "Connection: close" and closes the connection, so refused requests cannot hold its connections
CLOSE_CONNECTION = "fakelens.close_connection"


def token_path(home: Path) -> Path:
    return Path(home) / TOKEN_FILE


def ensure_token(home: Path, rotate: bool = False) -> str:
    """The pairing token, made on first use (or when its file is blank: an empty token would let
    an empty Authorization header in; or not ASCII text); the file is readable by its owner only (0600)."""
    path = token_path(home)
    if path.is_file() and not rotate:
        try:
            token = path.read_text(encoding="ascii").strip()
        except UnicodeDecodeError:   # bytes no token has (a made token is URL-safe ASCII): made anew
            token = ""
        if token:
            return token
    if path.is_dir():   # else os.replace below fails naming its temporary file, not the token's
        raise FakeLensError("storage_unavailable", f"{path} is a folder: move it aside (FakeLens writes the "
                            "pairing token there)")
    make_data_folder(path.parent)
    token = secrets.token_urlsafe(32)
    # a temporary file of its own (mkstemp: mode 0600): two writers at once (the server and
    # `fakelens token --rotate`) must not write into, or rename away, each other's
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-", suffix=".tmp")
    except OSError as exc:   # a read-only or full data folder: named, not the temporary file's name
        raise storage_unavailable(path.parent, exc, "the pairing token") from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise storage_unavailable(path.parent, exc, "the pairing token") from None
        raise
    return token


class PairingToken:
    """The token a running server expects. Its file is read again whenever it changes, so
    `fakelens token --rotate` takes effect at once: the new token works, the old one no longer."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self._lock = threading.Lock()   # request threads reload (or remake) the file one at a time
        self.value, self.stamp = None, ()   # () matches no file's stamp, nor a missing file's None
        self.current()

    @staticmethod
    def _stamp(st: os.stat_result):
        return st.st_mtime_ns, st.st_size, st.st_ino

    def current(self) -> str:
        with self._lock:
            try:
                stamp = self._stamp(token_path(self.home).stat())
            except OSError:
                stamp = None
            if stamp != self.stamp:
                made = ensure_token(self.home)   # a deleted or blank file gets a fresh token
                # value and stamp from the same open file: another writer (`fakelens token --rotate`)
                # may have replaced it since, and the server must hold what the file says
                try:
                    with open(token_path(self.home), encoding="ascii") as fh:
                        value, stamp = fh.read().strip(), self._stamp(os.fstat(fh.fileno()))
                except (OSError, UnicodeDecodeError):
                    value, stamp = "", None
                # gone or blanked again already: keep the one just made and look again next time
                self.value, self.stamp = (value, stamp) if value else (made, ())
            return self.value


def allowed_origin(origin: str | None) -> bool:
    return origin is None or origin.startswith(EXTENSION_SCHEMES)


HEALTH_PATH = "/api/v1/health"


def refusal(settings, token: "PairingToken", host: str, origin: str | None, method: str, path: str,
            authorization: str) -> FakeLensError | None:
    """Why a request is refused, or None: Host (DNS rebinding), Origin (only our extension), then the
    token. Asked by check_request for every request, and by `fakelens serve`'s request parser
    (spool.py) for one with a body as soon as its headers are in, before the body is buffered."""
    hosts = {f"127.0.0.1:{settings.port}", f"localhost:{settings.port}", f"[::1]:{settings.port}"}
    if settings.port == 80:   # the default port: browsers and Werkzeug leave it out of the Host
        hosts |= {"127.0.0.1", "localhost", "[::1]"}
    if host not in hosts:
        return FakeLensError("forbidden_host", f"Host '{host}' is not allowed; use http://127.0.0.1:{settings.port}")
    if not allowed_origin(origin):
        return FakeLensError("forbidden_origin", "only the FakeLens extension may call this server from a browser")
    if method == "OPTIONS" or path == HEALTH_PATH:
        return None
    scheme, _, given = authorization.partition(" ")
    expected = token.current()
    if (scheme.lower() != "bearer" or not expected
            or not hmac.compare_digest(given.strip().encode(), expected.encode())):
        what = "no token was sent" if not authorization else "the token is wrong"
        return FakeLensError("unauthorized", f"{what}: send 'Authorization: Bearer <token>' "
                             "with the token that `fakelens token` prints")
    return None


def check_request():
    """Runs before every request (see refusal). A request refused here closes its connection (a page
    can make many such, from many host names)."""
    refused = refusal(current_app.config["SETTINGS"], current_app.config["TOKEN"], request.host,
                      request.headers.get("Origin"), request.method, request.path,
                      request.headers.get("Authorization", ""))
    if refused is not None:
        request.environ[CLOSE_CONNECTION] = True
        raise refused


def cors_headers(origin: str | None) -> dict:
    """What lets our extension read an answer (needed where the browser has not granted it the host:
    Firefox asks the user for MV3 host permissions); Vary on every answer."""
    headers = {"Vary": "Origin"}
    if origin and origin.startswith(EXTENSION_SCHEMES):
        headers.update({"Access-Control-Allow-Origin": origin,
                        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
                        "Access-Control-Allow-Headers": "Authorization, Content-Type",
                        "Access-Control-Max-Age": "600"})
    return headers


def add_cors(response):
    response.headers.update(cors_headers(request.headers.get("Origin")))
    return response
