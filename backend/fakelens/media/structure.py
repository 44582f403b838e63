"""Cheap checks of a file's own structure, made before any decoder sees it.

Decoders trust what a file declares: FFmpeg allocates an index entry for every sample an MP4's tables
name, Pillow parses every JPEG segment, PNG chunk and GIF block before the pixels one by one in Python,
libjpeg decodes every scan of a progressive JPEG. A few bytes can declare millions of each, and none of
it can be stopped once started. These walks read only the structure (never pixels), stop as soon as a
cap is passed and refuse the file as `too_large`; each cap is far above what real files have. (A MOV whose
movie header is compressed is `unsupported_media`: FFmpeg would unpack it and index what it holds unseen.)
"""

import mmap
import re
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import FakeLensError

# JPEG
JPEG_MAX_HEADER_SEGMENTS = 1_000   # marker segments before the picture data: a phone photo has 10-20, extended
# XMP (depth maps) or a C2PA manifest cut in 64 KB pieces a few hundred; Pillow parses each in Python, and
# 45 MB of empty ones took it 19 s and 1.6 GB
JPEG_MAX_HEADER_PADDING = 65_536   # fill or stray bytes between those segments: Pillow reads them one at a
# time (45 MB of 0xFF fill took 30 s); real files have a few at most
JPEG_MAX_SCANS = 500   # libjpeg-turbo advises limiting a progressive JPEG's scans against scan bombs
# (TJPARAM_SCANLIMIT, with "Two Issues with the JPEG Standard"; its own fuzzers allow 500): libjpeg decodes each
# scan over the whole picture and cannot be stopped meanwhile (0.8 ms a scan at 16 MP here, so 100,000 took
# 84 s). libjpeg's own progressive script writes 10 scans for a colour picture, 6 for a grey one
JPEG_MAX_SEGMENTS = JPEG_MAX_HEADER_SEGMENTS + 4 * JPEG_MAX_SCANS   # in all: a table or two beside each scan
# PNG
PNG_MAX_HEADER_CHUNKS = 1_000   # chunks before the pixels (IDAT): real pictures have 3-20, a generator's text
# chunks included; Pillow parses each in Python (45 MB of tiny ones: 12-20 s and 400-600 MB)
PNG_MAX_CHUNKS = 100_000   # in all: the pixels are cut in chunks of 8-64 KB (6,400 for 50 MB at 8 KB) and an
# animated PNG adds two a frame; each is walked in Python to find the end, the orientation and the metadata
# GIF
GIF_MAX_BLOCKS = 100_000   # extensions and images: an animated GIF has two a frame (50,000 frames is half an
# hour at 25 fps); Pillow walks them in Python (45 MB of empty extensions: 2.6 s each time it opens the file)
GIF_MAX_SUB_BLOCKS = 1_000_000   # the pieces of at most 255 bytes that hold each block's data: 200,000 for a
# 50 MB GIF; Pillow walks those of the extensions and of the first frame in Python
# WebP
WEBP_MAX_CHUNKS = 100_000   # top-level chunks: an animated WebP has one a frame (ANMF) and a few more;
# libwebp's demuxer, which Pillow opens it with, keeps a record of each (1,000,000 frames in 46 MB: 240 MB
# and 0.15 s; 6,000,000 empty unknown chunks in 48 MB: 290 MB and 0.8 s, each time it is opened)
# MP4, MOV, 3GP (ISO base media)
MP4_MAX_BOXES = 200_000   # boxes walked, at any depth: a plain file has a few dozen, a fragmented one about six
# a fragment (half an hour in one-second fragments: 11,000). FFmpeg walks each too: 100 MB of 8-byte boxes
# took it 4.6 s on each of the two or three times a check opens the file
MP4_MAX_DEPTH = 16   # box levels walked (moov is the 1st): FFmpeg reads 11 and refuses a file nesting deeper (a
# real file nests 7: moov/trak/mdia/minf/stbl/stsd/avc1, or moov/udta/meta/ilst/item/data), so all it reads is
# counted, and a chain of thousands of nested boxes does not exhaust Python's recursion
MP4_MAX_TRACKS = 64   # a broadcast MOV carries 16 mono sound tracks beside its video and time code
MP4_MAX_METADATA = 5_000   # metadata fields (udta and ilst entries, and the names a keys box declares: a named
# field counts twice, name and value): a phone writes a dozen, a tagged file a few dozen. FFmpeg looks each new
# one up among those before it (20,000 named fields in 0.9 MB took 1.9 s each time the file is opened, 100,000
# would take some 47 s) and allocates a keys box's declared count before reading any
MP4_SAMPLES_PER_SECOND = 1_000   # index entries a real file needs a second: 240 fps video and its sound (AAC:
# 47 packets a second) with room to spare. FFmpeg allocates some 35 bytes for each entry a file declares before
# anything is decoded (80 million samples declared in 3 KB took 2.8 GB)
ISO_MEDIA_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"}   # as fetch/sniff.py tells them
# TIFF
TIFF_MAX_VALUES = 262_144   # numbers in one tag of the first directory (or its EXIF or GPS directory): Pillow
# unpacks each into a Python object as it opens the file, and makes a tile of each strip's offset (a 2 MB TIFF
# listing 1,000,000 strips took 1.25 s and 550 MB each of the three times a check opens it, and 6.6 s to read
# through Pillow). A real picture has at most one strip a row: 65,535 rows of 4 separate channels (planar) is
# 262,140; a 16-bit palette (ColorMap) or transfer curve 196,608 numbers
# FLV
FLV_MAX_KEYFRAME_ARRAYS = 1_000   # keyframe lists (times, filepositions) in the metadata: a real file has one pair
# OpenDML AVI
AVI_MAX_SUPER_INDEX = 10_000   # entries of a stream's super index (indx), one per standard index: writers cut
# one per RIFF segment of up to 1 GB or every few thousand frames (an hour at 60 fps cut every 1,000 frames:
# 216). FFmpeg seeks to each and reads 32 KB there as it opens the file: 200,000 in a 3 MB AVI took 7.4 s
AVI_MAX_INFO = 1_000   # text fields (INFO list: title, artist, software…): real files have a few. FFmpeg files each
# under its name in a list it searches through for every new one: 50,000 in a 520 KB AVI took 10 s each open
# Matroska, WebM: what FFmpeg reads as it opens the file (header elements, and those its SeekHead points to)
MKV_MAX_ELEMENTS = 1_000_000   # elements walked: a header of a few hundred, cue points (a few elements each)
MKV_MAX_DEPTH = 20   # element levels walked: a few more than FFmpeg reads (EBML_MAX_DEPTH, 16)
MKV_MAX_CHAPTERS = 10_000   # chapter entries: a film has a few dozen. FFmpeg looks each one's number up among
# those before when they are not in increasing order: 100,000 in 1.2 MB took 4.9 s each open (cost ~ count²)
MKV_MAX_TAGS = 5_000   # metadata fields (SimpleTag): mkvmerge writes 7 a track, a tagged file a few dozen more.
# FFmpeg looks each name up among those before: 60,000 in 0.9 MB took 12 s each open (cost ~ count²)
MKV_CUES_PER_SECOND = 120   # cue points (the seek index): one a keyframe, at most one a frame
MKV_MAX_CUES_OUT_OF_ORDER = 100   # cue points earlier than one before them: muxers write them in order. FFmpeg
# moves every later entry of its index to insert each: 200,000 in decreasing order (3.2 MB) took 4.8 s each open
# Ogg (Theora)
OGG_MAX_COMMENTS = 10_000   # comment fields (title, encoder, two a chapter): real files have a few dozen. FFmpeg
# searches those before for each (and each chapter among the chapters): 50,000 in 0.5 MB took 8.8 s to open


def _too_large(message: str) -> FakeLensError:
    return FakeLensError("too_large", message)


@contextmanager
def mapped(path: Path):
    """The file's bytes, mapped rather than read: a walk touches only the pages it looks at."""
    with open(path, "rb") as file:
        if not file.seek(0, 2):
            yield b""
            return
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def walk_image(data, mime: str) -> bool:
    """Refuses (FakeLensError) a JPEG, PNG, GIF, TIFF or WebP with more segments, scans, chunks, blocks or
    numbers than a real picture has; says whether a JPEG or PNG reaches its end marker (True for other
    formats)."""
    if mime == "image/jpeg":
        return jpeg_layout(data).ended
    if mime == "image/png":
        return png_ends(data)
    if mime == "image/gif":
        _walk_gif(data)
    if mime == "image/tiff":
        _walk_tiff(data)
    if mime == "image/webp":
        _walk_webp(data)
    return True


@dataclass
class JpegLayout:
    ended: bool                          # its marker segments reach EOI
    size: tuple[int, int] | None = None  # (width, height) from its first frame header (SOFn)


# a marker: 0xFF and a code that is not a stuffed zero, a restart marker (RSTn) or more fill
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_layout(data) -> JpegLayout:
    """Walks a JPEG's marker segments from SOI to EOI once (an EXIF thumbnail's EOI is inside its APP1,
    skipped with it): the entropy-coded data and the fill between segments are searched by the regex
    engine, so only segments cost a Python step, and their count is capped."""
    at, segments, scans, padding, size = 2, 0, 0, 0, None
    while at < len(data):
        # before the picture data, what lies between segments is fill or stray bytes: looked through no
        # further than the padding allowed
        end = len(data) if scans else min(len(data), at + JPEG_MAX_HEADER_PADDING - padding + 2)
        found = _JPEG_MARKER.search(data, at, end)
        if not scans:
            padding += (found.start() if found else end) - at
            if padding > JPEG_MAX_HEADER_PADDING or (not found and end < len(data)):
                raise _too_large(f"the JPEG has more than {JPEG_MAX_HEADER_PADDING:,} padding bytes between its "
                                 "header segments; real pictures have a few at most")
        if not found:
            break
        start = found.start()
        marker = data[start + 1]
        if marker == 0xD9:
            return JpegLayout(True, size)
        if marker == 0x01:   # TEM: no length
            at = start + 2
            continue
        if start + 4 > len(data):
            break
        segments += 1
        scans += marker == 0xDA
        if not scans and segments > JPEG_MAX_HEADER_SEGMENTS:
            raise _too_large(f"the JPEG has more than {JPEG_MAX_HEADER_SEGMENTS:,} marker segments before its "
                             "picture data; real pictures have a few hundred at most")
        if scans > JPEG_MAX_SCANS:
            raise _too_large(f"the JPEG has more than {JPEG_MAX_SCANS:,} scans (passes over the picture); "
                             "real pictures have a few dozen at most")
        if segments > JPEG_MAX_SEGMENTS:
            raise _too_large(f"the JPEG has more than {JPEG_MAX_SEGMENTS:,} marker segments; real pictures "
                             "have a few hundred at most")
        if marker in _SOF and size is None and start + 9 <= len(data):
            height, width = struct.unpack_from(">HH", data, start + 5)
            size = (width, height)
        at = start + 2 + int.from_bytes(data[start + 2:start + 4], "big")
    return JpegLayout(False, size)


def png_chunks(data):
    """(kind, body) of each chunk after the signature, as far as the file goes (slices of `data`)."""
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        yield kind, data[at + 8:at + 8 + length]
        at += 12 + length


def png_ends(data) -> bool:
    """Whether a PNG's chunks reach IEND; refuses one with more chunks than a real picture has, before
    its pixels or in all. Only the chunk headers are read."""
    at, chunks, pixels = 8, 0, False
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"IEND":
            return True
        chunks += 1
        pixels = pixels or kind == b"IDAT"
        if not pixels and chunks > PNG_MAX_HEADER_CHUNKS:
            raise _too_large(f"the PNG has more than {PNG_MAX_HEADER_CHUNKS:,} chunks before its pixels; real "
                             "pictures have a few dozen at most")
        if chunks > PNG_MAX_CHUNKS:
            raise _too_large(f"the PNG has more than {PNG_MAX_CHUNKS:,} chunks; real pictures have a few "
                             "thousand at most")
        at += 12 + length
    return False


def _walk_gif(data) -> None:
    """Refuses a GIF with more blocks (extensions, images) or data sub-blocks than a real one has. Stops
    quietly where the file stops making sense as a GIF: what is there is the decoders' to judge."""
    if len(data) < 13:
        return
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)   # the screen descriptor, global colours
    blocks = pieces = 0
    while at < len(data) and data[at] != 0x3B:   # up to the trailer
        if data[at] == 0x21:     # an extension: its introducer and label, then its sub-blocks
            at += 2
        elif data[at] == 0x2C:   # an image: its descriptor, local colours, LZW code size, then its sub-blocks
            if at + 10 > len(data):
                return
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        else:
            return
        blocks += 1
        if blocks > GIF_MAX_BLOCKS:
            raise _too_large(f"the GIF has more than {GIF_MAX_BLOCKS:,} blocks (frames and extensions); real "
                             "pictures have a few thousand at most")
        while at < len(data) and data[at]:   # sub-blocks, up to the empty one that ends the block
            at += data[at] + 1
            pieces += 1
            if pieces > GIF_MAX_SUB_BLOCKS:
                raise _too_large(f"the GIF's data is cut in more than {GIF_MAX_SUB_BLOCKS:,} pieces; real "
                                 "pictures have a few hundred thousand at most")
        at += 1


def _walk_webp(data) -> None:
    """Refuses a WebP with more top-level chunks (frames, metadata, unknown ones) than a real one has.
    Stops quietly where the chunks stop making sense: what is there is the decoders' to judge."""
    if bytes(data[8:12]) != b"WEBP":
        return
    end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    for chunks, _ in enumerate(_riff_chunks(data, 12, end), start=1):
        if chunks > WEBP_MAX_CHUNKS:
            raise _too_large(f"the WebP has more than {WEBP_MAX_CHUNKS:,} chunks (frames and metadata); real "
                             "pictures have a few thousand at most")


# TIFF types that Pillow unpacks into a number each (bytes, text and undefined data it keeps as they are)
_TIFF_NUMBERS = {3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 16, 17, 18}
_TIFF_SUB_DIRECTORIES = {34665, 34853}   # EXIF, GPS: read with the first directory (getexif, the metadata)


def _walk_tiff(data) -> None:
    """Refuses a TIFF whose first directory (or the EXIF or GPS directory it points to) has a tag holding
    more numbers than a real picture's. Only what Pillow reads when it opens the file is walked: its further
    pages (directories) are not read before one is asked for. Classic TIFF and BigTIFF (8-byte counts and
    offsets). Stops quietly where the file stops making sense: what is there is the decoders' to judge."""
    if len(data) < 16:
        return
    order = "<" if data[:2] == b"II" else ">"
    version = struct.unpack_from(order + "H", data, 2)[0]
    if version == 42:    # classic: 2-byte entry counts, 12-byte entries (tag, type, count, value or offset)
        first, counted, entry_format, entry_size = struct.unpack_from(order + "I", data, 4)[0], "H", "HHI", 12
    elif version == 43:  # BigTIFF: 8-byte counts, 20-byte entries
        first, counted, entry_format, entry_size = struct.unpack_from(order + "Q", data, 8)[0], "Q", "HHQ", 20
    else:
        return
    value_at = struct.calcsize(order + entry_format)   # where an entry's value (or its offset) starts
    directories, seen = [first], set()
    while directories:
        at = directories.pop()
        if at in seen or at + struct.calcsize(order + counted) > len(data):
            continue
        seen.add(at)
        count = min(struct.unpack_from(order + counted, data, at)[0], 65_535)   # as a classic TIFF's at most
        entries = at + struct.calcsize(order + counted)
        for entry in range(entries, min(entries + entry_size * count, len(data) - entry_size + 1), entry_size):
            tag, kind, values = struct.unpack_from(order + entry_format, data, entry)
            if kind in _TIFF_NUMBERS and values > TIFF_MAX_VALUES:
                raise _too_large(f"the TIFF has a tag ({tag}) holding {values:,} numbers; a real picture's hold "
                                 f"at most {TIFF_MAX_VALUES:,}")
            # a pointer to the EXIF or GPS directory: LONG or IFD, or in a BigTIFF also LONG8 or IFD8
            if tag in _TIFF_SUB_DIRECTORIES and values == 1 and len(seen) < 4 and kind in (4, 13, 16, 18):
                pointer = "I" if kind in (4, 13) else "Q"
                if kind in (16, 18) and entry_size == 12:   # an 8-byte value does not fit a classic entry
                    continue
                directories.append(struct.unpack_from(order + pointer, data, entry + value_at)[0])


def is_iso_media(data) -> bool:
    """An MP4, MOV or 3GP file: one whose first box is one of those such files start with."""
    return len(data) >= 8 and bytes(data[4:8]) in ISO_MEDIA_FIRST_BOXES


class BoxWalk:
    """Walks an ISO base media file's boxes (MP4, MOV, 3GP), counting every box it steps over at any
    depth, and refuses the file once there are more than MP4_MAX_BOXES."""

    def __init__(self, data):
        self.data, self.walked = data, 0

    def boxes(self, start: int = 0, end: int | None = None):
        """(kind, body start, end) of each box between `start` and `end` (the file's end when None); a box
        whose size cannot be ends the walk there (FFmpeg judges what is left)."""
        data = self.data
        end = len(data) if end is None else min(end, len(data))
        at = start
        while at + 8 <= end:
            self.walked += 1
            if self.walked > MP4_MAX_BOXES:
                raise _too_large(f"the video file is made of more than {MP4_MAX_BOXES:,} boxes (its container's "
                                 "building blocks); real videos have a few tens of thousands at most")
            size, kind = struct.unpack_from(">I4s", data, at)
            body = at + 8
            if size == 1 and at + 16 <= end:   # a 64-bit size follows
                size, body = struct.unpack_from(">Q", data, at + 8)[0], at + 16
            elif size == 0:   # up to the end
                size = end - at
            if size < body - at:
                return
            yield kind, body, min(at + size, end)
            at += size

    def uint32(self, at: int, end: int) -> int:
        """The big-endian 32-bit number at `at`, or 0 where the box ends before it."""
        return struct.unpack_from(">I", self.data, at)[0] if at + 4 <= end else 0


def movie_missing(data) -> str | None:
    """What an MP4/MOV that FFmpeg could not open lacks, from its top-level boxes and its tracks' handlers:
    "index" when it has no whole movie header (moov: an MP4 written with its index last, then cut off, as an
    interrupted download or recording is), "video" when its tracks hold sound but none holds pictures;
    None when neither (or it is no MP4/MOV)."""
    if not is_iso_media(data):
        return None
    walk, at, handlers = BoxWalk(data), 0, set()
    for kind, body, end in walk.boxes():
        declared = struct.unpack_from(">I", data, at)[0]
        if declared == 1:
            declared = struct.unpack_from(">Q", data, at + 8)[0] if at + 16 <= len(data) else 0
        if kind == b"moov":
            if declared > len(data) - at:   # cut off inside it
                return "index"
            for child, child_body, child_end in walk.boxes(body, end):
                if child == b"trak":
                    handlers |= _track_handlers(walk, child_body, child_end)
            if b"soun" in handlers and b"vide" not in handlers:
                return "video"
            return None
        at = end
    return "index"


def _track_handlers(walk: BoxWalk, start: int, end: int, depth: int = 3) -> set:
    """The handler types the hdlr boxes of one track (trak box) name: b"vide", b"soun"…"""
    handlers = set()
    for kind, body, box_end in walk.boxes(start, end):
        if kind in _TRACK_CONTAINERS and depth < MP4_MAX_DEPTH:
            handlers |= _track_handlers(walk, body, box_end, depth + 1)
        elif kind == b"hdlr":
            handlers.add(bytes(walk.data[body + 8:min(body + 12, box_end)]))
    return handlers


def check_movie_index(data, settings) -> None:
    """Refuses an MP4/MOV whose sample tables declare more index entries than a video within FakeLens's
    length limit can need, or more tracks than real files carry, before FFmpeg allocates them. Counted as
    FFmpeg indexes them: every sample of a track, a fragment's (trun) too, except a sound track of one
    sample per time unit (uncompressed sound), which it indexes by chunks of up to 1,024 samples."""
    cap = int(settings.max_duration_s * MP4_SAMPLES_PER_SECOND)
    walk, tracks, entries = BoxWalk(data), 0, 0
    for kind, body, end in walk.boxes():
        if kind == b"moov":
            for child, child_body, child_end in walk.boxes(body, end):
                if child == b"cmov":   # FFmpeg unpacks it, and would index what it holds unchecked
                    raise FakeLensError("unsupported_media", "the video's movie header is compressed (an early "
                                        "QuickTime form), which FakeLens does not read")
                if child == b"trak":
                    tracks += 1
                    if tracks > MP4_MAX_TRACKS:
                        raise _too_large(f"the video has more than {MP4_MAX_TRACKS} tracks; real videos have a "
                                         "few, broadcast ones a few dozen")
                    entries += _track_entries(walk, child_body, child_end)
        elif kind == b"moof":
            for traf, traf_body, traf_end in walk.boxes(body, end):
                if traf == b"traf":
                    entries += sum(walk.uint32(run_body + 4, run_end)
                                   for run, run_body, run_end in walk.boxes(traf_body, traf_end) if run == b"trun")
        if entries > cap:
            raise _too_large(f"the video's tables declare {entries:,} samples (frames and sound packets); a video "
                             f"within the {settings.max_duration_s:.0f} s limit has at most {cap:,}")


# the boxes FFmpeg walks box by box (mov_read_default), wherever they lie; it files as metadata every entry of
# a udta (QuickTime's ©nam…) or an ilst (iTunes-style), and allocates the names a keys box declares
# (QuickTime's named fields, meta/keys)
_WALKED_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex", b"moof", b"traf",
                      b"udta", b"meta", b"ilst", b"tref", b"mfra"}


def check_movie_metadata(data) -> None:
    """Refuses an MP4/MOV with more than MP4_MAX_METADATA metadata fields wherever FFmpeg reads them (the
    top level, moov, a track and the boxes inside it, fragments), nested as deep as FFmpeg reads."""
    _metadata_fields(BoxWalk(data), b"", 0, len(data), 0, 1)


def _meta_children(data, start: int, end: int) -> int | None:
    """Where a meta box's children start, found as FFmpeg finds them (MP4's meta is a full box, version and
    flags first; QuickTime's a plain one): the first 4-byte word of its body, after the first, that says
    hdlr is its handler's type, so its boxes start 4 bytes before; None when there is none (FFmpeg then
    reads nothing of it)."""
    at = start + 4
    while at + 4 <= end:
        at = data.find(b"hdlr", at, end)
        if at < 0:
            return None
        if (at - start) % 4 == 0:
            return at - 4
        at += 1
    return None


def _metadata_fields(walk: BoxWalk, kind: bytes, start: int, end: int, fields: int, depth: int) -> int:
    """`fields` plus the metadata fields among the boxes from `start` to `end` (inside a `kind` box, `depth`
    boxes deep); refuses the file past MP4_MAX_METADATA."""
    for child, body, box_end in walk.boxes(start, end):
        if kind in (b"udta", b"ilst"):
            fields += 1
        if child == b"keys":
            fields += walk.uint32(body + 4, box_end)
        if fields > MP4_MAX_METADATA:
            raise _too_large(f"the video has more than {MP4_MAX_METADATA:,} metadata fields; real videos have a "
                             "few dozen at most")
        if child in _WALKED_CONTAINERS and depth < MP4_MAX_DEPTH:
            inner = _meta_children(walk.data, body, box_end) if child == b"meta" else body
            if inner is not None:
                fields = _metadata_fields(walk, child, inner, box_end, fields, depth + 1)
    return fields


_TRACK_CONTAINERS = {b"mdia", b"minf", b"stbl"}
# handler types a sound track's hdlr boxes may name: the media's, and QuickTime's data handlers (minf's hdlr).
# FFmpeg takes the type from the last hdlr that names one, so a track naming "vide" anywhere is not sound here
SOUND_HANDLERS = {b"soun", b"alis", b"url ", b"rsrc"}


def _track_entries(walk: BoxWalk, start: int, end: int) -> int:
    """The index entries FFmpeg makes for one track (trak box)."""
    found, handlers = {}, set()   # the first box of each kind inside the track, its containers opened: (body, end)

    def gather(start, end, depth=3):   # trak's children are 3 boxes deep
        for kind, body, box_end in walk.boxes(start, end):
            if kind in _TRACK_CONTAINERS and depth < MP4_MAX_DEPTH:
                gather(body, box_end, depth + 1)
            else:
                found.setdefault(kind, (body, box_end))
            if kind == b"hdlr":
                handlers.add(bytes(walk.data[body + 8:min(body + 12, box_end)]))

    gather(start, end)
    # the sample count follows version and flags, and the size all samples share (stsz) or the field size (stz2)
    body, box_end = found.get(b"stsz") or found.get(b"stz2") or (0, 0)
    samples = walk.uint32(body + 8, box_end)
    body, box_end = found.get(b"stts", (0, 0))
    one_per_unit = walk.uint32(body + 4, box_end) == 1 and walk.uint32(body + 12, box_end) == 1
    if b"soun" in handlers and handlers <= SOUND_HANDLERS and one_per_unit:
        body, box_end = found.get(b"stco") or found.get(b"co64") or (0, 0)
        # FFmpeg reads no more chunk offsets than the box holds
        chunks = min(walk.uint32(body + 4, box_end), max((box_end - body - 8) // 4, 0))
        return samples // 1024 + chunks
    return samples


def check_video_index(data, settings) -> None:
    """Refuses, before FFmpeg opens it, a video whose container declares more index than a real one within
    the limits has: an MP4/MOV's sample tables (check_movie_index) and metadata fields, an FLV's keyframe
    lists, an AVI's OpenDML super index, a Matroska's or Ogg's chapters, tags, cues and comments."""
    if is_iso_media(data):
        check_movie_index(data, settings)
        check_movie_metadata(data)
    elif data[:3] == b"FLV":
        _check_flv_keyframes(data, settings)
    elif data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        _check_avi_super_index(data)
        _check_avi_info(data)
    elif data[:4] == b"\x1a\x45\xdf\xa3":
        check_matroska(data, settings)
    elif data[:4] == b"OggS":
        _check_ogg_comments(data)


# an FLV's keyframe list in its metadata (AMF): the key, then a strict array and its declared length
_FLV_KEYFRAME_ARRAYS = [re.compile(rb"\x00\x05times\x0a"), re.compile(rb"\x00\x0dfilepositions\x0a")]


def _check_flv_keyframes(data, settings) -> None:
    """FFmpeg allocates (and zeroes) 8 bytes for each entry a keyframe list declares before reading any:
    28 bits allow 2 GB, and a 7 KB FLV declaring it took 4.6 s and 2.2 GB. A real list has one entry a
    keyframe, so at most as many as the sample cap of an MP4 (MP4_SAMPLES_PER_SECOND)."""
    cap, found = int(settings.max_duration_s * MP4_SAMPLES_PER_SECOND), 0
    for pattern in _FLV_KEYFRAME_ARRAYS:
        for match in pattern.finditer(data):
            found += 1
            if found > FLV_MAX_KEYFRAME_ARRAYS:
                raise _too_large(f"the video's metadata has more than {FLV_MAX_KEYFRAME_ARRAYS:,} keyframe lists; "
                                 "real videos have one")
            if match.end() + 4 > len(data):
                continue
            declared = struct.unpack_from(">I", data, match.end())[0]
            if declared > cap:
                raise _too_large(f"the video's keyframe list declares {declared:,} entries; a video within the "
                                 f"{settings.max_duration_s:.0f} s limit has at most {cap:,}")


def _riff_chunks(data, start: int, end: int):
    """(fourcc, body start, body end) of each RIFF chunk between `start` and `end`; a LIST's body starts
    after its list type."""
    at = start
    while at + 8 <= end:
        fourcc, size = struct.unpack_from("<4sI", data, at)
        yield fourcc, at + 8, min(at + 8 + size, end)
        at += 8 + size + (size & 1)


def _check_avi_super_index(data) -> None:
    """Refuses an AVI whose streams' OpenDML super indexes (indx in the stream headers) list more standard
    indexes than real files have: FFmpeg seeks to each as it opens the file, before any time limit."""
    end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    for fourcc, body, body_end in _riff_chunks(data, 12, end):
        if fourcc != b"LIST" or bytes(data[body:body + 4]) != b"hdrl":
            continue
        for kind, stream, stream_end in _riff_chunks(data, body + 4, body_end):
            if kind != b"LIST" or bytes(data[stream:stream + 4]) != b"strl":
                continue
            for name, index, index_end in _riff_chunks(data, stream + 4, stream_end):
                if name == b"indx" and index + 8 <= index_end and data[index + 3] == 0:   # an index of indexes
                    entries = struct.unpack_from("<I", data, index + 4)[0]
                    if entries > AVI_MAX_SUPER_INDEX:
                        raise _too_large(f"the video's index lists {entries:,} further indexes; real videos "
                                         f"have at most a few hundred")
        return


def _check_avi_info(data) -> None:
    """Refuses an AVI whose text fields (INFO lists, at the top or among the headers) number more than
    AVI_MAX_INFO: FFmpeg's cost for them grows with their count squared."""
    end, fields = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0]), 0
    for fourcc, body, body_end in _riff_chunks(data, 12, end):
        if fourcc != b"LIST":
            continue
        kind = bytes(data[body:body + 4])
        lists = [(body, body_end)] if kind == b"INFO" else []
        if kind == b"hdrl":
            lists += [(at, at_end) for name, at, at_end in _riff_chunks(data, body + 4, body_end)
                      if name == b"LIST" and bytes(data[at:at + 4]) == b"INFO"]
        for start, stop in lists:
            for _ in _riff_chunks(data, start + 4, stop):
                fields += 1
                if fields > AVI_MAX_INFO:
                    raise _too_large(f"the video has more than {AVI_MAX_INFO:,} text fields (INFO); real videos "
                                     "have a few")


def _ebml_number(data, at: int, end: int, keep_marker: bool):
    """(value, position after it) of the EBML variable-length number at `at`, or None where it cannot be
    read; an element's id keeps its length marker, a size does not (all ones: unknown, given as -1)."""
    if at >= end or not data[at]:
        return None
    width = 9 - data[at].bit_length()
    if at + width > end:
        return None
    value = int.from_bytes(data[at:at + width], "big")
    if keep_marker:
        return value, at + width
    value &= (1 << (7 * width)) - 1
    return (-1 if value == (1 << (7 * width)) - 1 else value), at + width


_SEGMENT, _SEEK_HEAD, _CLUSTER = 0x18538067, 0x114D9B74, 0x1F43B675
_CHAPTERS, _TAGS, _CUES = 0x1043A770, 0x1254C367, 0x1C53BB6B


class _EbmlWalk:
    """Walks a Matroska file's elements, counting each it steps over, and refuses the file past
    MKV_MAX_ELEMENTS."""

    def __init__(self, data):
        self.data, self.walked = data, 0

    def elements(self, start: int, end: int):
        """(id, body start, body end) of each element between `start` and `end`; one of unknown size runs
        to `end`. A number that cannot be read ends the walk there (FFmpeg judges what is left)."""
        data, at = self.data, start
        end = min(end, len(data))
        while at < end:
            self.walked += 1
            if self.walked > MKV_MAX_ELEMENTS:
                raise _too_large(f"the video's header is made of more than {MKV_MAX_ELEMENTS:,} elements (its "
                                 "container's building blocks); real videos have far fewer")
            kind = _ebml_number(data, at, end, True)
            size = kind and _ebml_number(data, kind[1], end, False)
            if not size:
                return
            body = size[1]
            stop = end if size[0] < 0 else min(body + size[0], end)
            yield kind[0], body, stop
            at = stop


def check_matroska(data, settings) -> None:
    """Refuses a Matroska or WebM file that declares more chapters, metadata fields or out-of-order cue
    points than real files have, in what FFmpeg reads as it opens it: the Segment's elements before its
    first Cluster, and those its SeekHead points to (Cues and Tags usually sit after the media)."""
    walk = _EbmlWalk(data)
    segment = next(((body, end) for kind, body, end in walk.elements(0, len(data)) if kind == _SEGMENT), None)
    if segment is None:
        return
    start, end = segment
    wanted, done = [], set()
    for kind, body, stop in walk.elements(start, end):
        if kind == _CLUSTER:
            break
        wanted.append((kind, body, stop))
        if kind == _SEEK_HEAD:   # Seek entries: an element's id and its position in the Segment
            for seek, seek_body, seek_end in walk.elements(body, stop):
                fields = {k: (b, e) for k, b, e in walk.elements(seek_body, seek_end)}
                if 0x53AB in fields and 0x53AC in fields:
                    (id_at, id_end), (pos_at, pos_end) = fields[0x53AB], fields[0x53AC]
                    target = int.from_bytes(data[id_at:id_end], "big")
                    at = start + int.from_bytes(data[pos_at:pos_end], "big")
                    if target in (_CHAPTERS, _TAGS, _CUES) and at < end:
                        found = next(walk.elements(at, end), None)
                        if found and found[0] == target:
                            wanted.append(found)
    for kind, body, stop in wanted:
        if (kind, body) in done:
            continue
        done.add((kind, body))
        if kind == _CHAPTERS:
            _count_nested(walk, body, stop, 0xB6, MKV_MAX_CHAPTERS, "chapters", "a few dozen")
        elif kind == _TAGS:
            _count_nested(walk, body, stop, 0x67C8, MKV_MAX_TAGS, "metadata fields (tags)", "a few dozen")
        elif kind == _CUES:
            _check_cues(walk, body, stop, settings)


_MKV_CONTAINERS = {0x45B9, 0xB6, 0x7373, 0x67C8}   # edition, chapter, tag, simple tag: entries nest in these


def _count_nested(walk, start, end, wanted, cap, what, real, found=0, depth=3) -> int:
    """`found` plus the `wanted` elements from `start` (`depth` elements deep: Segment, Chapters or Tags, then
    these), at any depth FFmpeg reads."""
    for kind, body, stop in walk.elements(start, end):
        if kind == wanted:
            found += 1
            if found > cap:
                raise _too_large(f"the video has more than {cap:,} {what}; real videos have {real} at most")
        if kind in _MKV_CONTAINERS and depth < MKV_MAX_DEPTH:
            found = _count_nested(walk, body, stop, wanted, cap, what, real, found, depth + 1)
    return found


def _check_cues(walk, start, end, settings) -> None:
    cap, points, out_of_order, latest = int(settings.max_duration_s * MKV_CUES_PER_SECOND), 0, 0, -1
    for kind, body, stop in walk.elements(start, end):
        if kind != 0xBB:   # a CuePoint: its time (CueTime) is its first element as muxers write it
            continue
        points += 1
        if points > cap:
            raise _too_large(f"the video's seek index has more than {cap:,} entries; a video within the "
                             f"{settings.max_duration_s:.0f} s limit has at most one a frame")
        for child, child_body, child_stop in walk.elements(body, stop):
            if child == 0xB3:
                time = int.from_bytes(walk.data[child_body:child_stop], "big")
                if time < latest:
                    out_of_order += 1
                    if out_of_order > MKV_MAX_CUES_OUT_OF_ORDER:
                        raise _too_large(f"the video's seek index has more than {MKV_MAX_CUES_OUT_OF_ORDER} "
                                         "entries out of time order; real videos have none")
                latest = max(latest, time)
                break


def _check_ogg_comments(data) -> None:
    """Refuses an Ogg file whose Theora comment header declares more fields than OGG_MAX_COMMENTS (FFmpeg
    reads as many as the packet holds: the declared count is their most). Read from the packet's first page."""
    at = bytes(data[:1 << 16]).find(b"\x81theora")
    if at < 0 or at + 11 > len(data):
        return
    vendor = struct.unpack_from("<I", data, at + 7)[0]
    if at + 15 + vendor > len(data):
        return
    declared = struct.unpack_from("<I", data, at + 11 + vendor)[0]
    if declared > OGG_MAX_COMMENTS:
        raise _too_large(f"the video's comment header declares {declared:,} fields; real videos have a few dozen")
