"""A small real HTTP server for tests, in a thread on 127.0.0.1.

    with MediaServer(folder) as srv:
        srv.url("/files/photo.jpg")

Routes:
  /files/NAME                 a file from `folder` (Content-Type from srv.types, else by extension)
  /nolength/NAME              the same file without Content-Length (the body ends when the connection closes)
  /redirect/N/NAME            a chain of N redirects ending at /files/NAME
  /short/NAME                 the file under a Content-Length twice its size: the body ends early
  /claims-400mb/NAME          the file's first 4 KB under a Content-Length of 400 MB, then silence
  /redirect-to?url=U          one 302 to any URL (private addresses, ftp:, file:, data:, broken bytes)
  /page/video.html            an HTML page with <video src=/files/clip.mp4>
  /page/og.html               an HTML page with only an og:video meta tag (clip.webm)
  /page/none.html             an HTML page without any media
  /page/script-video.html     a <video> whose file comes from getvideo.php (put it in the folder)
  /page/audio-first.html      an <audio> (song.mp3) before the <video> (clip.mp4)
  /page/audio-only.html       only an <audio> (song.mp3)
  /page/two-songs.html        two <audio> and no video
  /page/two-videos.html       two <video> (clip.mp4, clip.webm)
  /page/missing-first.html    a <video> whose file is gone (404), then clip.webm
  /page/missing.html          only the gone one
  /page/long.html             a page whose JSON-LD says its video (clip.mp4) lasts two hours
  /page/odd-address.html      two <video>: clip.mp4 by an address with a right-to-left override and
                              3,000 more characters, then clip.webm
  /page/odd-address-gone.html only a gone one (404) by such an address
  /page/silent-video.html     a <video> whose server never answers (/silent)
  /page/empty-video.html      a <video> of 0 bytes (empty.mp4: put it in the folder)
  /page/other-origin.html     a <video> (clip.mp4) from another origin: this server named localhost
  /page/redirected-N.html     a <video> whose address redirects N times (N of 5, 6, 25) to clip.mp4
  /page/looped-video.html     a <video> whose address redirects to itself (/loop)
  /page/short-video.html      a <video> whose server sends half the bytes it promised (/short/clip.mp4)
  /page/large-video.html      a <video> whose Content-Length says 400 MB (/claims-400mb/clip.mp4)
  /page/private-video.html    a <video> whose address redirects to 10.0.0.1
  /stall                      headers of a JPEG, a few bytes, then silence
  /silent                     accepts the request and never answers
  /trickle                    a JPEG a few bytes at a time, slower than any wall limit
  /trickle-page               an HTML page the same way (what yt-dlp reads before it finds a video)
  /huge                       claims Content-Length: 3 GB, sends a JPEG header, then silence
  /huge-video                 the same as video/mp4
  /bomb-page                  an HTML page, gzip-encoded: 64 KB on the wire, 64 MB unpacked
  /hangup                     reads the request and closes the connection without an answer
  /gzip/NAME                  the file gzip-encoded (as a server that ignores "Accept-Encoding: identity"),
                              its Content-Length the packed bytes
  /gzip-times/N/NAME          the file gzipped N times over, its Content-Encoding "gzip, gzip, …"
  /spin-page                  100 kB of "<video " with no ">": yt-dlp's embed patterns take minutes on it
  /parts.mpd                  a DASH manifest of 600 bytes whose timeline names 20 million segments
  /loop                       a 302 to itself, for ever
Every path asked for is kept in srv.seen, with its request headers in srv.heard.
"""

import functools
import gzip
import mimetypes
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"

TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".webm": "video/webm",
         ".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png", ".html": "text/html"}

PARTS_MPD = """<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S"
 profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period id="0" start="PT0S">
 <AdaptationSet mimeType="video/mp4" contentType="video">
  <SegmentTemplate timescale="1000" initialization="{base}/files/init.mp4" media="{base}/files/seg-$Time$.m4s">
   <SegmentTimeline><S t="0" d="1" r="20000000"/></SegmentTimeline></SegmentTemplate>
  <Representation id="v" codecs="avc1.42c01e" width="320" height="240" bandwidth="100000"/>
 </AdaptationSet></Period></MPD>"""

PAGES = {
    "video.html": '<!DOCTYPE html><html><head><title>A clip</title></head><body>'
                  '<h1>Watch</h1><video controls width="320" src="/files/clip.mp4"></video></body></html>',
    "og.html": '<!DOCTYPE html><html><head><title>Shared clip</title>'
               '<meta property="og:title" content="Shared clip">'
               '<meta property="og:video" content="{base}/files/clip.webm">'
               '<meta property="og:video:type" content="video/webm"></head>'
               '<body><p>Nothing else here.</p></body></html>',
    "long.html": '<!DOCTYPE html><html><head><title>Long</title><script type="application/ld+json">'
                 '{"@context": "https://schema.org", "@type": "VideoObject", "name": "A long film",'
                 ' "contentUrl": "{base}/files/clip.mp4", "duration": "PT2H0M0S",'
                 ' "uploadDate": "2024-01-01", "thumbnailUrl": "{base}/files/photo.jpg"}'
                 '</script></head><body><p>Two hours.</p></body></html>',
    "none.html": '<!DOCTYPE html><html><head><title>Text only</title></head><body><p>No media.</p></body></html>',
    "script-video.html": '<!DOCTYPE html><html><head><title>Served by a script</title></head><body>'
                         '<video controls src="/files/getvideo.php?id=3"></video></body></html>',
    "audio-only.html": '<!DOCTYPE html><html><head><title>A song</title></head><body>'
                       '<audio controls src="/files/song.mp3"></audio></body></html>',
    "two-songs.html": '<!DOCTYPE html><html><head><title>Two songs</title></head><body>'
                      '<audio controls src="/files/song.mp3"></audio><audio controls src="/files/song.mp3?b"></audio>'
                      '</body></html>',
    "two-videos.html": '<!DOCTYPE html><html><head><title>Two clips</title></head><body>'
                       '<video controls src="/files/clip.mp4"></video><video controls src="/files/clip.webm"></video>'
                       '</body></html>',
    "missing-first.html": '<!DOCTYPE html><html><head><title>A gone clip, then one</title></head><body>'
                          '<video controls src="/files/gone.mp4"></video><video controls src="/files/clip.webm"></video>'
                          '</body></html>',
    "missing.html": '<!DOCTYPE html><html><head><title>A gone clip</title></head><body>'
                    '<video controls src="/files/gone.mp4"></video></body></html>',
    "odd-address.html": '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Odd</title></head><body>'
                        '<video controls src="/files/clip.mp4?n=\u202eevil.exe&pad=' + "q" * 3000 + '"></video>'
                        '<video controls src="/files/clip.webm"></video></body></html>',
    "odd-address-gone.html": '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Odd</title></head><body>'
                             '<video controls src="/files/gone.mp4?n=\u202eevil.exe&pad=' + "q" * 3000 + '">'
                             '</video></body></html>',
    "silent-video.html": '<!DOCTYPE html><html><head><title>A silent clip</title></head><body>'
                         '<video controls src="/silent"></video></body></html>',
    "empty-video.html": '<!DOCTYPE html><html><head><title>An empty clip</title></head><body>'
                        '<video controls src="/files/empty.mp4"></video></body></html>',
    "other-origin.html": '<!DOCTYPE html><html><head><title>A clip from elsewhere</title></head><body>'
                         '<video controls src="{other}/files/clip.mp4"></video></body></html>',
    **{f"redirected-{n}.html": '<!DOCTYPE html><html><head><title>A clip, redirected</title></head><body>'
                               f'<video controls src="/redirect/{n}/clip.mp4"></video></body></html>' for n in (5, 6, 25)},
    "short-video.html": '<!DOCTYPE html><html><head><title>A clip cut short</title></head><body>'
                        '<video controls src="/short/clip.mp4"></video></body></html>',
    "large-video.html": '<!DOCTYPE html><html><head><title>A large clip</title></head><body>'
                        '<video controls src="/claims-400mb/clip.mp4"></video></body></html>',
    "private-video.html": '<!DOCTYPE html><html><head><title>A clip inside</title></head><body>'
                          '<video controls src="/redirect-to?url=http://10.0.0.1/clip.mp4"></video></body></html>',
    "looped-video.html": '<!DOCTYPE html><html><head><title>A clip in a loop</title></head><body>'
                         '<video controls src="/loop"></video></body></html>',
    "audio-first.html": '<!DOCTYPE html><html><head><title>A song, then a clip</title></head><body>'
                        '<audio controls src="/files/song.mp3"></audio>'
                        '<video controls src="/files/clip.mp4"></video></body></html>',
}


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(b"<!DOCTYPE html><html><body>" + b" " * (64 << 20))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        owner = self.server.owner
        owner.seen.append(self.path)
        owner.heard.append((self.path, dict(self.headers)))
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/files/"):
            return self._file(path[len("/files/"):])
        if path.startswith("/nolength/"):
            return self._file(path[len("/nolength/"):], length=False)
        if path.startswith("/redirect/"):
            _, _, n, name = path.split("/", 3)
            n = int(n)
            return self._redirect(f"/redirect/{n - 1}/{name}" if n > 1 else f"/files/{name}")
        if path.startswith(("/short/", "/claims-400mb/")):
            body = (self.server.owner.folder / path.split("/", 2)[2]).read_bytes()
            short = path.startswith("/short/")
            self._headers(200, "video/mp4", 2 * len(body) if short else 400 << 20)
            self.wfile.write(body if short else body[:4096])
            self.wfile.flush()
            if short:
                self.close_connection = True
                return None
            return self._hold()
        if path == "/redirect-to":
            # latin-1: a header carries bytes, so %FF sends the byte 0xFF (a Location no URL parser reads)
            return self._redirect(parse_qs(parts.query, encoding="latin-1")["url"][0])
        if path.startswith("/page/"):
            name = path[len("/page/"):]
            if name in PAGES:
                page = PAGES[name].replace("{base}", owner.base).replace("{other}", f"http://localhost:{owner.port}")
                return self._send(page.encode(), "text/html; charset=utf-8")
        if path in ("/stall", "/huge", "/huge-video"):
            length = 3_000_000_000 if path.startswith("/huge") else 100_000
            ctype = "video/mp4" if path == "/huge-video" else "image/jpeg"
            head = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00" if path == "/huge-video" else JPEG_HEAD
            self._headers(200, ctype, length)
            self.wfile.write(head)
            self.wfile.flush()
            return self._hold()
        if path == "/bomb-page":
            body = _bomb()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith("/gzip/"):
            file = self.server.owner.folder / path[len("/gzip/"):]
            body = gzip.compress(file.read_bytes())
            self._headers(200, TYPES.get(file.suffix, "application/octet-stream"), len(body), gzip=True)
            self.wfile.write(body)
            return
        if path.startswith("/gzip-times/"):
            _, _, n, name = path.split("/", 3)
            file = self.server.owner.folder / name
            body = file.read_bytes()
            for _ in range(int(n)):
                body = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(file.suffix, "application/octet-stream"))
            self.send_header("Content-Encoding", ", ".join(["gzip"] * int(n)))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/spin-page":
            return self._send(b"<!DOCTYPE html><html><body>" + b"<video " * 15000, "text/html")
        if path == "/parts.mpd":
            return self._send(PARTS_MPD.replace("{base}", owner.base).encode(), "application/dash+xml")
        if path == "/silent":
            return self._hold()
        if path == "/hangup":
            self.close_connection = True
            return None
        if path == "/loop":
            return self._redirect("/loop")
        if path in ("/trickle", "/trickle-page"):
            page = path == "/trickle-page"
            self._headers(200, "text/html" if page else "image/jpeg", 100_000)
            self.wfile.write(b"<!DOCTYPE html><html><head><title>slow</title>" if page else JPEG_HEAD)
            for _ in range(2000):
                if owner.stopping.wait(0.05):
                    return
                self.wfile.write(b"        " if page else b"\x00" * 8)
                self.wfile.flush()
            return
        self._send(b"not found\n", "text/plain", status=404)

    def _file(self, name: str, length: bool = True):
        file = (self.server.owner.folder / name).resolve()
        if self.server.owner.folder.resolve() not in file.parents or not file.is_file():
            return self._send(b"not found\n", "text/plain", status=404)
        ctype = self.server.owner.types.get(name) or TYPES.get(file.suffix) or \
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if not length:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(file.read_bytes())
            self.close_connection = True
            return
        self._send(file.read_bytes(), ctype)

    def _redirect(self, location: str):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _headers(self, status: int, ctype: str, length: int, gzip: bool = False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, body: bytes, ctype: str, status: int = 200):
        self._headers(status, ctype, len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def _hold(self):
        # silence until the test server stops (at most a minute): the client must give up first
        self.server.owner.stopping.wait(60)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: "MediaServer"

    def handle_error(self, request, client_address):
        # clients that hang up early (timeouts, refused downloads) are the point of several tests
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MediaServer:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.types: dict[str, str] = {}   # file name -> Content-Type to send (to lie about it)
        self.seen: list[str] = []
        self.heard: list[tuple[str, dict]] = []   # (path, request headers)
        self.stopping = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="test-media-server", daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> "MediaServer":
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

