"""fetch(): real downloads from a real HTTP server on 127.0.0.1, with the real yt-dlp.

Every refusal must carry the right FakeLensError code and a plain message, end within its
time limit, leave nothing behind in the work folder, and never connect to a private address.
"""

import os
import signal
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.fetch import Fetched, fetch
from fixtures.media.generate import generate
from support.httpd import MediaServer
from support.netspy import spy_connects

READ_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("fetch-media"))


@pytest.fixture(scope="module")
def server(media):
    with MediaServer(media) as srv:
        srv.types["page.jpg"] = "image/jpeg"    # HTML that says it is a JPEG
        srv.types["text.mp4"] = "video/mp4"     # text that says it is a video
        (media / "zeros.jpg").write_bytes(bytes(4096))   # NUL bytes (a gzip bomb decodes to such): not text
        (media / "song.mp3").write_bytes(b"ID3" + bytes(2000))   # sound only, on two pages
        srv.types["song.mp3"] = "audio/mpeg"
        (media / "empty.mp4").write_bytes(b"")
        yield srv


def make_settings(tmp_path, **changes) -> Settings:
    values = dict(home=tmp_path / "home", allow_loopback=True, connect_timeout_s=2.0,
                  read_timeout_s=READ_TIMEOUT, fetch_wall_s=20.0)
    values.update(changes)
    return Settings(**values)


@pytest.fixture
def net(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
def workdir(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def connects(monkeypatch):
    """Every address passed to socket.connect; a private one must never get there."""
    seen = spy_connects(monkeypatch)
    yield seen
    assert all(a == "127.0.0.1" for a in seen), f"a connection to a non-test address was attempted: {seen}"


def ok(url, kind, settings, workdir, **kw) -> Fetched:
    got = fetch(url, kind, settings, workdir, **kw)
    assert got.path.is_file() and workdir in got.path.parents
    assert got.size == got.path.stat().st_size > 0
    assert got.source_url == url
    return got


def refused(url, kind, settings, workdir, code, words, limit_s=5.0, **kw) -> FakeLensError:
    started = time.monotonic()
    with pytest.raises(FakeLensError) as e:
        fetch(url, kind, settings, workdir, **kw)
    took = time.monotonic() - started
    assert e.value.code == code, e.value.message
    assert words in e.value.message
    assert 400 <= e.value.status < 500
    assert took < limit_s, f"took {took:.1f} s"
    assert list(workdir.iterdir()) == [], "temporary files left behind"
    return e.value


def frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


# --- direct images ---

@pytest.mark.parametrize("kind", ["image", "auto"])
def test_direct_image(server, media, net, workdir, kind):
    got = ok(server.url("/files/photo.jpg"), kind, net, workdir)
    assert (got.kind, got.mime) == ("image", "image/jpeg")
    assert got.path.read_bytes() == (media / "photo.jpg").read_bytes()
    assert got.final_url == got.source_url


@pytest.mark.parametrize("kind", ["image", "auto", "video"])
def test_a_file_sent_gzip_encoded_though_none_was_asked_for_is_kept_whole(server, media, net, workdir, kind):
    """Content-Length counts the packed bytes: a PNG (already deflated: gzip makes it larger) was
    refused as "ended early" by comparing it with the unpacked ones."""
    noise = np.random.default_rng(0).integers(0, 256, (400, 600, 3), dtype=np.uint8)
    (media / "noise.png").write_bytes(cv2.imencode(".png", noise)[1].tobytes())
    got = ok(server.url("/gzip/noise.png"), kind, net, workdir)
    assert got.path.read_bytes() == (media / "noise.png").read_bytes()


def test_a_file_packed_more_times_over_than_unpacked_is_refused_in_words(server, net, workdir):
    """urllib3 unpacks at most 5 encodings: 8 gave "could not download …: DecodeError"."""
    refused(server.url("/gzip-times/8/photo.jpg"), "image", net, workdir, "fetch_failed",
            "packed it (Content-Encoding) in a way FakeLens cannot unpack")


def test_an_international_host_name_is_fetched_by_the_name_checked(server, media, net, workdir, monkeypatch):
    """A symbol's name ("☃.net", which browsers open) failed as "could not download …: InvalidURL"
    (requests' IDNA 2008 refuses it), and "faß" was checked as "fass" but fetched as "xn--fa-hia"."""
    from fakelens.fetch import netguard
    looked_up = []
    resolve = netguard.resolve

    def local(host, port, timeout=netguard.DNS_TIMEOUT_S):
        looked_up.append(host)
        return resolve("127.0.0.1", port, timeout)

    monkeypatch.setattr(netguard, "resolve", local)
    for host, wire in (("☃.test", "xn--n3h.test"), ("faß.test", "xn--fa-hia.test")):
        got = ok(server.url("/files/photo.jpg", host=host), "image", net, workdir)
        assert got.path.read_bytes() == (media / "photo.jpg").read_bytes()
        assert set(looked_up) == {wire}, looked_up
        looked_up.clear()


def test_image_through_redirects(server, media, net, workdir):
    got = ok(server.url("/redirect/3/photo.png"), "image", net, workdir)
    assert (got.kind, got.mime, got.path.suffix) == ("image", "image/png", ".png")
    assert got.final_url == server.url("/files/photo.png")
    assert got.path.read_bytes() == (media / "photo.png").read_bytes()


def test_image_kind_comes_from_bytes_not_name(server, media, net, workdir):
    server.types["photo.png"] = "image/jpeg"
    try:
        got = ok(server.url("/files/photo.png"), "image", net, workdir)
    finally:
        del server.types["photo.png"]
    assert got.mime == "image/png"


def test_image_without_content_length(server, media, net, workdir):
    got = ok(server.url("/nolength/photo.jpg"), "image", net, workdir)
    assert got.path.read_bytes() == (media / "photo.jpg").read_bytes()


def test_truncated_jpeg_is_returned(server, media, net, workdir):
    # decoding (and refusing) it is the media stage's job; fetch hands it over as it is
    got = ok(server.url("/files/truncated.jpg"), "image", net, workdir)
    assert got.mime == "image/jpeg" and got.size == (media / "truncated.jpg").stat().st_size


def test_image_progress_and_localhost(server, net, workdir):
    seen = []
    ok(server.url("/files/photo.jpg", host="localhost"), "image", net, workdir, progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


# --- yt-dlp: videos, pages, HLS ---

@pytest.mark.parametrize("name, mime", [("clip.mp4", "video/mp4"), ("clip.webm", "video/webm")])
def test_video_file(server, media, net, workdir, name, mime):
    seen = []
    got = ok(server.url(f"/files/{name}"), "video", net, workdir, progress=seen.append)
    assert (got.kind, got.mime) == ("video", mime)
    assert got.path.read_bytes() == (media / name).read_bytes()
    assert seen[-1] == 1.0


def test_video_in_auto_mode(server, media, net, workdir):
    got = ok(server.url("/files/clip.mp4"), "auto", net, workdir)
    assert got.mime == "video/mp4" and got.path.read_bytes() == (media / "clip.mp4").read_bytes()


def test_page_with_video_tag(server, media, net, workdir):
    got = ok(server.url("/page/video.html"), "auto", net, workdir)
    assert got.mime == "video/mp4"
    assert got.final_url == server.url("/files/clip.mp4")
    assert got.path.read_bytes() == (media / "clip.mp4").read_bytes()


def test_a_pages_address_goes_to_another_sites_video_server_as_its_origin_only(server, media, net, workdir):
    """yt-dlp sent the page's whole address, its query too (a session, a token), as the Referer to the
    server of a video embedded from another site; a browser sends that site the page's origin alone."""
    page = server.url("/page/other-origin.html?session=TOKEN123")
    before = len(server.heard)
    got = ok(page, "auto", net, workdir)
    assert got.path.read_bytes() == (media / "clip.mp4").read_bytes()
    sent = [headers.get("Referer") for path, headers in server.heard[before:] if path == "/files/clip.mp4"]
    assert sent and all(r in (None, server.url("/")) for r in sent), sent


def test_a_page_video_served_by_a_script_is_fetched(server, media, net, workdir):
    """<video src="getvideo.php?id=3">: yt-dlp refused the file name's extension ("unusual and will be
    skipped for safety reasons... report this issue"); the bytes decide what the file is."""
    (media / "getvideo.php").write_bytes((media / "clip.mp4").read_bytes())
    server.types["getvideo.php"] = "video/mp4"
    got = ok(server.url("/page/script-video.html"), "auto", net, workdir)
    assert got.mime == "video/mp4" and got.path.read_bytes() == (media / "clip.mp4").read_bytes()


def test_a_page_with_a_song_before_its_clip_checks_the_clip(server, media, net, workdir):
    """Only the page's first media element was tried: an <audio> before the <video> gave "no video of
    at most 720p that can be downloaded without ffmpeg"."""
    got = ok(server.url("/page/audio-first.html"), "auto", net, workdir)
    assert got.mime == "video/mp4" and got.path.read_bytes() == (media / "clip.mp4").read_bytes()


def test_a_stream_offered_only_above_720p_is_fetched_at_its_smallest(server, media, net, workdir):
    """An HLS master whose one variant is 1080p was refused ("no video of at most 720p..."), while the
    same file given as a direct URL was checked: the smallest video offered is taken instead."""
    (media / "hls" / "master1080.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,"
                                                    "RESOLUTION=1920x1080\nplaylist.m3u8\n")
    got = ok(server.url("/files/hls/master1080.m3u8"), "video", net, workdir)
    assert got.kind == "video" and frames(got.path) == 60


@pytest.mark.parametrize("sizes, wanted", [(("360x640", "720x1280", "1080x1920"), "720x1280"),
                                           (("640x360", "1280x720", "1920x1080"), "1280x720")])
def test_a_portrait_video_is_fetched_at_the_same_detail_as_a_landscape_one(server, media, net, workdir, sizes,
                                                                          wanted):
    """The format filter capped the height at 720: a phone's portrait video (720x1280 offered) came down
    at 360x640, half the detail of a landscape one, and real faces score higher the smaller they are."""
    variants = []
    for size in sizes:   # each variant its own copies of the segments, to tell which came down
        playlist = (media / "hls" / "playlist.m3u8").read_text()
        for n in range(3):
            (media / "hls" / f"{size}-seg{n}.ts").write_bytes((media / "hls" / f"seg{n}.ts").read_bytes())
            playlist = playlist.replace(f"seg{n}.ts", f"{size}-seg{n}.ts")
        (media / "hls" / f"v{size}.m3u8").write_text(playlist)
        variants += [f"#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION={size}", f"v{size}.m3u8"]
    master = f"master-{wanted}.m3u8"
    (media / "hls" / master).write_text("\n".join(["#EXTM3U", *variants, ""]))
    got = ok(server.url(f"/files/hls/{master}"), "video", net, workdir)
    assert got.kind == "video"
    fetched = [size for size in sizes if f"/files/hls/{size}-seg0.ts" in server.seen]
    assert fetched == [wanted], server.seen[-6:]


def test_byte_range_hls_from_a_server_that_ignores_ranges_is_refused(server, media, net, workdir):
    """HLS segments as byte ranges of one file, from a server that sends the whole file for each range:
    yt-dlp joined three copies of it (a 9 s video of 3 s) and the wrong video was checked silently."""
    segments = [(media / "hls" / f"seg{i}.ts").read_bytes() for i in range(3)]
    (media / "hls" / "all.ts").write_bytes(b"".join(segments))
    lines, offset = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-TARGETDURATION:1", "#EXT-X-MEDIA-SEQUENCE:0"], 0
    for segment in segments:
        lines += ["#EXTINF:0.667,", f"#EXT-X-BYTERANGE:{len(segment)}@{offset}", "all.ts"]
        offset += len(segment)
    (media / "hls" / "ranges.m3u8").write_text("\n".join(lines + ["#EXT-X-ENDLIST", ""]))
    refused(server.url("/files/hls/ranges.m3u8"), "video", net, workdir, "fetch_failed", "ignored a request for part")


def test_page_with_og_video(server, media, net, workdir):
    got = ok(server.url("/page/og.html"), "video", net, workdir)
    assert got.mime == "video/webm"
    assert got.path.read_bytes() == (media / "clip.webm").read_bytes()


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_hls_playlist(server, media, net, workdir, kind):
    got = ok(server.url("/files/hls/playlist.m3u8"), kind, net, workdir)
    assert (got.kind, got.mime, got.path.suffix) == ("video", "video/mp2t", ".ts")
    segments = b"".join((media / "hls" / f"seg{i}.ts").read_bytes() for i in range(3))
    assert got.path.read_bytes() == segments
    assert frames(got.path) == 60  # all three segments, decodable


def test_video_without_content_length_is_capped_in_the_hook(server, tmp_path, workdir):
    small = make_settings(tmp_path, max_video_bytes=20_000)  # clip.mp4 is ~59 KB
    refused(server.url("/nolength/clip.mp4"), "video", small, workdir, "too_large", "20 KB limit")


def test_hls_is_capped_across_fragments(server, tmp_path, workdir):
    small = make_settings(tmp_path, max_video_bytes=120_000)  # each segment ~50 KB, all three ~150 KB
    refused(server.url("/files/hls/playlist.m3u8"), "video", small, workdir, "too_large", "117 KB limit")


def test_duration_cap(server, tmp_path, workdir):
    short = make_settings(tmp_path, max_duration_s=600)
    refused(server.url("/page/long.html"), "auto", short, workdir, "too_long", "120 min long, more than the 10 min")


# --- bad input ---

@pytest.mark.parametrize("path, kind, code, words", [
    # an empty download said as one (as an empty file is), not "convert it to a format FakeLens reads"
    ("/files/empty.jpg", "image", "undecodable", "/files/empty.jpg was empty (0 bytes): the server sent no data"),
    ("/files/empty.jpg", "auto", "undecodable", "/files/empty.jpg was empty (0 bytes): the server sent no data"),
    ("/files/empty.jpg", "video", "undecodable", "/files/empty.jpg was empty (0 bytes): the server sent no data"),
    ("/files/page.jpg", "image", "unsupported_media", "is an HTML page, not an image"),
    ("/files/page.jpg", "auto", "fetch_failed", "no video found on the page (a web page's images are checked "
                                                "from the page itself: open it and use the toolbar button; a video "
                                                "playing in an embedded player: right-click the player and check it)"),
    ("/files/text.mp4", "video", "unsupported_media", "is a text file, not an image or a video"),
    ("/files/text.mp4", "auto", "unsupported_media", "is a text file, not an image or a video"),
    ("/files/zeros.jpg", "image", "unsupported_media", "is binary data of a format FakeLens does not read"),
    ("/files/clip.mp4", "image", "unsupported_media", "is a video (video/mp4), not an image"),
    ("/page/none.html", "auto", "fetch_failed", "no video found on the page"),
    ("/page/audio-only.html", "auto", "fetch_failed", "only sound was found there, no video"),
    ("/page/two-songs.html", "auto", "fetch_failed", "only sound was found there, no video"),
    ("/files/missing.jpg", "image", "fetch_failed", "HTTP 404"),
    ("/files/missing.mp4", "video", "fetch_failed", "HTTP 404"),
    ("/redirect/6/photo.jpg", "image", "fetch_failed", "more than 5 redirects"),
    # the video path (yt-dlp) in the same plain words as the direct download, not requests' and ssl's
    ("/hangup", "image", "fetch_failed", "/hangup: the connection failed"),
    ("/hangup", "video", "fetch_failed", "/hangup: the connection failed"),
    ("/loop", "video", "fetch_failed", "/loop in a loop"),
    ("/redirect-to?url=http://[::1/", "image", "fetch_failed", "redirected to an address that is not valid"),
    ("/redirect-to?url=%FF%FE/photo.jpg", "auto", "fetch_failed", "redirected to an address that is not valid"),
])
def test_bad_input(server, net, workdir, path, kind, code, words):
    refused(server.url(path), kind, net, workdir, code, words)


@pytest.mark.parametrize("kind", ["image", "video", "auto"])
def test_one_redirect_limit_holds_for_every_kind_and_for_a_pages_video(server, net, workdir, tmp_path, kind):
    """Five redirects at most: kind=video handed a longer chain the direct download gave up on to yt-dlp,
    which followed 30 (/redirect/25 was fetched), and a page's video went through as many."""
    kept = tmp_path / "kept"
    assert ok(server.url("/redirect/5/photo.jpg" if kind == "image" else "/redirect/5/clip.mp4"), kind, net, kept).size
    base = server.url("/redirect/6/photo.jpg" if kind == "image" else "/redirect/6/clip.mp4")
    refused(base, kind, net, workdir, "fetch_failed", f"more than 5 redirects from {base}")
    if kind == "image":
        return
    before = len(server.seen)
    far = server.url("/redirect/25/clip.mp4")
    refused(far, kind, net, workdir, "fetch_failed", f"more than 5 redirects from {far}")
    assert len(server.seen) - before == 6, server.seen[before:]   # the direct request's hops, no one's after
    refused(server.url("/loop"), kind, net, workdir, "fetch_failed", f"the server redirects {server.url('/loop')} in a loop")
    # a page's video: yt-dlp holds to the same limit
    assert ok(server.url("/page/redirected-5.html"), kind, net, kept).kind == "video"
    for n in (6, 25):
        page = server.url(f"/page/redirected-{n}.html")
        refused(page, kind, net, workdir, "fetch_failed", f"more than 5 redirects from the video at "
                f"{server.url(f'/redirect/{n}/clip.mp4')} (found on {page})", limit_s=10.0)
    page = server.url("/page/looped-video.html")
    refused(page, kind, net, workdir, "fetch_failed",
            f"the server redirects the video at {server.url('/loop')} (found on {page}) in a loop", limit_s=10.0)


@pytest.mark.parametrize("kind", ["image", "video", "auto"])
def test_a_secure_connection_that_fails_says_so_plainly(server, net, workdir, kind):
    """https:// to a server speaking plain HTTP: said in words, not as ssl's "WRONG_VERSION_NUMBER" and
    yt-dlp's request to report a bug to it."""
    error = refused(server.url("/files/clip.mp4").replace("http://", "https://"), kind, net, workdir,
                    "fetch_failed", "clip.mp4: the secure connection (TLS) failed")
    assert "SSL" not in error.message and "report" not in error.message


@pytest.mark.parametrize("url, code", [
    ("ftp://127.0.0.1/photo.jpg", "bad_url"), ("file:///etc/passwd", "bad_url"),
    ("data:image/jpeg;base64,/9j/4AAQ", "bad_url"), ("not a url", "bad_url"),
])
def test_bad_url(net, workdir, url, code):
    refused(url, "auto", net, workdir, code, "only http and https")


def test_bad_kind(server, net, workdir):
    refused(server.url("/files/photo.jpg"), "sound", net, workdir, "bad_request", "kind must be")


def test_image_byte_cap(server, tmp_path, workdir):
    small = make_settings(tmp_path, max_image_bytes=1000)
    refused(server.url("/files/photo.jpg"), "image", small, workdir, "too_large", "more than the 1 KB limit")
    refused(server.url("/nolength/photo.jpg"), "image", small, workdir, "too_large", "more than the 1 KB limit")


@pytest.mark.parametrize("path, kind", [("/huge", "image"), ("/huge", "auto"), ("/huge-video", "video")])
def test_lying_3gb_content_length_refused_at_once(server, tmp_path, workdir, path, kind):
    slow = make_settings(tmp_path, read_timeout_s=10.0)  # "at once": long before any timeout
    refused(server.url(path), kind, slow, workdir, "too_large", "limit", limit_s=3.0)


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_a_pages_video_too_large_by_its_content_length_says_its_size(server, net, workdir, kind):
    """Linked directly it said "the file is 400 MB, more than the 300 MB limit"; as a page's video only
    "the video is more than the 300 MB limit"."""
    refused(server.url("/claims-400mb/clip.mp4"), kind, net, workdir, "too_large", "is 400 MB, more than the 300 MB limit")
    refused(server.url("/page/large-video.html"), kind, net, workdir, "too_large",
            "the video is 400 MB, more than the 300 MB limit", limit_s=10.0)


@pytest.mark.parametrize("path, kind", [("/stall", "image"), ("/silent", "auto"), ("/stall", "video")])
def test_stalling_server_times_out(server, net, workdir, path, kind):
    refused(server.url(path), kind, net, workdir, "fetch_timeout", "did not answer in time",
            limit_s=READ_TIMEOUT + 3.0)


def test_a_video_address_that_stalls_a_plain_request_is_asked_again_by_yt_dlp(server, net, workdir):
    """kind=video: a page may stall a plain request where yt-dlp's extractor knows how to ask; it gets
    its turn, within the one wall time, and its own timeout is what the user reads."""
    before = server.seen.count("/silent")
    refused(server.url("/silent"), "video", net, workdir, "fetch_timeout", "did not answer in time",
            limit_s=2 * READ_TIMEOUT + 3.0)
    assert server.seen.count("/silent") - before == 2   # the plain request, then yt-dlp's


@pytest.mark.parametrize("page, code, words", [
    ("silent-video.html", "fetch_timeout", "/silent (found on {page}) did not answer in time"),
    ("empty-video.html", "undecodable", "the download of the video at {base}/files/empty.mp4 (found on {page}) was "
                                        "empty (0 bytes)"),
])
def test_a_pages_video_that_fails_is_named_not_the_page(server, net, workdir, page, code, words):
    """The page answered; its video did not, or was empty: both were said of the page."""
    url = server.url(f"/page/{page}")
    refused(url, "video", net, workdir, code, words.format(page=url, base=server.url("")), limit_s=2 * READ_TIMEOUT + 3.0)


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_a_pages_video_whose_server_sends_less_than_it_promised_says_it_ended_early(server, net, workdir, kind):
    """The file linked directly said "the download of … ended early"; the same file as a page's video said
    yt-dlp's "could not download the video: Got error: 398170 bytes read, 398170 more expected"."""
    direct = server.url("/short/clip.mp4")
    refused(direct, kind, net, workdir, "fetch_failed", f"the download of {direct} ended early")
    page = server.url("/page/short-video.html")
    error = refused(page, kind, net, workdir, "fetch_failed",
                    f"the download of the video at {direct} (found on {page}) ended early", limit_s=10.0)
    assert "expected" not in error.message, error.message


@pytest.mark.parametrize("said", ["ERROR: [download] Got error: 398170 bytes read, 398170 more expected",
                                  "ERROR: [download] Got error: Downloaded 398170 bytes, expected 796340 bytes",
                                  "ERROR: content too short (expected 796340 bytes and served 398170)"])
def test_yt_dlps_words_for_a_download_cut_short_are_said_as_the_direct_downloads(net, tmp_path, said):
    from fakelens.fetch.netguard import guarded
    from fakelens.fetch.ytdlp import Download

    with guarded(net) as guard:
        download = Download("https://example.com/v.mp4", net, guard, tmp_path, lambda f: None, lambda: False)
        error = download._error(Exception(said))
    assert error.message == "the download of https://example.com/v.mp4 ended early", error.message


def test_trickling_server_hits_the_wall_time_cap(server, tmp_path, workdir):
    # a byte every 50 ms never trips the read timeout; the wall-time cap must end it
    walled = make_settings(tmp_path, fetch_wall_s=2.0)
    refused(server.url("/trickle"), "image", walled, workdir, "fetch_timeout", "longer than 2 s", limit_s=4.0)


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_trickling_page_hits_the_wall_time_cap(server, tmp_path, workdir, kind):
    # yt-dlp reads a whole page before it looks for a video: the netguard's watchdog cuts it off
    walled = make_settings(tmp_path, fetch_wall_s=2.0)
    refused(server.url("/trickle-page"), kind, walled, workdir, "fetch_timeout", "longer than 2 s", limit_s=4.0)


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_a_page_that_keeps_yt_dlp_busy_is_stopped_at_the_time_limit(server, tmp_path, workdir, kind):
    """yt-dlp's embed patterns take quadratic time on some pages (100 kB held a check 66 s, 1 MB hours),
    where no socket is read: its process is killed at the time limit."""
    walled = make_settings(tmp_path, fetch_wall_s=3.0)
    refused(server.url("/spin-page"), kind, walled, workdir, "fetch_timeout", "longer than 3 s", limit_s=8.0)
    assert list(workdir.iterdir()) == []


def test_slow_name_lookups_count_in_the_time_limit(server, tmp_path, workdir, monkeypatch):
    """A resolver that takes 3 s a name: looked up before the clock started, then again unbounded, a
    2 s limit let the download run past 6 s."""
    import socket

    real = socket.getaddrinfo

    def slow(host, port, *args, **kwargs):
        if host == "slow.test":
            time.sleep(3)
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    walled = make_settings(tmp_path, fetch_wall_s=2.0)
    url = server.url("/files/photo.jpg").replace("127.0.0.1", "slow.test")
    refused(url, "image", walled, workdir, "fetch_timeout", "longer than", limit_s=4.5)


def test_a_check_cancelled_while_yt_dlp_is_busy_ends_at_once(server, net, workdir):
    started = time.monotonic()
    refused(server.url("/spin-page"), "auto", net, workdir, "cancelled", "cancelled", limit_s=4.0,
            cancelled=lambda: time.monotonic() - started > 1.0)


def test_yt_dlps_process_ends_by_itself_when_no_server_is_left_to_stop_it(server, tmp_path):
    """A server killed outright leaves its download process behind: on a page yt-dlp spins on, it stops
    at the time limit in CPU seconds (+10 s) all the same (a 100 kB page ran 66 s, 1 MB hours)."""
    import pickle
    import subprocess
    import sys

    (tmp_path / "out").mkdir()
    child = subprocess.Popen([sys.executable, "-m", "fakelens.fetch.isolated"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, start_new_session=True)   # as run_download starts it
    child.stdin.write(pickle.dumps((server.url("/spin-page"), make_settings(tmp_path, fetch_wall_s=2.0),
                                    str(tmp_path / "out"), None)))   # and then never stopped by anyone
    child.stdin.close()
    try:
        assert child.wait(40) == -signal.SIGXCPU
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_a_manifest_of_millions_of_parts_is_stopped_by_the_memory_cap(server, net, workdir):
    """600 bytes of DASH whose timeline names 20 million segments: yt-dlp made a dict per segment before
    any limit of ours could look (5.6 GB). Its process may use 2 GB: it ends there, said in words."""
    started = time.monotonic()
    with pytest.raises(FakeLensError) as error:
        fetch(server.url("/parts.mpd"), "video", net, workdir)
    # a MemoryError raised says so; a C library that cannot allocate crashes its process instead
    assert error.value.code in ("too_large", "fetch_failed") and "2048 MB" in error.value.message, error.value.message
    assert time.monotonic() - started < 20 and list(workdir.iterdir()) == []


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_compressed_page_is_capped_as_it_unpacks(server, net, workdir, kind):
    # 64 KB of gzip on the wire would unpack to 64 MB in memory: refused at the page cap
    refused(server.url("/bomb-page"), kind, net, workdir, "too_large", "larger than 16 MB", limit_s=10.0)


def test_cancel_while_streaming(server, net, workdir):
    started = time.monotonic()
    refused(server.url("/trickle"), "image", net, workdir, "cancelled", "cancelled",
            cancelled=lambda: time.monotonic() - started > 0.5, limit_s=3.0)


@pytest.mark.parametrize("path, kind", [("/stall", "image"), ("/silent", "auto"), ("/stall", "video")])
def test_cancel_while_the_server_is_silent_ends_at_once(server, tmp_path, workdir, path, kind):
    """A read blocked on a silent server is cut by the watchdog once the check is cancelled, long
    before the read timeout (30 s here); also inside yt-dlp."""
    patient = make_settings(tmp_path, read_timeout_s=30.0, fetch_wall_s=60.0)
    started = time.monotonic()
    refused(server.url(path), kind, patient, workdir, "cancelled", "cancelled",
            cancelled=lambda: time.monotonic() - started > 1.0, limit_s=10.0)


def test_cancel_video(server, net, workdir):
    refused(server.url("/files/hls/playlist.m3u8"), "video", net, workdir, "cancelled", "cancelled",
            cancelled=lambda: True)


# --- SSRF ---

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("kind", ["image", "video"])
def test_loopback_refused_without_the_setting(server, tmp_path, workdir, connects, host, kind):
    strict = make_settings(tmp_path, allow_loopback=False)
    refused(server.url("/files/photo.jpg", host=host), kind, strict, workdir, "blocked_address", "private address")
    assert connects == []


@pytest.mark.parametrize("url", ["http://10.0.0.1/photo.jpg", "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]/photo.jpg", "http://[::ffff:10.0.0.1]/x.mp4"])
@pytest.mark.parametrize("kind", ["image", "video", "auto"])
def test_private_addresses_refused(net, workdir, connects, url, kind):
    strict = Settings(home=net.home)
    refused(url, kind, strict, workdir, "blocked_address", "private address")
    assert connects == []


@pytest.mark.parametrize("target, words", [("http://10.0.0.1/photo.jpg", "10.0.0.1 is a private address"),
                                           ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a private")])
@pytest.mark.parametrize("kind", ["image", "video", "auto"])
def test_redirect_to_private_refused(server, net, workdir, connects, target, words, kind):
    err = refused(server.url(f"/redirect-to?url={target}"), kind, net, workdir, "blocked_address", words)
    assert set(connects) == {"127.0.0.1"}  # the allowed host only
    # said as a redirect: the private address named is not the one the user gave
    assert f"redirected to {target}" in err.message, err.message


@pytest.mark.parametrize("kind", ["video", "auto"])
def test_a_pages_video_redirected_to_a_private_address_says_it_was_redirected(server, net, workdir, connects, kind):
    """The direct download says "X redirected to 10.0.0.1, refused: …"; yt-dlp's said only "10.0.0.1 is a
    private address", of an address the page never wrote."""
    page = server.url("/page/private-video.html")
    video = server.url("/redirect-to?url=http://10.0.0.1/clip.mp4")
    err = refused(page, kind, net, workdir, "blocked_address", "10.0.0.1 is a private address", limit_s=10.0)
    assert err.message.startswith(f"the video at {video} (found on {page}) redirected to http://10.0.0.1/clip.mp4, "
                                  "refused: 10.0.0.1 is a private address"), err.message
    assert set(connects) == {"127.0.0.1"}


def test_hls_fragment_on_private_address_refused(server, net, workdir, connects):
    refused(server.url("/files/hls/private.m3u8"), "video", net, workdir, "blocked_address", "10.0.0.1 is a private")


def test_an_encrypted_hls_stream_never_reaches_ffmpeg(server, media, net, workdir, tmp_path, monkeypatch):
    """yt-dlp hands SAMPLE-AES streams to an ffmpeg process, which would fetch the key and segments
    (here on a private address) outside the netguard and every limit: it must never be started."""
    ran = tmp_path / "ffmpeg-ran"
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("ffmpeg", "ffprobe"):
        (fake / name).write_text(f"#!/bin/sh\necho \"$@\" >> {ran}\necho 'ffmpeg version 6.1'\n")
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    (media / "hls" / "sample-aes.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
        '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="http://10.255.255.1/key.bin"\n'
        "#EXTINF:2.0,\nhttp://10.255.255.1/seg0.ts\n#EXT-X-ENDLIST\n")
    err = refused(server.url("/files/hls/sample-aes.m3u8"), "video", net, workdir, "unsupported_media",
                  "encrypted in a way FakeLens does not download")
    assert "install" not in err.message.lower()
    assert not ran.exists(), ran.read_text()


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/photo.jpg",
                                    "data:image/jpeg;base64,/9j/4AAQSkZJRg=="])
@pytest.mark.parametrize("kind", ["image", "video"])
def test_redirect_to_other_schemes_refused(server, net, workdir, target, kind):
    refused(server.url(f"/redirect-to?url={target}"), kind, net, workdir, "bad_url", "http")


def test_yt_dlps_own_tails_are_left_out_of_an_error_it_leaves_unexplained():
    from fakelens.fetch.ytdlp import _plain

    said = ("ERROR: [generic] clip: Unable to download webpage: something odd (caused by OddError('x')); please "
            "report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue "
            "template. Confirm you are on the latest version using  yt-dlp -U")
    assert _plain(said) == "Unable to download webpage: something odd"


def test_what_ended_a_video_download_is_said_before_a_warning_yt_dlp_got_past(net, tmp_path):
    """A warning logged on the way ("Connection reset", then a retry that worked) must not stand in
    for the error that ended the download (a 403)."""
    from fakelens.fetch.netguard import guarded
    from fakelens.fetch.ytdlp import Download

    with guarded(net) as guard:
        download = Download("https://example.com/v", net, guard, tmp_path, lambda f: None, lambda: False)
        download.logger.warning("[generic] Connection reset by peer; retrying (1/3)...")
        error = download._error(Exception("ERROR: [generic] v: Unable to download webpage: HTTP Error 403: Forbidden"))
    assert error.message == "the server answered HTTP 403 for https://example.com/v", error.message


def test_a_yt_dlp_without_the_private_parts_the_redirect_cap_uses_still_downloads(caplog):
    """The cap on yt-dlp's redirects reaches into its private request handlers, and yt-dlp is pinned to
    no version: a release that renamed them must leave downloads working (each connection is still
    guarded by netguard), not fail every video for an AttributeError."""
    from fakelens.fetch.ytdlp import _cap_redirects

    class RenamedInternals:
        pass

    _cap_redirects(RenamedInternals(), on_response=None)
    assert "not capped" in caplog.text
    caplog.clear()

    class RenamedMaker:   # the handlers found, the method that makes their sessions renamed: said too
        _request_director = SimpleNamespace(handlers={"Requests": SimpleNamespace(_make_session=None)})

    _cap_redirects(RenamedMaker(), on_response=None)
    assert "not capped" in caplog.text


def test_a_straight_chain_of_redirects_is_not_called_a_loop_whatever_requests_keeps_in_its_history():
    """requests up to 2.32 (pyproject allows 2.31) lists the last response in its history as well:
    its address came twice, and six straight redirects of a page's video read "in a loop"."""
    from fakelens.fetch.ytdlp import _redirects

    def refused(itself: bool):
        last = SimpleNamespace(url="http://a.example/5", headers={"Location": "/6"})
        last.history = [SimpleNamespace(url=f"http://a.example/{n}") for n in range(5)] + ([last] if itself else [])
        return SimpleNamespace(redirect_loop=True, response=SimpleNamespace(_requests_response=last))

    chain = [f"http://a.example/{n}" for n in range(7)]
    assert _redirects(refused(itself=False)) == chain   # requests 2.33 and later
    assert _redirects(refused(itself=True)) == chain    # requests 2.31-2.32
