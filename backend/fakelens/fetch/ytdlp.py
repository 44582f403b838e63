"""Pages and videos through the yt-dlp Python API.

ydl_options() is the one place the download policy lives: a format whose shorter side is at most
settings.max_video_height (else the smallest offered) that needs no ffmpeg (one file with video,
muxed or video-only: we only need frames, so nothing is merged or post-processed), the page's
first item that has video and downloads (the next is tried after an HTTP error), no playlists, no
cookies, no proxies, no retries that would multiply timeouts, fragments on this thread so
the netguard (thread-local) sees every connection. Byte, wall-time and cancel limits are
enforced in a progress hook, because yt-dlp's max_filesize ignores responses without a
Content-Length. A page or manifest yt-dlp reads whole is capped at MAX_PAGE_BYTES as it is
decompressed (a small gzip body can unpack to gigabytes). Redirects, for which yt-dlp has no option,
are held to the direct download's MAX_REDIRECTS by _cap_redirects, each target checked before it is
followed.
"""

import logging
import os
import re
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..errors import FULL_DISK, FakeLensError, storage_unavailable
from ..provenance.text import plain
from .http import MAX_REDIRECTS, empty_download, mb, redirect_loop, too_many_redirects
from .netguard import Guard, check_url

# protocols yt-dlp can only fetch through ffmpeg or other external programs
_NEEDS_FFMPEG = "[protocol!*=rtmp][protocol!=rtsp][protocol!=mms][protocol!=f4m][protocol!=ism][protocol!*=websocket]"
MAX_PAGE_BYTES = 16 * 1024 * 1024   # a web page or stream manifest; real ones are well under 2 MB
PAGE_ITEMS = 10   # a page's media looked at: its first video that downloads is checked
# a page without a video: most often an article whose pictures the user meant, or one whose video plays
# in an embedded player (another page, in a frame, which is not followed)
NO_VIDEO = ("no video found on the page (a web page's images are checked from the page itself: open it and "
            "use the toolbar button; a video playing in an embedded player: right-click the player and check it)")
SOUND_ONLY = "only sound was found there, no video: there is no face to check"


class _Stop(Exception):
    """Raised from the progress hook to abort a download; the reason is kept on the Download."""


class _Logger:
    """Keeps yt-dlp quiet; remembers its errors and warnings for our messages."""

    def __init__(self):
        self.messages: list[str] = []

    def debug(self, msg):
        if "max-filesize" in msg:  # yt-dlp's own Content-Length check skips the file quietly
            self.messages.append(msg)

    def info(self, msg):
        pass

    def warning(self, msg):
        self.messages.append(msg)

    def error(self, msg):
        self.messages.append(msg)


def _sound_only(info: dict) -> bool:
    return all(f.get("vcodec") == "none" for f in info.get("formats") or [info])


def _allowed_extensions() -> frozenset | None:
    """The file extensions yt-dlp will write (its guard against planted executables); None if unknown."""
    try:
        from yt_dlp.utils._utils import _UnsafeExtensionError
        return frozenset(_UnsafeExtensionError.ALLOWED_EXTENSIONS)
    except (ImportError, AttributeError):
        return None


def ydl_options(settings, outdir: Path, hook, logger) -> dict:
    h = int(settings.max_video_height)
    return {
        # one file that has video, never two formats merged, ranked by the sort: the largest whose
        # shorter side is at most h ("res" is the smaller of width and height: a filter on height took a
        # phone's portrait video at 360x640 beside its 720x1280), else the smallest above (a stream
        # offered in 1080p only), H.264 preferred (decodes fast everywhere); byte and pixel limits still hold
        "format": f"bv*{_NEEDS_FFMPEG}",
        "format_sort": [f"res:{h}", "vcodec:h264", "proto:https"],
        "check_formats": False,
        "outtmpl": {"default": str(outdir / "media.%(ext)s")},
        "paths": {"home": str(outdir), "temp": str(outdir)},
        "restrictfilenames": True,
        "overwrites": True,
        "updatetime": False,
        "noplaylist": True,
        "playlist_items": f"1:{PAGE_ITEMS}",   # a page's first media with video (Download._skip_sound passes over sound)
        "cachedir": False,
        "cookiefile": None,
        "proxy": "",  # direct connections only: the netguard checks the real peer
        "max_filesize": settings.max_video_bytes,  # by Content-Length; the hook counts the rest
        "socket_timeout": settings.read_timeout_s,
        "retries": 0,
        "fragment_retries": 1,
        "extractor_retries": 0,
        "file_access_retries": 0,
        "skip_unavailable_fragments": False,
        "concurrent_fragment_downloads": 1,  # fragments stay on the guarded thread
        "hls_prefer_native": True,
        "external_downloader": {"default": "native"},
        # yt-dlp still hands some HLS streams (SAMPLE-AES, or AES-128 without pycryptodomex) to an
        # ffmpeg process, which would fetch keys and segments outside the netguard and every limit:
        # with no ffmpeg to find, it refuses those instead
        "ffmpeg_location": "/nonexistent/fakelens-no-ffmpeg",
        "fixup": "never",
        "postprocessors": [],
        "geo_bypass": False,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": "never",
        "logger": logger,
        "progress_hooks": [hook],
    }


class Download:
    """One yt-dlp download into `outdir`, under the settings' limits."""

    def __init__(self, url: str, settings, guard: Guard, outdir: Path, progress, cancelled):
        self.url, self.settings, self.guard, self.outdir = url, settings, guard, outdir
        self.progress, self.cancelled = progress, cancelled
        self.stop_reason: FakeLensError | None = None
        self.skipped_sound = False   # a sound-only item was passed over
        self.page_videos = 1   # how many videos the page offered (the first that downloads is checked)
        self.media_url: str | None = None   # the video being downloaded, when not self.url
        self._chains: dict[str, str] = {}   # a redirect's target -> the address its chain began at
        self.logger = _Logger()

    def _stop(self, error: FakeLensError):
        self.stop_reason = error
        raise _Stop(error.message)

    def _hook(self, d: dict):
        if self.cancelled():
            self._stop(FakeLensError("cancelled", "the check was cancelled"))
        left = self.guard.remaining()
        if left is not None and left <= 0:
            self._stop(FakeLensError("fetch_timeout", f"the download took longer than {self.settings.fetch_wall_s:g} s"))
        cap = self.settings.max_video_bytes
        done = d.get("downloaded_bytes") or 0
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        if (d.get("total_bytes") or 0) > cap:   # the size a Content-Length said, as the direct download says it
            self._stop(FakeLensError("too_large", f"the video is {mb(d['total_bytes'])}, more than the {mb(cap)} limit"))
        if done > cap:
            self._stop(FakeLensError("too_large", f"the video is more than the {mb(cap)} limit"))
        if d.get("status") == "downloading":
            if d.get("fragment_count"):
                self.progress(min((d.get("fragment_index") or 0) / d["fragment_count"], 1.0))
            elif total:
                self.progress(min(done / total, 1.0))

    def _capped(self, urlopen):
        """yt-dlp's urlopen, with whole-body reads (pages, manifests) stopped past MAX_PAGE_BYTES.
        Reads in blocks (the media itself) pass through: the progress hook counts those."""
        def open_capped(req):
            response = urlopen(req)
            # a range from byte 0 answered whole is fine (yt-dlp's chunked downloads handle it)
            start = re.match(r"bytes=(\d+)-", ((getattr(req, "headers", None) or {}).get("Range") or "").replace(" ", ""))
            if start and int(start.group(1)) > 0 and getattr(response, "status", 206) == 200:
                # a part of a file asked for (HLS byte ranges), the whole file sent: joined, the parts
                # would be copies of one another, and the wrong video checked without a word
                response.close()
                self._stop(FakeLensError("fetch_failed", f"the server of {plain(self.url)} ignored a request for part "
                                                         "of a file (a byte range), so the video cannot be put together"))
            read = response.read

            def read_capped(amt=None):
                if amt is not None and amt >= 0:
                    return read(amt)
                parts, total = [], 0
                while part := read(1 << 16):
                    total += len(part)
                    if total > MAX_PAGE_BYTES:
                        self._stop(FakeLensError("too_large", f"the page at {plain(self.url)} is larger than "
                                                              f"{mb(MAX_PAGE_BYTES)}"))
                    parts.append(part)
                return b"".join(parts)

            response.read = read_capped
            return response
        return open_capped

    def _redirected(self, response, *args, **kwargs):
        """A requests session's response hook: a redirect's target is checked before it is followed, as
        the direct download checks each hop, so a refusal names the redirect ("X redirected to 10.0.0.1,
        refused: …"), where the connection's guard could name only the address."""
        if not response.is_redirect:
            return response
        try:
            target = urljoin(response.url, response.headers.get("Location") or "")
        except ValueError:
            return response   # requests says what is wrong with it
        start = self._chains.pop(response.url, response.url)   # the address this chain of redirects began at
        self._chains[target] = start
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            return response   # requests refuses it ("the server redirected to a URL that is not http or https")
        try:
            check_url(target, self.settings)
        except FakeLensError as exc:
            if exc.code != "blocked_address":
                return response   # a name not found, a slow lookup: the connection says so, as before
            response.close()
            named = self._where() if start in (self.url, self.media_url) else plain(start)
            self._stop(FakeLensError(exc.code, f"{named} redirected to {plain(target)}, refused: {exc.message}"))
        return response

    def _where(self) -> str:
        """The address a message names: a page's video that fails is named, not the page."""
        if self.media_url and self.media_url != self.url:
            return f"the video at {plain(self.media_url)} (found on {plain(self.url)})"
        return plain(self.url)

    def run(self) -> tuple[Path, str]:
        """Download; returns (file, final media URL). On a page of several videos the first that
        downloads is checked (page_videos says how many there were)."""
        import yt_dlp  # slow import, only when a page or video is fetched

        opts = ydl_options(self.settings, self.outdir, self._hook, self.logger)
        opts["match_filter"] = self._skip_sound
        try:
            with yt_dlp.YoutubeDL(opts) as ydl:
                ydl.urlopen = self._capped(ydl.urlopen)
                _cap_redirects(ydl, self._redirected)
                info = ydl.extract_info(self.url, download=False)
                entries = self._entries(info)
                for n, entry in enumerate(entries):
                    entry = self._check(entry)
                    try:
                        result = ydl.process_ie_result(entry, download=True)
                        break
                    except FakeLensError:
                        raise
                    except Exception as e:
                        error = self._error(e)
                        # a page's video its server would not give (an HTTP error): try the page's next one
                        if n + 1 == len(entries) or not re.match(r"the server answered HTTP", error.message):
                            raise error from None
                        self.logger.messages.clear()
        except FakeLensError:
            raise
        except Exception as e:  # yt-dlp wraps everything in its own errors; ours are kept aside
            raise self._error(e) from None
        if self.guard.was_cancelled:   # the watchdog cut a read short: whatever arrived is incomplete
            raise FakeLensError("cancelled", "the check was cancelled")
        if self.guard.timed_out:
            raise FakeLensError("fetch_timeout", f"the download took longer than {self.settings.fetch_wall_s:g} s")
        path = self._output(result)
        return path, entry.get("url") or self.url

    def _skip_sound(self, info: dict, incomplete: bool = False) -> str | None:
        """yt-dlp's match_filter: None takes the item, a reason skips it (sound only, remembered)."""
        if _sound_only(info):
            self.skipped_sound = True
            return "sound only"
        return None

    def _entries(self, info: dict) -> list[dict]:
        """The page's videos, in page order (one for a video URL); the sound-only ones were skipped."""
        entries = [info]
        while entries[0].get("_type") == "playlist":
            entries = [e for e in entries[0].get("entries") or [] if e]
            if not entries:
                raise FakeLensError("fetch_failed", SOUND_ONLY if self.skipped_sound else NO_VIDEO)
        self.page_videos = len(entries)
        return entries

    def _check(self, entry: dict) -> dict:
        """Limits we can judge before downloading, and the guard on every media URL."""
        self.media_url = entry.get("url")
        if self.cancelled():
            raise FakeLensError("cancelled", "the check was cancelled")
        if entry.get("is_live"):
            raise FakeLensError("fetch_failed", "live streams cannot be checked")
        if _sound_only(entry):   # the page's one medium is sound (the match filter kept it from download)
            raise FakeLensError("fetch_failed", SOUND_ONLY)
        duration = entry.get("duration")
        if duration and duration > self.settings.max_duration_s:
            raise FakeLensError("too_long", f"the video is {duration / 60:.0f} min long, more than the "
                                            f"{self.settings.max_duration_s / 60:.0f} min limit")
        size = entry.get("filesize") or entry.get("filesize_approx")
        if size and size > self.settings.max_video_bytes:
            raise FakeLensError("too_large", f"the video is about {mb(size)}, more than the "
                                             f"{mb(self.settings.max_video_bytes)} limit")
        for fmt in entry.get("requested_formats") or [entry]:
            for key in ("url", "manifest_url", "fragment_base_url"):
                if fmt.get(key):
                    check_url(fmt[key], self.settings)
        # a video served from "getvideo.php" would be refused for its file name; FakeLens names the file
        # by its bytes anyway (sniff), so the name's extension is only a name
        allowed = _allowed_extensions()
        for fmt in [entry, *(entry.get("formats") or []), *(entry.get("requested_formats") or [])]:
            if allowed and str(fmt.get("ext") or "").lower() not in allowed:
                fmt["ext"] = "unknown_video"
            _referer_as_a_browser_sends_it(fmt)
        return entry

    def _output(self, result: dict) -> Path:
        for item in (result or {}).get("requested_downloads") or []:
            path = Path(item.get("filepath") or "")
            if path.is_file():
                return path
        files = [p for p in self.outdir.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl"))]
        if not files:
            if any("max-filesize" in m for m in self.logger.messages):
                raise _over_max_filesize(" ".join(self.logger.messages), self.settings.max_video_bytes)
            raise FakeLensError("fetch_failed", "the video could not be downloaded")
        return files[0]

    def _error(self, e: Exception) -> FakeLensError:
        if _out_of_memory(e):   # the process's memory cap (fetch/isolated.py) says what it means
            raise MemoryError from None
        if self.stop_reason is not None:
            return self.stop_reason
        if self.guard.was_cancelled:
            return FakeLensError("cancelled", "the check was cancelled")
        if self.guard.blocked is not None:
            return self.guard.blocked
        text = " ".join([str(e)] + self.logger.messages)
        # a page's video address is whatever the page wrote (a right-to-left override, 3,000 characters):
        # one plain line, cut, in words shown to the user; a page's video that fails is named, not the page
        found = self.media_url and self.media_url != self.url
        where = self._where()
        if "max-filesize" in text:  # yt-dlp refused a file or fragment by its Content-Length
            return _over_max_filesize(text, self.settings.max_video_bytes)
        if self.guard.timed_out:
            return FakeLensError("fetch_timeout", f"the download took longer than {self.settings.fetch_wall_s:g} s")
        if re.search(r"timed? ?out", text, re.I):
            return FakeLensError("fetch_timeout", f"the server {'of' if found else 'at'} {where} did not answer in time")
        if "No connection adapters were found" in text or "Unsupported url scheme" in text:
            return FakeLensError("bad_url", "the server redirected to a URL that is not http or https")
        if "Did not get any data blocks" in text:
            return empty_download(where)
        if "Unsupported URL" in text:
            return FakeLensError("fetch_failed", NO_VIDEO)
        if "Requested format is not available" in text or "No video formats found" in text:
            return FakeLensError("fetch_failed", "no video that can be downloaded without ffmpeg")
        if "ffmpeg could not be found" in text:   # ffmpeg_location above: never started, by design
            return FakeLensError("unsupported_media", "this video stream is encrypted in a way FakeLens does not "
                                                      "download (it would need ffmpeg, outside its network guard)")
        for number in FULL_DISK:   # the data folder filled up (or is read-only): not the video's fault
            if os.strerror(number) in text:
                return storage_unavailable(self.settings.home, OSError(number, os.strerror(number)), "the video")
        # in the words the direct download (fetch.http) uses, not requests' and ssl's own; what ended
        # the download (the error) first, then what yt-dlp logged on the way (a warning it got past)
        for said in (str(e), text):
            if "redirect loop" in said:   # yt-dlp's words for more redirects than _cap_redirects lets it follow
                chain = _redirects(e)
                looped = chain is None or len(set(chain)) < len(chain)
                return FakeLensError("fetch_failed", redirect_loop(where) if looped else too_many_redirects(where))
            status = re.search(r"HTTP Error (\d{3})", said)
            if status:
                return FakeLensError("fetch_failed", f"the server answered HTTP {status.group(1)} for {where}")
            # the server promised more bytes (Content-Length) than it sent: yt-dlp's IncompleteRead ("N bytes
            # read, M more expected") or ContentTooShortError ("Downloaded N bytes, expected M bytes")
            if re.search(r"\d+ bytes read, \d+ more expected|Downloaded \d+ bytes, expected \d+ bytes|"
                         r"content too short", said):
                return FakeLensError("fetch_failed", f"the download of {where} ended early")
            if "SSLError" in said or "[SSL:" in said or "CERTIFICATE_VERIFY_FAILED" in said:
                return FakeLensError("fetch_failed", f"could not download {where}: the secure connection (TLS) failed")
            if re.search(r"Connection (aborted|reset|refused)|RemoteDisconnected|TransportError|"
                         r"Failed to establish a new connection", said):
                return FakeLensError("fetch_failed", f"could not download {where}: the connection failed")
        return FakeLensError("fetch_failed", f"could not download the video: {_plain(str(e))}")


def _over_max_filesize(text: str, cap: int) -> FakeLensError:
    """yt-dlp's refusal of a file by its Content-Length ("File is larger than max-filesize (419430400 bytes
    > 314572800 bytes)"), with the size it said, as the direct download says it."""
    size = re.search(r"larger than max-filesize \((\d+) bytes", text)
    if size:
        return FakeLensError("too_large", f"the video is {mb(int(size.group(1)))}, more than the {mb(cap)} limit")
    return FakeLensError("too_large", f"the video is more than the {mb(cap)} limit")


def _cap_redirects(ydl, on_response) -> None:
    """yt-dlp's HTTP clients follow as many redirects as the direct download (fetch.http), MAX_REDIRECTS:
    a page's video, or an address the direct download gave up on, went through requests' 30 (urllib's 10).
    Their sessions are made on a first request, so each is capped as it is made; a requests session also
    shows `on_response` each response, redirects included, before it follows one. These are yt-dlp's
    private parts (pinned by no version): where a release has renamed them, nothing is capped and the
    download goes on, each connection still guarded by netguard, not refused for a name."""
    handlers = getattr(getattr(ydl, "_request_director", None), "handlers", None)
    handlers = handlers if isinstance(handlers, dict) else {}
    patched = 0
    for handler in handlers.values():
        make = getattr(handler, "_create_instance", None)
        if make is None:
            continue
        patched += 1

        def capped(*args, _make=make, **kwargs):
            instance = _make(*args, **kwargs)
            if hasattr(instance, "max_redirects"):   # a requests Session
                instance.max_redirects = MAX_REDIRECTS
                instance.hooks["response"].append(on_response)
            for step in getattr(instance, "handlers", ()):   # a urllib OpenerDirector
                if isinstance(step, urllib.request.HTTPRedirectHandler):
                    step.max_redirections = MAX_REDIRECTS
            return instance

        handler._create_instance = capped
    if not patched:
        logging.getLogger(__name__).warning("yt-dlp's request handlers were not found: its redirects are not capped")


def _causes(e: BaseException | None):
    """`e` and what it wraps: yt-dlp keeps the error underneath as `cause` or in `exc_info`."""
    for _ in range(10):
        if e is None:
            return
        yield e
        info = getattr(e, "exc_info", None)
        e = (getattr(e, "cause", None) if isinstance(getattr(e, "cause", None), BaseException) else None) or \
            e.__cause__ or e.__context__ or (info[1] if isinstance(info, tuple) and len(info) > 1 else None)


def _redirects(e: BaseException) -> list[str] | None:
    """The addresses a refused chain of redirects went through (requests keeps them), or None."""
    for cause in _causes(e):
        response = getattr(getattr(cause, "response", None), "_requests_response", None)
        if getattr(cause, "redirect_loop", False) and response is not None:
            try:
                onward = urljoin(response.url, response.headers.get("Location") or "")
            except ValueError:
                onward = ""
            # requests up to 2.32 lists the last response in its history too: it counts once, or a
            # straight chain of six read as a loop
            return [r.url for r in response.history if r is not response] + [response.url, onward]
    return None


def _out_of_memory(e: BaseException | None) -> bool:
    """A MemoryError, or one yt-dlp wrapped in its own errors (as their cause, or in exc_info)."""
    for _ in range(10):
        if e is None:
            return False
        if isinstance(e, MemoryError):
            return True
        info = getattr(e, "exc_info", None)
        e = e.__cause__ or e.__context__ or (info[1] if isinstance(info, tuple) and len(info) > 1 else None)
    return False


def _plain(msg: str) -> str:
    """yt-dlp's message without its 'ERROR: [generic] id:' prefixes and colour codes."""
    msg = re.sub(r"\x1b\[[0-9;]*m", "", msg)
    msg = re.sub(r"^(ERROR:\s*)?(\[[^\]]+\]\s*)?([^\s:]+:\s*)?", "", msg.strip())
    msg = re.sub(r";?\s*please report this issue on .*$", "", msg, flags=re.S)   # not ours to ask
    msg = re.sub(r"\s*\(caused by .*\)$", "", msg, flags=re.S)
    return msg[:300] or "unknown error"


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" if parts.scheme and parts.netloc else None


def _referer_as_a_browser_sends_it(fmt: dict) -> None:
    """A page's address goes to another site's server as its origin alone ("strict-origin-when-cross-
    origin", browsers' default): yt-dlp sent the whole address, its query too (a session, a token), as the
    Referer of a video embedded from another site."""
    headers = fmt.get("http_headers")
    if not isinstance(headers, dict) or not fmt.get("url"):
        return
    for key in [k for k in headers if k.lower() == "referer"]:
        origin = _origin(str(headers[key]))
        if origin is None:
            del headers[key]
        elif origin != _origin(fmt["url"]):
            headers[key] = origin + "/"
