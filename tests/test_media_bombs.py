"""Files built to make a decoder spin are refused from their structure, before any decoder sees them.

Each hostile file here is a scaled-down copy of one an audit found (there: 45 MB of empty JPEG segments,
80 million samples declared in a 3 KB MOV, 16000×16000 frames behind a 64×64 header…): small enough that
the code before these checks merely decoded it, or was slow, yet past the caps in media/structure.py.
"""

import io
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.media import structure
from fakelens.media.image import read_image
from fakelens.media.video import _movie_length, sample_frames

from conftest import BASE_URL, need_shared

QUICK_S = 2.0   # a refusal comes from a walk over headers: well under this even on a busy machine


def refused(read, code="too_large") -> str:
    """The message of the FakeLensError `read()` raises, checked for its code and for coming quickly."""
    started = time.monotonic()
    with pytest.raises(FakeLensError) as err:
        read()
    assert err.value.code == code, err.value.message
    assert time.monotonic() - started < QUICK_S
    return err.value.message


def small_jpeg(progressive=False, size=(64, 64)) -> bytes:
    img = np.full((size[1], size[0]), 128, np.uint8)
    img[::16, :], img[:, ::16] = 90, 160
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90, progressive=progressive)
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# JPEG

@pytest.mark.parametrize("segment", [b"\xff\xe1\x00\x02", b"\xff\xfe\x00\x02"], ids=["APP1", "COM"])
def test_a_jpeg_of_thousands_of_empty_segments_is_refused_before_pillow_parses_them(tmp_path, segment):
    """45 MB of empty APP1 segments took Pillow's Image.open 19 s and 1.6 GB (the whole check 50 s)."""
    base = small_jpeg()
    path = write(tmp_path, "segments.jpg", base[:2] + segment * 5_000 + base[2:])
    message = refused(lambda: read_image(path, "image/jpeg", 10**8))
    assert message == ("the JPEG has more than 1,000 marker segments before its picture data; real pictures "
                       "have a few hundred at most")


def test_a_jpeg_padded_with_fill_bytes_is_refused(tmp_path):
    """Pillow reads fill bytes between segments one at a time: 45 MB of them took 30 s."""
    base = small_jpeg()
    path = write(tmp_path, "fill.jpg", base[:2] + b"\xff" * 200_000 + base[2:])
    message = refused(lambda: read_image(path, "image/jpeg", 10**8))
    assert message.startswith("the JPEG has more than 65,536 padding bytes between its header segments")


def progressive_with_empty_scans(extra: int) -> bytes:
    """A 256×256 progressive grey JPEG with `extra` AC scans after its own that code nothing: one
    end-of-band run over all its 1,024 blocks (EOB10, coded "0" plus ten zero bits) in two bytes each."""
    base = small_jpeg(progressive=True, size=(256, 256))
    table = b"\xff\xc4\x00\x14\x11" + bytes([1] + [0] * 15) + b"\xa0"   # AC table 1: the one symbol EOB10
    scan = b"\xff\xda\x00\x08\x01\x01\x01\x01\x3f\x00" + b"\x00\x1f"   # component 1, AC 1-63; bits 0 0000000000 11111
    return base[:-2] + table + scan * extra + b"\xff\xd9"


def test_a_progressive_jpeg_of_more_than_500_scans_is_refused(tmp_path):
    """libjpeg decodes every scan over the whole picture (0.8 ms a scan at 16 MP: 100,000 took 84 s)."""
    path = write(tmp_path, "scans.jpg", progressive_with_empty_scans(600))
    message = refused(lambda: read_image(path, "image/jpeg", 10**8))
    assert message == ("the JPEG has more than 500 scans (passes over the picture); real pictures have a "
                       "few dozen at most")


def test_a_progressive_jpeg_under_the_scan_cap_still_reads(tmp_path):
    path = write(tmp_path, "scans.jpg", progressive_with_empty_scans(400))
    assert read_image(path, "image/jpeg", 10**8).shape == (256, 256, 3)


def test_the_jpeg_walk_steps_over_entropy_data_restarts_and_an_exif_thumbnails_end():
    """The walk finds the end marker as the decoder does: not an EOI inside APP1, not FF00 or RSTn."""
    base = small_jpeg()
    thumbnail = b"Exif\x00\x00" + base   # a whole JPEG, its EOI too, inside an APP1 segment
    app1 = b"\xff\xe1" + (len(thumbnail) + 2).to_bytes(2, "big") + thumbnail
    data = base[:2] + app1 + base[2:-2] + b"\xff\xd0\xff\x00\xff\xff\xd9"
    layout = structure.jpeg_layout(data)
    assert layout.ended and layout.size == (64, 64)
    assert not structure.jpeg_layout(data[:-2]).ended


# PNG

def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_a_png_of_thousands_of_chunks_before_its_pixels_is_refused(tmp_path):
    """45 MB of tiny chunks before IDAT took 12-20 s and 400-600 MB."""
    base = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()
    padding = b"".join(png_chunk(b"tEXt", b"k%d\x00v" % i) for i in range(3_000))
    path = write(tmp_path, "chunks.png", base[:33] + padding + base[33:])   # after the signature and IHDR
    message = refused(lambda: read_image(path, "image/png", 10**8))
    assert message == "the PNG has more than 1,000 chunks before its pixels; real pictures have a few dozen at most"


def test_a_png_whose_pixels_are_cut_in_a_hundred_thousand_chunks_is_refused(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8)
    base = cv2.imencode(".png", noise)[1].tobytes()
    chunks = list(structure.png_chunks(base))
    pixels = b"".join(bytes(body) for kind, body in chunks if kind == b"IDAT")
    assert len(pixels) > 100_000
    others = [png_chunk(kind, bytes(body)) for kind, body in chunks if kind not in (b"IDAT", b"IEND")]
    data = (base[:8] + b"".join(others) + b"".join(png_chunk(b"IDAT", pixels[i:i + 1]) for i in range(len(pixels)))
            + png_chunk(b"IEND", b""))
    path = write(tmp_path, "idat.png", data)
    message = refused(lambda: read_image(path, "image/png", 10**8))
    assert message.startswith("the PNG has more than 100,000 chunks;")


# GIF

def small_gif() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (64, 64), 1).save(buf, "GIF")
    return buf.getvalue()


def after_screen(gif: bytes) -> int:
    """Where a GIF's blocks start: after its screen descriptor and global colour table."""
    return 13 + (3 << ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)


def test_a_gif_of_a_hundred_thousand_empty_extensions_is_refused(tmp_path):
    """45 MB of empty comment extensions: 2.6 s each time Pillow opened it, 129 s the whole check."""
    base = small_gif()
    at = after_screen(base)
    path = write(tmp_path, "ext.gif", base[:at] + b"\x21\xfe\x00" * 150_000 + base[at:])
    message = refused(lambda: read_image(path, "image/gif", 10**8))
    assert message == ("the GIF has more than 100,000 blocks (frames and extensions); real pictures have a few "
                       "thousand at most")


def test_a_gif_whose_comment_is_cut_in_a_million_pieces_is_refused(tmp_path):
    base = small_gif()
    at = after_screen(base)
    comment = b"\x21\xfe" + b"\x01c" * 1_100_000 + b"\x00"
    path = write(tmp_path, "pieces.gif", base[:at] + comment + base[at:])
    message = refused(lambda: read_image(path, "image/gif", 10**8))
    assert message.startswith("the GIF's data is cut in more than 1,000,000 pieces")


def test_an_animated_gif_of_a_thousand_frames_still_reads(tmp_path):
    frames = [Image.new("P", (32, 32), i % 200) for i in range(1_000)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=40, comment=b"hi")
    assert read_image(tmp_path / "anim.gif", "image/gif", 10**8).shape == (32, 32, 3)


# WebP

def test_a_webp_of_150000_empty_chunks_is_refused(tmp_path):
    """libwebp's demuxer keeps a record of every chunk as Pillow opens the file: 6,000,000 empty ones in
    48 MB took 290 MB and 0.8 s, 1,000,000 one-pixel frames in 46 MB 240 MB."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 150)).save(buf, "WEBP", lossless=True)
    plain = buf.getvalue()
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (63).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + (b"ZZZZ" + bytes(4)) * 150_000 + plain[12:]
    path = write(tmp_path, "chunks.webp", b"RIFF" + struct.pack("<I", len(body)) + body)
    message = refused(lambda: read_image(path, "image/webp", 10**8))
    assert message == ("the WebP has more than 100,000 chunks (frames and metadata); real pictures have a few "
                       "thousand at most")


def test_an_animated_webp_of_a_thousand_frames_still_reads(tmp_path):
    frames = [Image.new("RGB", (32, 32), (i % 200, 80, 120)) for i in range(1_000)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], duration=40, lossless=True)
    assert read_image(tmp_path / "anim.webp", "image/webp", 10**8).shape == (32, 32, 3)


# MP4 / MOV

FRAME = cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()
MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, flags: int, body: bytes) -> bytes:
    return box(kind, struct.pack(">I", flags) + body)


def track(number: int, handler: bytes, samples: int, delta: int, offset: int) -> bytes:
    """A MOV track of 64×64 Motion JPEG frames ("vide") or 16-bit sound ("soun") whose tables declare
    `samples` samples of `delta` time units each, of one size, all in one chunk at `offset`."""
    if handler == b"soun":
        entry = box(b"twos", bytes(6) + struct.pack(">H", 1) + bytes(8)
                    + struct.pack(">HHHHI", 1, 16, 0, 0, 8000 << 16))
        header, size = full_box(b"smhd", 0, bytes(4)), 2
    else:
        entry = box(b"jpeg", bytes(6) + struct.pack(">H", 1) + bytes(16)
                    + struct.pack(">HHIII", 64, 64, 0x480000, 0x480000, 0) + struct.pack(">H", 1) + bytes(32)
                    + struct.pack(">Hh", 24, -1))
        header, size = full_box(b"vmhd", 1, bytes(8)), len(FRAME)
    tables = box(b"stbl", full_box(b"stsd", 0, struct.pack(">I", 1) + entry)
                 + full_box(b"stts", 0, struct.pack(">III", 1, samples, delta))
                 + full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, samples, 1))
                 + full_box(b"stsz", 0, struct.pack(">II", size, samples))
                 + full_box(b"stco", 0, struct.pack(">II", 1, offset)))
    data_ref = box(b"dinf", full_box(b"dref", 0, struct.pack(">I", 1) + full_box(b"url ", 1, b"")))
    return box(b"trak", full_box(b"tkhd", 3, struct.pack(">IIIII", 0, 0, number, 0, samples * delta) + bytes(8)
                                 + struct.pack(">hhhH", 0, 0, 0, 0) + MATRIX + struct.pack(">II", 64 << 16, 64 << 16))
               + box(b"mdia", full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, 25, samples * delta, 0x55C4, 0))
                     + full_box(b"hdlr", 0, b"mhlr" + handler + bytes(12) + b"\x00")
                     + box(b"minf", header + data_ref + tables)))


def movie(tracks, fragment_samples: int = 0, padding_boxes: int = 0, metadata: bytes = b"") -> bytes:
    """A MOV of the tracks [(handler, samples, delta)], its 4 frames in one mdat after moov; with a
    fragment (moof) whose run (trun) declares `fragment_samples`, 8-byte free boxes before moov, and
    `metadata` (boxes) at the end of moov."""
    ftyp = box(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ")
    pad = box(b"free", b"") * padding_boxes

    def moov(offset):
        header = full_box(b"mvhd", 0, struct.pack(">IIII", 0, 0, 25, 100) + struct.pack(">IH", 0x10000, 0x100)
                          + bytes(10) + MATRIX + bytes(24) + struct.pack(">I", len(tracks) + 1))
        defaults = full_box(b"trex", 0, struct.pack(">IIIII", 1, 1, 1, len(FRAME), 0))
        extends = box(b"mvex", defaults) if fragment_samples else b""
        return box(b"moov", header + b"".join(track(n + 1, *spec, offset) for n, spec in enumerate(tracks)) + extends
                   + metadata)

    offset = len(ftyp) + len(pad) + len(moov(0)) + 8
    data = ftyp + pad + moov(offset) + box(b"mdat", FRAME * 4)
    if fragment_samples:
        run = full_box(b"trun", 0, struct.pack(">I", fragment_samples))   # no per-sample fields: trex's defaults
        data += box(b"moof", full_box(b"mfhd", 0, struct.pack(">I", 1))
                    + box(b"traf", full_box(b"tfhd", 0x020000, struct.pack(">I", 1)) + run)) + box(b"mdat", FRAME)
    return data


def named_fields(count: int, declared: int | None = None, values: int | None = None) -> bytes:
    """QuickTime's named metadata: moov/meta with a keys box of `count` names (declaring `declared`) and
    an ilst of a value for each (or `values` values, naming the first names in turn)."""
    names = b"".join(struct.pack(">I", 18) + b"mdta" + b"key%07d" % i for i in range(count))
    keys = full_box(b"keys", 0, struct.pack(">I", count if declared is None else declared) + names)
    values = b"".join(box(struct.pack(">I", i % count + 1), box(b"data", struct.pack(">II", 1, 0) + b"v"))
                      for i in range(count if values is None else values))
    return box(b"meta", full_box(b"hdlr", 0, b"\0\0\0\0mdta" + bytes(12) + b"\0") + keys + box(b"ilst", values))


def test_a_movie_of_twenty_thousand_named_metadata_fields_is_refused(tmp_path):
    """FFmpeg looks each new field up among those before it: these 20,000 in 0.9 MB took 1.9 s each time
    the file was opened (two or three times a check), and 100,000 within the box cap some 47 s."""
    path = write(tmp_path, "fields.mov", movie([(b"vide", 4, 1)], metadata=named_fields(20_000)))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message == "the video has more than 5,000 metadata fields; real videos have a few dozen at most"


def test_a_keys_box_declaring_millions_of_names_is_refused(tmp_path):
    """FFmpeg allocates room for the declared count before reading a name (then finds the names missing):
    refused before it opens the file."""
    path = write(tmp_path, "keys.mov", movie([(b"vide", 4, 1)], metadata=named_fields(2, declared=50_000_000)))
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))).startswith(
        "the video has more than 5,000 metadata fields")


def inside(data: bytes, path: list, add: bytes) -> bytes:
    """`data` (a movie()) with `add` at the end of the box reached by `path` (its kinds, outermost first; the
    first box of each kind), the sizes around it and the frames' chunk offset moved on to match."""
    at, chain = 0, []
    for kind in path:
        at = data.index(kind, at) - 4
        chain.append(at)
        at += 8
    end = chain[-1] + struct.unpack_from(">I", data, chain[-1])[0]
    data = data[:end] + add + data[end:]
    for at in chain:
        data = data[:at] + struct.pack(">I", struct.unpack_from(">I", data, at)[0] + len(add)) + data[at + 4:]
    stco = data.index(b"stco")
    offset = struct.unpack_from(">I", data, stco + 12)[0]
    return data[:stco + 12] + struct.pack(">I", offset + (len(add) if end < offset else 0)) + data[stco + 16:]


def quicktime_fields(count: int) -> bytes:
    """`count` ©nam entries, each in another language (so FFmpeg files each under a name of its own)."""
    return b"".join(box(b"\xa9nam", struct.pack(">HH", 1, 0x400 + i) + b"v") for i in range(count))


@pytest.mark.parametrize("where", [[b"moov", b"trak"], [b"moov", b"trak", b"mdia"],
                                   [b"moov", b"trak", b"mdia", b"minf"], "top level"])
def test_six_thousand_quicktime_fields_are_refused_wherever_ffmpeg_reads_them(tmp_path, where):
    """FFmpeg files a ©-entry's text wherever it walks box by box: 30,000 in a track's mdia or minf, or at
    the top level after the frames, took it 19-20 s a sampling (they were not counted there)."""
    fields = box(b"udta", quicktime_fields(6_000))
    data = movie([(b"vide", 4, 1)])
    data = data + fields if where == "top level" else inside(data, where, fields)
    path = write(tmp_path, "fields.mov", data)
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))).startswith(
        "the video has more than 5,000 metadata fields")


def itunes_meta(entries: bytes, before_handler: bytes = b"") -> bytes:
    """An MP4 meta box (a full box: version and flags first) with an iTunes handler, an ilst of `entries`,
    and `before_handler` between its flags and its handler."""
    handler = full_box(b"hdlr", 0, b"\0\0\0\0mdirappl" + bytes(9))
    return full_box(b"meta", 0, before_handler + handler + box(b"ilst", entries))


def freeform(count: int) -> bytes:
    """iTunes freeform entries (----: mean, name, data), each named differently."""
    return b"".join(box(b"----", full_box(b"mean", 0, b"com.apple.iTunes") + full_box(b"name", 0, b"k%07d" % i)
                        + box(b"data", struct.pack(">II", 1, 0) + b"v")) for i in range(count))


@pytest.mark.parametrize("meta", [
    box(b"udta", itunes_meta(freeform(6_000))),                                     # iTunes-style, as MP4 writers
    box(b"udta", itunes_meta(freeform(6_000), before_handler=box(b"free", bytes(64)))),   # FFmpeg looks for hdlr
    box(b"udta", itunes_meta(freeform(6_000), before_handler=b"xhdlr" + bytes(3))),  # a misaligned "hdlr" is not it
    named_fields(10, values=6_000),                                                  # QuickTime: few names, many values
], ids=["itunes", "free box before the handler", "misaligned decoy", "quicktime values"])
def test_an_mp4_meta_box_of_six_thousand_entries_is_refused_however_its_handler_is_placed(tmp_path, meta):
    path = write(tmp_path, "meta.mp4", movie([(b"vide", 4, 1)], metadata=meta))
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))).startswith(
        "the video has more than 5,000 metadata fields")


def test_a_movie_with_a_few_metadata_fields_samples_as_before(tmp_path):
    path = write(tmp_path, "fields.mov", movie([(b"vide", 4, 1)], metadata=named_fields(40)
                                               + box(b"udta", box(b"\xa9nam", struct.pack(">HH", 5, 0) + b"title"))))
    frames, info = sample_frames(path, 4, Settings(home=tmp_path))
    assert len(frames) == 4 and (info["width"], info["height"]) == (64, 64)


def test_boxes_nested_thousands_deep_are_walked_only_as_deep_as_ffmpeg_reads(tmp_path):
    """A chain of 3,000 nested boxes in a track's containers or in the metadata made the walk recurse past
    Python's limit (RecursionError: "decoding the video failed"); FFmpeg reads no deeper than 10 levels
    and then refuses the file or skips what it did not read."""
    def chain(kind: bytes) -> bytes:
        nested = b""
        for _ in range(3_000):
            nested = box(kind, nested)
        return nested

    for name, metadata in (("track.mov", box(b"trak", chain(b"mdia"))), ("udta.mov", chain(b"udta")),
                           ("meta.mov", chain(b"meta"))):
        data = movie([(b"vide", 4, 1)], metadata=metadata)
        structure.check_video_index(data, Settings(home=tmp_path))   # no error of its own
        try:
            frames, _ = sample_frames(write(tmp_path, name, data), 4, Settings(home=tmp_path))
            assert len(frames) == 4, name
        except FakeLensError as err:
            assert err.message.startswith("the video could not be opened"), (name, err.message)


def test_a_movie_with_honest_tables_samples_as_before(tmp_path):
    path = write(tmp_path, "ok.mov", movie([(b"vide", 4, 1)]))
    frames, info = sample_frames(path, 4, Settings(home=tmp_path))
    assert len(frames) == 4 and (info["width"], info["height"]) == (64, 64)


def test_a_movie_whose_tables_declare_millions_of_samples_is_refused_before_ffmpeg_indexes_them(tmp_path):
    """80 million samples declared in a 3 KB MOV: FFmpeg allocated 2.8 GB a track before any limit looked."""
    path = write(tmp_path, "index.mov", movie([(b"vide", 2_000_000, 1)]))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message == ("the video's tables declare 2,000,000 samples (frames and sound packets); a video within "
                       "the 1800 s limit has at most 1,800,000")


def test_the_sample_cap_follows_the_length_limit_and_counts_every_track(tmp_path):
    path = write(tmp_path, "two.mov", movie([(b"vide", 6_000, 1), (b"vide", 6_000, 1)]))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path, max_duration_s=10)))
    assert message.startswith("the video's tables declare 12,000 samples") and message.endswith("at most 10,000")


def test_samples_declared_in_a_fragment_count_too(tmp_path):
    path = write(tmp_path, "fragment.mov", movie([(b"vide", 4, 1)], fragment_samples=2_000_000))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message.startswith("the video's tables declare 2,000,004 samples")


def test_uncompressed_sound_is_counted_as_ffmpeg_indexes_it_by_chunks(tmp_path):
    """A camera's MOV stores sound as one sample per time unit (48,000 a second): FFmpeg indexes it by
    chunks, so a long one is no bomb; the same count of samples of two units each is."""
    settings = Settings(home=tmp_path)
    path = write(tmp_path, "pcm.mov", movie([(b"vide", 4, 1), (b"soun", 3_000_000, 1)]))
    frames, _ = sample_frames(path, 4, settings)
    assert len(frames) == 4
    path = write(tmp_path, "packets.mov", movie([(b"vide", 4, 1), (b"soun", 3_000_000, 2)]))
    assert refused(lambda: sample_frames(path, 4, settings)).startswith("the video's tables declare 3,000,004 samples")


def test_a_movie_whose_header_is_compressed_is_not_read(tmp_path):
    """FFmpeg unpacks a compressed movie header (cmov) and indexes what it holds: its tables could not be
    counted first."""
    ftyp_end = 20
    honest = movie([(b"vide", 4, 1)])
    moov_end = ftyp_end + struct.unpack_from(">I", honest, ftyp_end)[0]
    moov = honest[ftyp_end:moov_end]
    packed = box(b"moov", box(b"cmov", box(b"dcom", b"zlib") + box(b"cmvd", struct.pack(">I", len(moov))
                                                                      + zlib.compress(moov))))
    path = write(tmp_path, "cmov.mov", honest[:ftyp_end] + packed + honest[moov_end:])
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)), code="unsupported_media")
    assert message == "the video's movie header is compressed (an early QuickTime form), which FakeLens does not read"


def test_a_movie_of_more_than_64_tracks_is_refused(tmp_path):
    path = write(tmp_path, "tracks.mov", movie([(b"vide", 4, 1)] * 65))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message == "the video has more than 64 tracks; real videos have a few, broadcast ones a few dozen"


def test_a_movie_padded_with_hundreds_of_thousands_of_boxes_is_refused_and_its_walk_is_bounded(tmp_path):
    """100 MB of 8-byte free boxes: FFmpeg took 4.6 s to open it (a check opens it two or three times) and
    the length read walked every box in Python (3.5 s)."""
    path = write(tmp_path, "padded.mov", movie([(b"vide", 4, 1)], padding_boxes=250_000))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message.startswith("the video file is made of more than 200,000 boxes")
    started = time.monotonic()
    assert _movie_length(path) is None   # the walk stops at the cap, whoever asks
    assert time.monotonic() - started < QUICK_S


def test_a_movie_length_is_still_read_from_its_header(tmp_path):
    path = write(tmp_path, "ok.mov", movie([(b"vide", 4, 1)], padding_boxes=10))
    assert _movie_length(path) == 4.0   # 100 units at 25 a second


# Motion JPEG frames larger than the header

def motion_jpeg_avi(small: int, frames: int, big=(320, 240), super_index: int = 0) -> bytes:
    """An AVI of Motion JPEG whose headers say 64×64: its first `small` frames are, the others `big`; with
    an OpenDML super index (indx) listing `super_index` standard indexes, all the same empty one."""
    def chunk(fourcc, data):
        return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")

    def jpeg(w, h):
        return cv2.imencode(".jpg", np.full((h, w, 3), 128, np.uint8))[1].tobytes()

    small_frame, big_frame = jpeg(64, 64), jpeg(*big)
    main = struct.pack("<IIIIIIIIII4I", 40000, 0, 0, 0x10, frames, 0, 1, len(big_frame), 64, 64, 0, 0, 0, 0)
    stream = b"vids" + b"MJPG" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, frames, len(big_frame),
                                             0xFFFFFFFF, 0, 0, 0, 64, 64)
    picture = struct.pack("<IiiHH4sIiiII", 40, 64, 64, 1, 24, b"MJPG", 64 * 64 * 3, 0, 0, 0, 0)
    indx = b""
    if super_index:   # each entry: where the standard index is (here: just after this chunk), its size, frames
        entries = struct.pack("<QII", 0, 32, 0) * super_index
        indx = chunk(b"indx", struct.pack("<HBBI4s12x", 4, 0, 0, super_index, b"00dc") + entries)
    headers = chunk(b"LIST", b"hdrl" + chunk(b"avih", main)
                    + chunk(b"LIST", b"strl" + chunk(b"strh", stream) + chunk(b"strf", picture) + indx))
    movi, index, at = [], [], 4
    for n in range(frames):
        frame = chunk(b"00dc", small_frame if n < small else big_frame)
        index.append(b"00dc" + struct.pack("<III", 0x10, at, len(frame) - 8))
        at += len(frame)
        movi.append(frame)
    body = b"AVI " + headers + chunk(b"LIST", b"movi" + b"".join(movi)) + chunk(b"idx1", b"".join(index))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_motion_jpeg_frames_over_the_pixel_limit_behind_a_small_header_are_refused(tmp_path):
    """Frames of 16000×16000 behind a 64×64 header were decoded whole, then judged (and reported) as 64×64."""
    path = write(tmp_path, "switch.avi", motion_jpeg_avi(small=3, frames=8))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path, max_pixels=50_000)))
    assert message == "frame 4 of the video is 320×240 (0.077 MP); the limit is 0.05 MP per frame"


def test_motion_jpeg_frames_larger_than_the_header_says_are_refused(tmp_path):
    path = write(tmp_path, "switch.avi", motion_jpeg_avi(small=3, frames=8))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message == "frame 4 of the video is 320×240, larger than the 64×64 its header states"


@pytest.mark.parametrize("name", ["clip.avi", "clip.mov", "clip.mkv"])
def test_motion_jpeg_whose_frames_match_its_header_samples_as_before(tmp_path, name):
    writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(30):
        writer.write(np.full((240, 320, 3), i * 8, np.uint8))
    writer.release()
    frames, info = sample_frames(tmp_path / name, 5, Settings(home=tmp_path))
    assert len(frames) == 5 and (info["width"], info["height"]) == (320, 240)
    path = write(tmp_path, "honest.avi", motion_jpeg_avi(small=8, frames=8))
    assert len(sample_frames(path, 4, Settings(home=tmp_path))[0]) == 4


def test_an_avi_whose_super_index_lists_tens_of_thousands_of_indexes_is_refused(tmp_path):
    """FFmpeg seeks to each standard index an OpenDML super index lists as it opens the file, before any
    time limit: 200,000 in a 3 MB AVI took 7.4 s, each time the file was opened."""
    path = write(tmp_path, "odml.avi", motion_jpeg_avi(small=8, frames=8, super_index=20_000))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message == "the video's index lists 20,000 further indexes; real videos have at most a few hundred"


def test_an_avi_with_a_few_standard_indexes_samples_as_before(tmp_path):
    path = write(tmp_path, "odml.avi", motion_jpeg_avi(small=8, frames=8, super_index=3))
    assert len(sample_frames(path, 4, Settings(home=tmp_path))[0]) == 4


# FLV

def flv_of_25_frames() -> bytes:
    """An FLV of 25 frames of 64×64 (Sorenson H.263, as OpenCV writes it)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        name = str(Path(folder) / "clip.flv")
        writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*"FLV1"), 25, (64, 64))
        for i in range(25):
            writer.write(np.full((64, 64, 3), i * 8, np.uint8))
        writer.release()
        return Path(name).read_bytes()


def flv_with_keyframes(times, declared: int | None = None) -> bytes:
    """flv_of_25_frames whose metadata (onMetaData) lists the keyframes at `times` (s), all at its
    first frame; their arrays declared `declared` long if said."""
    base = flv_of_25_frames()

    def text(s: bytes) -> bytes:
        return struct.pack(">H", len(s)) + s

    def numbers(values) -> bytes:   # a strict array of numbers
        length = len(values) if declared is None else declared
        return b"\x0a" + struct.pack(">I", length) + b"".join(b"\x00" + struct.pack(">d", v) for v in values)

    def tag(position) -> bytes:   # a script tag: onMetaData, then a mixed array holding keyframes
        keyframes = (b"\x03" + text(b"times") + numbers(times) + text(b"filepositions")
                     + numbers([position] * len(times)) + b"\x00\x00\x09")
        body = (b"\x02" + text(b"onMetaData") + b"\x08" + struct.pack(">I", 1) + text(b"keyframes") + keyframes
                + b"\x00\x00\x09")
        return b"\x12" + struct.pack(">I", len(body))[1:] + bytes(7) + body + struct.pack(">I", 11 + len(body))

    position = 13 + len(tag(0))   # after the header, the first tag size, and this tag
    return base[:13] + tag(position) + base[13:]


def test_an_flv_whose_keyframe_list_declares_millions_of_entries_is_refused(tmp_path):
    """FFmpeg allocates and zeroes 8 bytes for each entry declared before reading one: a 7 KB FLV
    declaring 268 million took 4.6 s and 2.2 GB."""
    path = write(tmp_path, "keyframes.flv", flv_with_keyframes([0.0, 1.0], declared=2_000_000))
    message = refused(lambda: sample_frames(path, 4, Settings(home=tmp_path)))
    assert message == ("the video's keyframe list declares 2,000,000 entries; a video within the 1800 s limit "
                       "has at most 1,800,000")


def test_an_flv_with_an_honest_keyframe_list_samples_as_before(tmp_path):
    path = write(tmp_path, "keyframes.flv", flv_with_keyframes([0.0, 0.5]))
    frames, info = sample_frames(path, 4, Settings(home=tmp_path))
    assert len(frames) == 4 and (info["width"], info["height"]) == (64, 64)


# TIFF

def tiff_of_strips(strips: int, height: int = 64) -> bytes:
    """An uncompressed 64×`height` grey TIFF of one row a strip whose StripOffsets lists `strips` strips
    (as short numbers, all the first row's offset: Pillow makes a tile of each)."""
    pixels = bytes(range(64)) * height
    offsets_at = 8 + len(pixels)
    offsets = struct.pack("<H", 8) * strips
    counts_at = offsets_at + len(offsets)
    counts = struct.pack("<H", 64) * strips
    directory_at = counts_at + len(counts)

    def entry(tag, kind, count, value):
        return struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 and count == 1
                                                         else struct.pack("<I", value))

    entries = [entry(256, 3, 1, 64), entry(257, 3, 1, height), entry(258, 3, 1, 8), entry(259, 3, 1, 1),
               entry(262, 3, 1, 1), entry(273, 3, strips, offsets_at), entry(277, 3, 1, 1), entry(278, 3, 1, 1),
               entry(279, 3, strips, counts_at)]
    directory = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", directory_at) + pixels + offsets + counts + directory


def test_a_tiff_listing_hundreds_of_thousands_of_strips_is_refused_before_pillow_makes_a_tile_of_each(tmp_path):
    """2 MB listing 1,000,000 strips took Pillow 1.25 s and 550 MB to open (a check opens it three times)
    and 6.6 s to read."""
    path = write(tmp_path, "strips.tif", tiff_of_strips(300_000))
    message = refused(lambda: read_image(path, "image/tiff", 10**8))
    assert message == "the TIFF has a tag (273) holding 300,000 numbers; a real picture's hold at most 262,144"


def test_a_tiff_of_one_strip_a_row_and_a_multi_page_tiff_still_read(tmp_path):
    path = write(tmp_path, "rows.tif", tiff_of_strips(64))
    assert read_image(path, "image/tiff", 10**8).shape == (64, 64, 3)
    exif = Image.Exif()
    exif[0x0131] = "a scanner"
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00a comment"
    pages = [Image.new("RGB", (48, 32), (i * 40, 90, 160)) for i in range(5)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:], exif=exif, compression="tiff_lzw")
    assert read_image(tmp_path / "pages.tif", "image/tiff", 10**8).shape == (32, 48, 3)


def bigtiff(pixels: np.ndarray, strips: int = 1) -> bytes:
    """An uncompressed RGB BigTIFF laid out as libtiff writes one: header, pixels, then the directory (8-byte
    counts and offsets, 20-byte entries); StripOffsets lists `strips` strips (all the first)."""
    h, w, _ = pixels.shape
    strip = pixels.tobytes()
    directory_at = 16 + len(strip)
    offsets_at = directory_at + 8 + 20 * 10 + 8
    entries = [(256, 4, 1, w), (257, 4, 1, h), (259, 3, 1, 1), (262, 3, 1, 2), (277, 3, 1, 3),
               (278, 4, 1, h), (279, 16, 1, len(strip))]
    directory = b"".join(struct.pack("<HHQQ", *e) for e in entries)
    directory += struct.pack("<HHQHHHH", 258, 3, 3, 8, 8, 8, 0)
    directory += struct.pack("<HHQQ", 273, 16, strips, 16 if strips == 1 else offsets_at)
    directory += struct.pack("<HHQQ", 284, 3, 1, 1)
    directory = struct.pack("<Q", 10) + directory + struct.pack("<Q", 0)
    offsets = struct.pack("<Q", 16) * strips if strips > 1 else b""
    return b"II" + struct.pack("<HHHQ", 43, 8, 0, directory_at) + strip + directory + offsets


def test_a_bigtiff_is_walked_as_one_and_a_real_one_reads(tmp_path):
    """Read as a classic TIFF, a BigTIFF's directory offset was its header's 8 and its entries were the
    pixels: 20 of 20 noisy BigTIFFs were refused for a made-up tag holding millions of numbers."""
    pixels = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    path = write(tmp_path, "noisy.tif", bigtiff(pixels))
    assert read_image(path, "image/tiff", 10**8).shape == (120, 160, 3)
    path = write(tmp_path, "strips.tif", bigtiff(pixels[:1], strips=300_000))
    message = refused(lambda: read_image(path, "image/tiff", 10**8))
    assert message == "the TIFF has a tag (273) holding 300,000 numbers; a real picture's hold at most 262,144"


# Through the API, and over the real files

def test_a_bomb_uploaded_is_413_too_large_in_plain_words(client, auth):
    base = small_jpeg()
    r = client.post("/api/v1/checks?wait=10", base_url=BASE_URL, headers=auth, content_type="multipart/form-data",
                    data={"media": (io.BytesIO(base[:2] + b"\xff\xe1\x00\x02" * 5_000 + base[2:]), "x.jpg")})
    assert r.status_code == 413, r.get_json()
    assert r.get_json()["error"] == {"code": "too_large", "message": "the JPEG has more than 1,000 marker segments "
                                     "before its picture data; real pictures have a few hundred at most"}


def test_no_picture_or_video_of_the_shared_data_is_refused(tmp_path):
    """Every JPEG (10,895: faces, generated faces, the C2PA test files) and MP4 (41 clips) there passes."""
    data = need_shared()
    settings, checked = Settings(home=tmp_path), 0
    for path in sorted(data.rglob("*")):
        if path.suffix.lower() in (".jpg", ".jpeg"):
            structure.walk_image(path.read_bytes(), "image/jpeg")
        elif path.suffix.lower() == ".mp4":
            with structure.mapped(path) as mapped:
                structure.check_video_index(mapped, settings)
        else:
            continue
        checked += 1
    assert checked > 10_000


# Matroska, WebM

def ebml_size(n: int) -> bytes:
    width = 1
    while n >= (1 << (7 * width)) - 1:
        width += 1
    return ((1 << (7 * width)) | n).to_bytes(width, "big")


def element(ident: str, body=b"") -> bytes:
    if isinstance(body, int):
        body = body.to_bytes(max(1, (body.bit_length() + 7) // 8), "big")
    body = body.encode() if isinstance(body, str) else body
    return bytes.fromhex(ident) + ebml_size(len(body)) + body


def matroska(before=b"", after=b"", seek_to=None) -> bytes:
    """A Matroska file of 25 Motion JPEG frames of 64×64 at 25 a second, `before` its clusters and `after`
    them; with a SeekHead pointing to the element that starts `after` (`seek_to`, its id) when given."""
    frame = small_jpeg()
    header = element("1A45DFA3", element("4286", 1) + element("42F7", 1) + element("42F2", 4) + element("42F3", 8)
                     + element("4282", "matroska") + element("4287", 4) + element("4285", 2))
    info = element("1549A966", element("2AD7B1", 1_000_000) + element("4489", struct.pack(">d", 1000.0)))
    tracks = element("1654AE6B", element("AE", element("D7", 1) + element("73C5", 1) + element("83", 1)
                                         + element("86", "V_MJPEG") + element("E0", element("B0", 64) + element("BA", 64))))
    clusters = b"".join(element("1F43B675", element("E7", n * 40) + element("A3", b"\x81\x00\x00\x80" + frame))
                        for n in range(25))

    def seek_head(position: int) -> bytes:
        return element("114D9B74", element("4DBB", element("53AB", bytes.fromhex(seek_to))
                                           + element("53AC", struct.pack(">Q", position))))

    rest = info + tracks + before
    if seek_to:
        rest = seek_head(0) + rest
        rest = seek_head(len(rest) + len(clusters)) + rest[len(seek_head(0)):]
    body = rest + clusters + after
    return header + bytes.fromhex("18538067") + struct.pack(">Q", len(body) | 1 << 56) + body


def chapters(count: int) -> bytes:
    """`count` chapters at the start, numbered in decreasing order (FFmpeg looks each up among those before)."""
    atoms = b"".join(element("B6", element("73C4", struct.pack(">I", count - n)) + element("91", 0))
                     for n in range(count))
    return element("1043A770", element("45B9", atoms))


def tags(count: int) -> bytes:
    fields = b"".join(element("67C8", element("45A3", f"FIELD{n}") + element("4487", "x")) for n in range(count))
    return element("1254C367", element("7373", element("63C0") + fields))


def cues(times) -> bytes:
    return element("1C53BB6B", b"".join(element("BB", element("B3", struct.pack(">I", t))
                                                + element("B7", element("F7", 1) + element("F1", 100))) for t in times))


def test_a_matroska_with_a_few_chapters_tags_and_cues_samples_as_before(tmp_path):
    path = write(tmp_path, "ok.mkv", matroska(chapters(12) + tags(20) + cues(range(0, 1000, 40))))
    frames, info = sample_frames(path, 4, Settings(home=tmp_path))
    assert len(frames) == 4 and (info["width"], info["height"]) == (64, 64)


def test_chapters_nested_thousands_deep_are_walked_only_as_deep_as_ffmpeg_reads(tmp_path):
    """3,000 chapters each inside the one before made the walk recurse past Python's limit; FFmpeg reads
    elements 16 deep at most, and samples this file."""
    atom = element("91", 0)
    for _ in range(3_000):
        atom = element("B6", atom)
    path = write(tmp_path, "nested.mkv", matroska(element("1043A770", element("45B9", atom))))
    frames, info = sample_frames(path, 4, Settings(home=tmp_path))
    assert len(frames) == 4 and (info["width"], info["height"]) == (64, 64)


def test_a_matroska_of_tens_of_thousands_of_chapters_is_refused(tmp_path):
    """FFmpeg looks each chapter's number up among those before it: 100,000 in 1.2 MB took 4.9 s each open."""
    path = write(tmp_path, "chapters.mkv", matroska(chapters(10_001)))
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))) == (
        "the video has more than 10,000 chapters; real videos have a few dozen at most")


def test_a_matroska_of_thousands_of_tags_is_refused_also_when_only_its_seek_head_points_to_them(tmp_path):
    """FFmpeg looks each field's name up among those before it: 60,000 in 0.9 MB took 12 s each open."""
    for name, data in (("before.mkv", matroska(tags(5_001))), ("after.mkv", matroska(after=tags(5_001), seek_to="1254C367"))):
        path = write(tmp_path, name, data)
        assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))) == (
            "the video has more than 5,000 metadata fields (tags); real videos have a few dozen at most")


def test_a_matroska_whose_cue_points_run_backwards_is_refused(tmp_path):
    """FFmpeg moves every later index entry to insert each: 200,000 in decreasing order took 4.8 s each open."""
    path = write(tmp_path, "cues.mkv", matroska(after=cues(range(1000, 0, -1)), seek_to="1C53BB6B"))
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))) == (
        "the video's seek index has more than 100 entries out of time order; real videos have none")


# Ogg, AVI text fields

def test_an_ogg_whose_comment_header_declares_tens_of_thousands_of_fields_is_refused(tmp_path):
    """FFmpeg searches the fields before for each: 50,000 in 0.5 MB took 8.8 s to open (chapters: 26 s)."""
    ident = (b"\x80theora\x03\x02\x01" + struct.pack(">HH", 4, 4) + (64).to_bytes(3, "big") * 2 + bytes(2)
             + struct.pack(">II", 25, 1)).ljust(42, b"\x00")
    comments = b"\x81theora" + struct.pack("<I", 1) + b"x" + struct.pack("<I", 10_001)
    page = b"OggS\x00\x02" + bytes(8) + struct.pack("<III", 1, 0, 0) + bytes([1, len(ident)]) + ident
    path = write(tmp_path, "comments.ogv", page + comments + b"\x09K=v" * 10_001)
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))) == (
        "the video's comment header declares 10,001 fields; real videos have a few dozen")


def test_an_avi_of_thousands_of_text_fields_is_refused(tmp_path):
    """FFmpeg looks each up among those before it: 50,000 INFO fields in 520 KB took 10 s each open."""
    base = motion_jpeg_avi(25, 25)
    fields = b"".join(struct.pack("<4sI", f"I{n:03x}".encode(), 2) + b"x\x00" for n in range(1_001))
    body = b"AVI " + b"LIST" + struct.pack("<I", 4 + len(fields)) + b"INFO" + fields + base[12:]
    path = write(tmp_path, "info.avi", b"RIFF" + struct.pack("<I", len(body)) + body)
    assert refused(lambda: sample_frames(path, 4, Settings(home=tmp_path))) == (
        "the video has more than 1,000 text fields (INFO); real videos have a few")


# BMP

def rle_bmp(width: int, height: int) -> bytes:
    """8-bit pixels marked RLE4, which OpenCV refuses and Pillow decodes in Python: each row one pixel, then an
    end of line that Pillow pads a byte at a time."""
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    pixels = b"\x01\x80\x00\x00" * height + b"\x00\x01"
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 2, len(pixels), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def test_a_large_rle_bmp_that_only_pillow_reads_is_refused_a_small_one_read(tmp_path):
    """A 4.7 KB BMP of 65,535×915 took Pillow's Python decoder 3.8 s."""
    path = write(tmp_path, "big.bmp", rle_bmp(3_000, 3_000))
    assert refused(lambda: read_image(path, "image/bmp", 10**8)).startswith(
        "the BMP is run-length coded, 3000×3000 pixels")
    small = read_image(write(tmp_path, "small.bmp", rle_bmp(300, 200)), "image/bmp", 10**8)
    assert small.shape == (200, 300, 3)
