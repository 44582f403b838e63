"""Where `fakelens serve` keeps the temporary copies of request bodies: work/spool in the data folder.

Before an upload reaches uploads/, waitress buffers a request body over 512 kB (its inbuf_overflow)
to a temporary file, and Werkzeug copies a form's file over 500 kB to another as it parses the form,
both through Python's tempfile, so into TMPDIR. That is often a small RAM file system (Debian 13's
/tmp): a full one answered a 600 kB upload with a 500 and dropped a 3 MB one without an answer. In
the data folder they share the disk the upload is saved to anyway, and a disk too full for them
answers as one too full for the upload does: 503 storage_unavailable, naming the folder.
"""

import json
import tempfile
from http import HTTPStatus
from pathlib import Path

from .config import make_data_folder
from .errors import FakeLensError, storage_unavailable

SPOOL = Path("work") / "spool"


def spool_folder(home) -> Path:
    return Path(home) / SPOOL


def make_spool_folder(home) -> Path:
    """work/spool made where it is missing (a first start, a cleaner that removed work/), each the user's
    only as the data folder's other folders (a parent mkdir makes is not)."""
    folder = spool_folder(home)
    make_data_folder(folder.parent)
    make_data_folder(folder)
    return folder


def remove_leftovers(home):
    """Temporary files a server killed while receiving a body left (only where the file system cannot
    keep them nameless: Linux's usually can); called at start, before any request is read."""
    for left in spool_folder(home).glob(f"{tempfile.gettempprefix()}*"):
        if left.is_file() and not left.is_symlink():
            left.unlink(missing_ok=True)


def spool_in_data_folder(home, screen=None):
    """This process's temporary files go to the data folder's work/spool (waitress and Werkzeug make
    theirs with tempfile and no folder of their own). Returns the waitress request parser for
    serving.make_server: it answers a body it cannot buffer there with 503 storage_unavailable instead
    of closing the connection unanswered; and, given `screen` (headers, method, path → a FakeLensError
    or None: the API's Host, Origin and token checks), refuses a request with a body as soon as its
    headers are in, before it buffers the body (300 MB each, from anyone who can reach the port)."""
    tempfile.tempdir = str(make_spool_folder(home))
    return _parser_class(home, screen)


def _parser_class(home, screen):
    from waitress.parser import HTTPRequestParser
    from waitress.utilities import Error

    from .api.auth import cors_headers   # here: the api package imports jobs, which imports this module

    class ApiError(Error):
        """The API's own error, as JSON, from waitress itself (the app never sees the request)."""

        def __init__(self, body, code: int, reason: str, headers: dict | None = None):
            super().__init__(body)
            self.code, self.reason, self.headers = code, reason, headers or {}

        def to_response(self, ident=None):
            body = json.dumps({"error": self.body}, separators=(",", ":")).encode()   # as Flask writes it
            return (f"{self.code} {self.reason}",
                    [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *self.headers.items()], body)

    def as_json(error: Error) -> ApiError:
        """waitress's own refusal (a chunked body over the limit, a bad Content-Length, a header too
        large, an unknown Transfer-Encoding) in the API's shape: it was plain text."""
        if error.code in (413, 431):
            return ApiError({"code": "too_large", "message": f"{error.reason}: {error.body}"}, error.code, error.reason)
        # a 4xx for the caller's own mistake, as every other refusal: waitress answers an unknown
        # Transfer-Encoding with 501, a server's failing, under a code that said bad_request
        return ApiError({"code": "bad_request", "message": error.body}, 400, "Bad Request")

    class Parser(HTTPRequestParser):
        def __init__(self, adj):
            super().__init__(adj)
            try:   # removed meanwhile (a cleaner): made again before a body is buffered there
                make_spool_folder(home)
            except OSError:
                pass   # said when a body cannot be buffered there

        screened = False

        def received(self, data):
            try:
                consumed = super().received(data)
                if screen and self.headers_finished and not self.completed and not self.screened:
                    self.screened = True   # a body is to come: refused now, it is never read
                    try:
                        refused = screen(self.headers, self.command, self.path)
                    except FakeLensError as exc:   # the token file could not be made again (a read-only folder)
                        refused = exc
                    if refused is not None:
                        # with CORS as the app's answers, or our extension reads a network error, not the 401
                        self.error = ApiError(refused.to_dict(), refused.status, HTTPStatus(refused.status).phrase,
                                              cors_headers(self.headers.get("ORIGIN")))
                        self.completed = True
                        self.expect_continue = False   # no "100 Continue": the body is not asked for
            except OSError as exc:   # the body's temporary file cannot be written: a full or read-only disk
                self.error = ApiError(storage_unavailable(home, exc).to_dict(), 503, "Service Unavailable")
                self.completed = True
                self.close()   # what it holds on the disk freed now
                return len(data)
            if self.error is not None and not isinstance(self.error, ApiError):
                self.error = as_json(self.error)
            return consumed

        def close(self):
            try:
                super().close()
            except OSError:   # the buffered rest written out on closing, to the same full disk (closed all the same)
                pass

    return Parser
