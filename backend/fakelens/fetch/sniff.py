"""Tell what a file is from its first bytes, never from its name or Content-Type."""

SNIFF_BYTES = 64

# (prefix, kind, mime), checked in order
_PREFIXES = [
    (b"\xff\xd8\xff", "image", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image", "image/png"),
    (b"GIF87a", "image", "image/gif"),
    (b"GIF89a", "image", "image/gif"),
    (b"BM", "image", "image/bmp"),
    (b"II*\x00", "image", "image/tiff"),
    (b"MM\x00*", "image", "image/tiff"),
    (b"\x1a\x45\xdf\xa3", "video", None),  # EBML: WebM or Matroska, told apart below
    (b"FLV\x01", "video", "video/x-flv"),
    (b"\x00\x00\x01\xba", "video", "video/mpeg"),   # an MPEG program stream's pack header (.mpg, DVD .vob)
    (b"OggS", "video", "video/ogg"),                # Theora or VP8 (told below)
]

# ISO base media brands that are images, not video (HEIF/AVIF): unsupported here
_IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis", b"heim", b"heis"}


def unread_photo(head: bytes) -> str | None:
    """"HEIC", "AVIF" or "HEIF" for a photo of those (ISO base media with an image brand, which sniff()
    refuses), so a refusal can name it; None for anything else."""
    head = bytes(head[:SNIFF_BYTES])
    if len(head) < 12 or head[4:8] != b"ftyp" or head[8:12] not in _IMAGE_BRANDS:
        return None
    size = int.from_bytes(head[:4], "big")
    brands = [head[at:at + 4] for at in range(16, min(size, len(head)) - 3, 4)]   # the compatible ones
    for name, named in (("AVIF", {b"avif", b"avis"}), ("HEIC", {b"heic", b"heix", b"heim", b"heis"})):
        if head[8:12] in named or named & set(brands):
            return name
    return "HEIF"


def _ebml_mime(head: bytes) -> str:
    return "video/webm" if b"webm" in head else "video/x-matroska"


def _ftyp_mime(brand: bytes) -> str | None:
    if brand in _IMAGE_BRANDS:
        return None
    if brand == b"qt  ":
        return "video/quicktime"
    if brand.startswith(b"M4V"):
        return "video/x-m4v"
    return "video/mp4"


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, mime) from the first bytes of a file; None if it is not a supported image or video."""
    head = bytes(head[:SNIFF_BYTES])
    for prefix, kind, mime in _PREFIXES:
        if head.startswith(prefix):
            if mime is None:
                return kind, _ebml_mime(head)
            # "BM" is two letters: also require the BMP header's reserved zero bytes
            if mime == "image/bmp" and (len(head) < 10 or head[6:10] != b"\x00\x00\x00\x00"):
                continue
            # sound only is no video: an FLV header says whether it has pictures (flag 1 of byte 4), and
            # an Ogg stream's first page names its codec (Theora, VP8)
            if mime == "video/x-flv" and (len(head) < 5 or not head[4] & 0x01):
                return None
            if mime == "video/ogg" and b"theora" not in head and b"OVP80" not in head:
                return None
            return kind, mime
    if len(head) >= 12 and head[:4] == b"RIFF":
        if head[8:12] == b"WEBP":
            return "image", "image/webp"
        if head[8:12] == b"AVI ":
            return "video", "video/x-msvideo"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        mime = _ftyp_mime(head[8:12])
        return ("video", mime) if mime else None
    # QuickTime files may start with other atoms (moov, mdat, wide, free) before ftyp
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "video", "video/quicktime"
    # MPEG-TS: 188-byte packets, each starting with the sync byte 0x47 ("G")
    if _looks_like_ts(head):
        return "video", "video/mp2t"
    # camcorders' and Blu-ray's .m2ts/.mts: each 188-byte packet behind a 4-byte time code
    if _looks_like_ts(head[4:]):
        return "video", "video/mp2t"
    return None


def _looks_like_ts(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0x47:
        return False
    if len(head) > 188 and head[188] != 0x47:
        return False
    # text that starts with "G" must not pass: a TS header holds control bytes (PID, flags)
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head[1:4]):
        return False
    # transport_error_indicator is 0 and adaptation_field_control is never 0 in a real stream
    return head[1] & 0x80 == 0 and (head[3] >> 4) & 0x3 != 0
