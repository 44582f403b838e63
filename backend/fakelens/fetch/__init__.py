"""Media download: plain HTTP for direct files, yt-dlp for pages and video; netguard against SSRF.

    fetch(url, kind, settings, workdir) -> Fetched

kind "image": one direct HTTP download; the bytes must be an image.
kind "video" and "auto": a direct HTTP request first; an image or a video file is kept from it, a page
              or a stream manifest goes to yt-dlp (for "video" also what the direct request could not
              get: a site's extractor may know how to ask; not more than MAX_REDIRECTS redirects, nor a
              loop, which yt-dlp is held to as well).
What the file is comes from its magic bytes (sniff.py), never from its name or Content-Type.
Every connection runs under the netguard; on any error the files made here are removed.
"""

import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import FakeLensError
from .http import HttpSource, RedirectRefused, empty_download, mb
from .netguard import ascii_url, check_url, guarded
from .sniff import SNIFF_BYTES, sniff, unread_photo

__all__ = ["Fetched", "fetch", "sniff", "check_url"]

_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
        "image/bmp": ".bmp", "image/tiff": ".tif", "video/mp4": ".mp4", "video/quicktime": ".mov",
        "video/x-m4v": ".m4v", "video/webm": ".webm", "video/x-matroska": ".mkv",
        "video/x-msvideo": ".avi", "video/mp2t": ".ts", "video/x-flv": ".flv", "video/mpeg": ".mpg",
        "video/ogg": ".ogv"}


@dataclass
class Fetched:
    path: Path          # downloaded file inside workdir
    kind: str           # "image" | "video", sniffed from magic bytes
    mime: str           # e.g. image/jpeg, video/mp4, video/webm
    source_url: str     # the URL asked for
    final_url: str      # after redirects / extraction
    size: int
    page_videos: int = 1   # videos on the page asked for; the first that downloaded is this one


def fetch(url: str, kind: str, settings, workdir: Path,
          progress: Callable[[float], None] = lambda f: None,
          cancelled: Callable[[], bool] = lambda: False) -> Fetched:
    """Download the media at `url` into a new folder inside `workdir`, within the settings' limits."""
    if kind not in ("image", "video", "auto"):
        raise FakeLensError("bad_request", f"kind must be image, video or auto (got {kind!r})")
    deadline = time.monotonic() + settings.fetch_wall_s   # from the first name lookup on
    check_url(url, settings, deadline=deadline)
    outdir = Path(workdir) / f"fetch-{uuid.uuid4().hex[:12]}"
    outdir.mkdir(parents=True)
    try:
        with guarded(settings, deadline, cancelled) as guard:
            cap, what = ((settings.max_image_bytes, "image") if kind == "image"
                         else (max(settings.max_image_bytes, settings.max_video_bytes), "file"))
            try:
                src = HttpSource(url, settings, guard, cancelled, cap, what)
            except FakeLensError as e:
                left = guard.remaining()
                if (kind != "video" or e.code not in ("fetch_failed", "fetch_timeout") or isinstance(e, RedirectRefused)
                        or (left is not None and left <= 0)):
                    raise
                # a page may refuse or stall a plain request (an HTTP error, no answer) where yt-dlp's
                # extractor for its site knows how to ask: its own message then says what failed. Not
                # redirects past the limit or in a loop: yt-dlp would follow them as far again, or further
                return _video(url, settings, guard, outdir, progress, cancelled)
            with src:
                # said "is empty (0 bytes), not an image or a video" and "convert it"; a video page that sends
                # a plain request nothing still goes to yt-dlp, whose extractor may know how to ask
                if not src.head and kind != "video":
                    raise empty_download(src.final_url)
                found = sniff(src.head)
                if found and (found[0] == "image" or kind != "image"):
                    # a file: kept from this one request (yt-dlp would ask twice more, and a signed
                    # address may answer only once)
                    limit = settings.max_image_bytes if found[0] == "image" else settings.max_video_bytes
                    path = outdir / ("media" + _EXT.get(found[1], ""))
                    size = src.save(path, limit, found[0], progress)
                    return Fetched(path, found[0], found[1], url, src.final_url, size)
                if unread_photo(src.head):
                    raise _unread_photo(src.final_url, src.head)
                what = _describe(src.head, src.content_type, found)
                if kind == "image":
                    raise FakeLensError("unsupported_media", f"{src.final_url} is {what}, not an image")
                if kind == "auto" and not (found or _is_html(src.head, src.content_type) or _is_manifest(src.head)):
                    raise FakeLensError("unsupported_media", f"{src.final_url} is {what}, not an image or a video")
            # a page or a stream: yt-dlp takes it from here (limits, formats, HLS)
            return _video(url, settings, guard, outdir, progress, cancelled)
    except BaseException:
        shutil.rmtree(outdir, ignore_errors=True)
        raise


def _video(url, settings, guard, outdir, progress, cancelled) -> Fetched:
    from .isolated import run_download   # yt-dlp in a process of its own, which can be stopped

    # yt-dlp writes an international host name by IDNA 2003 ("faß" as "fass"): given it as checked
    path, media_url, page_videos = run_download(ascii_url(url), settings, outdir, guard.deadline, progress, cancelled)
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:   # the page's video, named as yt-dlp's other failures name it
        raise empty_download(f"the video at {media_url} (found on {url})" if media_url and media_url != url else url)
    found = sniff(head)
    if not found and unread_photo(head):
        raise _unread_photo(url, head)
    if not found:
        raise FakeLensError("unsupported_media", f"{url} is {_describe(head, '', None)}, not an image or a video")
    size = path.stat().st_size
    cap = settings.max_video_bytes if found[0] == "video" else settings.max_image_bytes
    if size > cap:
        raise FakeLensError("too_large", f"the {found[0]} is {mb(size)}, more than the {mb(cap)} limit")
    named = path.with_name("media" + _EXT.get(found[1], path.suffix))  # the name says what the bytes are
    if named != path:
        path = path.rename(named)
    progress(1.0)
    return Fetched(path, found[0], found[1], url, media_url, size, page_videos)


def _is_html(head: bytes, content_type: str) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<title")):
        return True
    return content_type in ("text/html", "application/xhtml+xml") and text.startswith(b"<")


def _is_manifest(head: bytes) -> bool:
    """An HLS playlist or a DASH manifest: yt-dlp's to fetch."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"#EXTM3U") or (text.startswith(b"<?xml") and b"<MPD" in head) or text.startswith(b"<MPD")


def _unread_photo(url: str, head: bytes) -> FakeLensError:
    """A HEIC, HEIF or AVIF photo, named (it read "binary data of a format FakeLens does not read")."""
    name = unread_photo(head)
    return FakeLensError("unsupported_media", f"{url} is {'an' if name == 'AVIF' else 'a'} {name} photo, which "
                         "FakeLens does not read: save it, export it as JPEG and check that copy")


def _describe(head: bytes, content_type: str, found) -> str:
    """A few words on what a download turned out to be, for error messages."""
    if found:
        return f"a {found[0]} ({found[1]})"
    if not head:
        return "empty (0 bytes)"
    if _is_html(head, content_type):
        return "an HTML page"
    if head.lstrip().startswith(b"#EXTM3U"):
        return "an HLS playlist"
    try:
        if b"\0" not in head:   # NUL bytes decode as UTF-8 but are no text
            head.decode("utf-8")
            return "a text file"
    except UnicodeDecodeError:
        pass
    return "binary data of a format FakeLens does not read"
