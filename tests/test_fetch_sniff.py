"""Magic-byte sniffing: what a file is comes from its bytes, never its name or Content-Type."""

import pytest

from fakelens.fetch.sniff import sniff, unread_photo
from fixtures.media.generate import generate


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("sniff-media"))


def head(path) -> bytes:
    return path.read_bytes()[:64]


def test_real_files_made_by_opencv(media):
    assert sniff(head(media / "photo.jpg")) == ("image", "image/jpeg")
    assert sniff(head(media / "photo.png")) == ("image", "image/png")
    assert sniff(head(media / "clip.mp4")) == ("video", "video/mp4")
    assert sniff(head(media / "clip.webm")) == ("video", "video/webm")
    assert sniff(head(media / "hls" / "seg0.ts")) == ("video", "video/mp2t")
    assert sniff(head(media / "truncated.jpg")) == ("image", "image/jpeg")  # decoding is media's job


@pytest.mark.parametrize("name, fourcc, mime", [("clip.flv", "FLV1", "video/x-flv"), ("clip.mpg", "PIM1", "video/mpeg")])
def test_videos_opencv_decodes_are_not_refused_as_unknown(tmp_path, name, fourcc, mime):
    """FLV and MPEG program streams decode, but were refused as "not a supported image or video" (and
    yt-dlp could download 300 MB of one first)."""
    import cv2
    import numpy as np

    from fakelens.config import Settings
    from fakelens.media.video import sample_frames

    writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*fourcc), 25, (320, 240))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
    for i in range(50):
        writer.write(np.full((240, 320, 3), i * 4, np.uint8))
    writer.release()
    assert sniff(head(tmp_path / name)) == ("video", mime)
    frames, _ = sample_frames(tmp_path / name, 4, Settings(home=tmp_path / "h"))
    assert len(frames) == 4


def test_a_camcorder_transport_stream_with_time_codes_is_video(media):
    """.m2ts/.mts: a 4-byte time code before each 188-byte packet; refused as unknown before."""
    ts = (media / "hls" / "seg0.ts").read_bytes()
    m2ts = b"".join(b"\x00\x00\x00\x00" + ts[k:k + 188] for k in range(0, 188 * 4, 188))
    assert sniff(m2ts) == ("video", "video/mp2t")
    assert sniff(b"\x00\x00\x00\x00GET / HTTP/1.1") is None


@pytest.mark.parametrize("data", [
    b"FLV\x01\x04\x00\x00\x00\x09",                          # FLV of sound only (flag 4, not 1)
    b"OggS\x00\x02" + bytes(20) + b"\x01\x1e\x01vorbis\x00",     # Ogg Vorbis
    b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01",       # Ogg Opus
])
def test_sound_only_containers_are_not_video(data):
    """Sound-only FLV and Ogg were taken for video: downloaded whole (300 MB at most), then refused."""
    assert sniff(data) is None


@pytest.mark.parametrize("data, expected", [
    (b"OggS\x00\x02" + bytes(20) + b"\x01\x2a\x80theora\x03\x02", ("video", "video/ogg")),
    (b"GIF89a\x01\x00\x01\x00", ("image", "image/gif")),
    (b"GIF87a\x01\x00\x01\x00", ("image", "image/gif")),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", ("image", "image/webp")),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00", ("image", "image/bmp")),
    (b"II*\x00\x08\x00\x00\x00", ("image", "image/tiff")),
    (b"MM\x00*\x00\x00\x00\x08", ("image", "image/tiff")),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", ("video", "video/quicktime")),
    (b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01", ("video", "video/x-m4v")),
    (b"\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00", ("video", "video/mp4")),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", ("video", "video/x-matroska")),
    (b"RIFF\x00\x10\x00\x00AVI LIST", ("video", "video/x-msvideo")),
    (b"\x47\x40\x00\x10\x00\x00\xb0\x0d", ("video", "video/mp2t")),
])
def test_formats(data, expected):
    assert sniff(data) == expected


@pytest.mark.parametrize("data", [
    b"",
    b"\xff\xd8",                                   # too short to be a JPEG
    b"<!DOCTYPE html><html>",                      # HTML served as image/jpeg
    b"this is plain text, not a video\n",          # a text file named .mp4
    b"#EXTM3U\n#EXT-X-VERSION:3\n",                # a playlist is not media itself
    b"GET / HTTP/1.1\r\n",                         # text that starts with the TS sync byte "G"
    b"Good morning\n",
    b"BMW 3 series",                               # "BM" without a BMP header
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",   # HEIF photos: not supported
    b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00",
    b"%PDF-1.7\n",
    b"PK\x03\x04",
])
def test_not_media(data):
    assert sniff(data) is None


@pytest.mark.parametrize("data, name", [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),       # an iPhone's
    (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf", "HEIC"),   # the generic brand first
    (b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B", "AVIF"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", "AVIF"),
    (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", "HEIF"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1", None),       # a video
    (b"\xff\xd8\xff\xe0", None),
])
def test_a_photo_sniff_refuses_is_named(data, name):
    """HEIC, HEIF and AVIF read "not an image or video FakeLens can read": their refusal names them."""
    assert sniff(data) is None or name is None
    assert unread_photo(data) == name


def test_only_the_first_bytes_matter():
    assert sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 10_000) == ("image", "image/jpeg")
    assert sniff(b"x" * 64 + b"\xff\xd8\xff") is None
