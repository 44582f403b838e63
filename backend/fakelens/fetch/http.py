"""Direct downloads over plain HTTP(S): redirects followed by hand, each hop checked by the netguard."""

from pathlib import Path
from urllib.parse import urljoin

import requests
import urllib3

from ..errors import FakeLensError
from .netguard import Guard, ascii_url, check_url
from .sniff import SNIFF_BYTES

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


class HttpSource:
    """An open HTTP response for a media URL, after redirects, with its first bytes read.

    Use as a context manager; call save() to stream the rest to a file under a byte cap.
    """

    def __init__(self, url: str, settings, guard: Guard, cancelled, cap: int, what: str):
        self.settings = settings
        self.guard = guard
        self.cancelled = cancelled
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc from the environment
        self.response = None
        self.final_url = url
        self.head = b""
        try:
            self._open(url, cap, what)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.response is not None:
            self.response.close()
        self.session.close()

    def _timeout(self):
        left = self.guard.remaining()
        if self.guard.timed_out or (left is not None and left <= 0):
            raise self.wall_error()
        read = self.settings.read_timeout_s if left is None else min(self.settings.read_timeout_s, left)
        return (self.settings.connect_timeout_s, read)

    def _get(self, url: str):
        try:
            return self.session.get(url, stream=True, allow_redirects=False, timeout=self._timeout(),
                                    headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        except requests.RequestException as e:
            raise self.error(e, url) from None
        except ValueError:   # requests parses a redirect's Location even when not following it
            raise bad_redirect(url) from None

    def error(self, e: Exception, url: str) -> FakeLensError:
        """Turn a client error into a FakeLensError, preferring what the guard refused."""
        if self.guard.was_cancelled:   # the watchdog shut the connection: the check was cancelled
            return FakeLensError("cancelled", "the check was cancelled")
        if self.guard.blocked is not None:
            return self.guard.blocked
        if self.guard.timed_out:
            return self.wall_error()
        if isinstance(e, (requests.Timeout, TimeoutError)) or "timed out" in str(e):
            return FakeLensError("fetch_timeout", f"the server at {url} did not answer in time")
        if isinstance(e, (urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError)):
            # a gzip or deflate stream that is broken, or packed more times over than urllib3 unpacks
            return FakeLensError("fetch_failed", f"could not download {url}: the server packed it "
                                                 "(Content-Encoding) in a way FakeLens cannot unpack")
        if isinstance(e, requests.exceptions.InvalidURL):
            return FakeLensError("bad_url", f"could not download {url}: not a valid address")
        if isinstance(e, urllib3.exceptions.ProtocolError):
            return FakeLensError("fetch_failed", f"the download of {url} ended early")
        if isinstance(e, requests.exceptions.SSLError):
            return FakeLensError("fetch_failed", f"could not download {url}: the secure connection (TLS) failed")
        if isinstance(e, requests.ConnectionError):
            return FakeLensError("fetch_failed", f"could not download {url}: the connection failed")
        return FakeLensError("fetch_failed", f"could not download {url}: {type(e).__name__}")

    def _open(self, url: str, cap: int, what: str):
        asked = url
        visited = []
        for hop in range(MAX_REDIRECTS + 1):
            url = ascii_url(url)   # the host fetched as check_url checks it (☃.net: requests refused it)
            try:
                check_url(url, self.settings)
            except FakeLensError as exc:
                if not hop:
                    raise
                # named as a redirect: "10.1.2.3 is a private address" of an address the user never typed
                raise FakeLensError(exc.code, f"{asked} redirected to {url}, refused: {exc.message}") from None
            response = self._get(url)
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                visited.append(url)
                try:
                    url = urljoin(url, location)
                except ValueError:
                    raise bad_redirect(url) from None
                continue
            self.response, self.final_url = response, url
            if response.status_code != 200:
                raise FakeLensError("fetch_failed", f"the server answered HTTP {response.status_code} for {url}")
            self.check_size(cap, what)  # a too-large Content-Length is refused before reading the body
            self.head = self._read_head()
            return
        # (a server may set a cookie and send a browser back to the same address: only past the limit a loop)
        looped = len(set(visited + [ascii_url(url)])) <= len(visited)
        raise RedirectRefused(redirect_loop(asked) if looped else too_many_redirects(asked))

    @property
    def content_type(self) -> str:
        return self.response.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def content_length(self) -> int | None:
        try:
            return int(self.response.headers["Content-Length"])
        except (KeyError, ValueError):
            return None

    def _read(self) -> bytes:
        if self.cancelled():
            raise FakeLensError("cancelled", "the check was cancelled")
        self._timeout()  # raises once the wall-time cap is spent
        try:
            # read1: whatever has arrived, so a trickling server cannot hold us past the wall cap
            data = self.response.raw.read1(CHUNK, decode_content=True)
        except Exception as e:  # urllib3 / socket errors, all mapped to a plain message
            raise self.error(e, self.final_url) from None
        if self.guard.was_cancelled:   # the watchdog shut the connection: the end is not a real end
            raise FakeLensError("cancelled", "the check was cancelled")
        if self.guard.timed_out:
            raise self.wall_error()
        return data

    def wall_error(self) -> FakeLensError:
        return FakeLensError("fetch_timeout", f"the download took longer than {self.settings.fetch_wall_s:g} s")

    def _read_head(self) -> bytes:
        head = b""
        while len(head) < SNIFF_BYTES:
            chunk = self._read()
            if not chunk:
                break
            head += chunk
        return head

    def check_size(self, cap: int, what: str):
        length = self.content_length
        if length is not None and length > cap:
            raise FakeLensError("too_large", f"the {what} is {mb(length)}, more than the {mb(cap)} limit")

    def save(self, path: Path, cap: int, what: str, progress) -> int:
        """Write the whole body to `path`; FakeLensError("too_large") past `cap` bytes."""
        self.check_size(cap, what)
        total = self.content_length
        size = len(self.head)
        with open(path, "wb") as out:
            chunk = self.head
            while chunk:
                if size > cap:
                    raise FakeLensError("too_large", f"the {what} is more than the {mb(cap)} limit")
                out.write(chunk)
                chunk = self._read()
                size += len(chunk)
                if total:
                    progress(min(self._received(size) / total, 1.0))
        received = self._received(size)
        if total is not None and received < total:
            raise FakeLensError("fetch_failed", f"the download ended early ({received} of {total} bytes)")
        return size

    def _received(self, unpacked: int) -> int:
        """Bytes come off the connection, which Content-Length counts: from a server that packed the
        file anyway (gzip, though asked for none), not the unpacked ones (a PNG packs to more than itself)."""
        encoding = self.response.headers.get("Content-Encoding", "").strip().lower()
        return self.response.raw.tell() if encoding not in ("", "identity") else unpacked


class RedirectRefused(FakeLensError):
    """More redirects than MAX_REDIRECTS, or a loop: "fetch_failed", told apart from a server that refused
    the request, which yt-dlp may ask again in its own way (its own redirects are capped the same)."""

    def __init__(self, message: str):
        super().__init__("fetch_failed", message)


def too_many_redirects(url: str) -> str:
    return f"more than {MAX_REDIRECTS} redirects from {url}"


def redirect_loop(url: str) -> str:
    return f"the server redirects {url} in a loop"


def bad_redirect(url: str) -> FakeLensError:
    return FakeLensError("fetch_failed", f"the server at {url} redirected to an address that is not valid")


def mb(n: float) -> str:
    """Bytes in words for messages (binary units, as the settings are written)."""
    if n < 2**20:
        return f"{n / 2**10:.0f} KB"
    return f"{n / 2**20:.1f} MB".replace(".0 MB", " MB") if n < 2**30 else f"{n / 2**30:.1f} GB"


def empty_download(where: str) -> FakeLensError:
    """A download that brought nothing: said as such (as an empty file is, "undecodable"), not as a
    format to convert."""
    return FakeLensError("undecodable", f"the download of {where} was empty (0 bytes): the server sent no data")
