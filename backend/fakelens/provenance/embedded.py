"""What C2PA data a file carries, found by walking its structure, without the SDK.

c2pa_bytes: how much room the embedded manifest store takes (JPEG APP11 segments, an ISO BMFF
file's C2PA uuid boxes, PNG caBX chunks), so that a store too large to read is not handed to the
SDK (a 150 MB store in an MP4 took 1.1 GB of memory and 1.5 s to read).
pieces_left: whether pieces of a store are in a file the SDK found none in (a JPEG that lost its
first APP11 segment).
"""

import re
import struct

# the uuid of the box that holds a manifest store in an ISO BMFF file (MP4, MOV, HEIF)
BMFF_C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
# a JUMBF description box of a C2PA box ("jumd", its 16-byte type, toggles, then a label such as
# "c2pa", "c2pa.claim", "c2pa.signature"): what any surviving piece of a manifest store carries
C2PA_BOX = re.compile(rb"jumd[\s\S]{17}c2pa")
PIECES_SCAN_BYTES = 16 << 20   # a store sits before the image data (JPEG, PNG) or near a video's start
MAX_UNITS = 100_000            # segments, boxes or chunks walked at most (a file of empty ones)


def c2pa_bytes(fh) -> int:
    """Bytes the file's embedded C2PA data takes (0 where none is found or the format is not walked)."""
    fh.seek(0)
    head = fh.read(12)
    try:
        if head[:2] == b"\xff\xd8":
            return _jpeg(fh)
        if head[4:8] == b"ftyp":
            return _bmff(fh)
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return _png(fh)
        return 0
    finally:
        fh.seek(0)


def _jpeg(fh) -> int:
    """APP11 segments before the scan data (where JUMBF, so C2PA, lives in a JPEG)."""
    total, at = 0, 2
    for _ in range(MAX_UNITS):
        fh.seek(at)
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF or marker[1] in (0xDA, 0xD9):
            break
        if 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0x01:   # markers without a length
            at += 2
            continue
        length = struct.unpack(">H", marker[2:])[0]
        if marker[1] == 0xEB:
            total += length
        at += 2 + length
    return total


def _bmff(fh) -> int:
    """Top-level uuid boxes of C2PA's type."""
    total, at = 0, 0
    for _ in range(MAX_UNITS):
        fh.seek(at)
        header = fh.read(32)
        if len(header) < 8:
            break
        size, kind = struct.unpack(">I4s", header[:8])
        body = 8
        if size == 1 and len(header) >= 16:   # a 64-bit size follows the type
            size, body = struct.unpack(">Q", header[8:16])[0], 16
        elif size == 0:                       # to the end of the file
            fh.seek(0, 2)
            size = fh.tell() - at
        if size < body:
            break
        if kind == b"uuid" and header[body:body + 16] == BMFF_C2PA_UUID:
            total += size
        at += size
    return total


def _png(fh) -> int:
    """caBX chunks."""
    total, at = 0, 8
    for _ in range(MAX_UNITS):
        fh.seek(at)
        header = fh.read(8)
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if kind == b"caBX":
            total += length
        if kind == b"IEND":
            break
        at += 12 + length
    return total


def pieces_left(fh) -> bool:
    """Whether pieces of a C2PA manifest store are in a file the SDK found none in."""
    fh.seek(0)
    found, tail = False, b""
    for _ in range(PIECES_SCAN_BYTES >> 20):   # a megabyte at a time, each with the last one's end
        chunk = fh.read(1 << 20)
        if not chunk or (found := C2PA_BOX.search(tail + chunk) is not None):
            break
        tail = chunk[-24:]
    fh.seek(0)
    return found
