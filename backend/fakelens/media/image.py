"""Decode a still image safely: size checked from the header before any pixel is decoded."""

import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

from ..errors import FakeLensError
from ..isolation import STDERR_SWAPPED
from .structure import jpeg_layout, png_chunks, png_ends, walk_image

log = logging.getLogger(__name__)

Image.MAX_IMAGE_PIXELS = None   # we enforce our own limit below, before decoding
MAX_SIDE = 65_535   # JPEG's and WebP's own limit: a longer side is a strip, whose decoding costs memory per
# row (a 1×50,000,000 PNG, within the pixel limit, took 2.5 GB), and holds no picture worth judging
# Pillow warns (on stderr, beside the verdict) of broken EXIF or TIFF tags in a picture that is otherwise
# fine, and reads what it can of them: the picture is judged as that. Process-wide, set once here
# (warnings.catch_warnings around each read is not thread-safe); only Pillow's tag reader is silenced.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin$")
# a file OpenCV cannot read goes on to Pillow, or gets FakeLens's own error: not OpenCV's log lines too
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
# Pillow refuses a whole PNG (ValueError) when one text chunk unpacks to over 1 MB, and a generator's
# settings or a padded zTXt can: allow 16 MB a chunk, with the total for all text kept at 64 MB.
# (Process-wide, so the provenance metadata reader gets the same; it imports this module.)
PngImagePlugin.MAX_TEXT_CHUNK = 16 * 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 64 * 1024 * 1024
# A run-length coded (RLE) BMP that OpenCV cannot read (damaged, or 8-bit pixels marked RLE4) goes to Pillow,
# whose RLE decoder is Python, a step or more a pixel: a 4.7 KB BMP of 65,535×915 rows, each one pixel and
# an end of line, took 3.8 s (and would take longer per pixel with 4-bit runs). RLE BMPs are palette pictures
# of old Windows programs (icons, installer art), a few megapixels at most: that fallback is held to this
RLE_BMP_MAX_PIXELS = 8_000_000


def _truncated(data: bytes, mime: str) -> bool:
    """JPEG and PNG say where they end; a file cut short never reaches that end. Found by walking
    the file's own structure, so what follows the end (a motion photo's video, padding) is fine."""
    if mime == "image/jpeg":
        return not jpeg_layout(data).ended and not _ends_with_eoi(data)
    if mime == "image/png":
        return not png_ends(data)
    return False


def _ends_with_eoi(data: bytes) -> bool:
    """A JPEG whose last bytes (zero padding aside) are its end marker: one whose segments do not lead
    there is garbled inside, not cut short (random bytes in the middle read as markers whose lengths
    jump past the end; it was said "truncated (its end marker is missing)")."""
    return data.rstrip(b"\0").endswith(b"\xff\xd9")


# What libjpeg says (on stderr, as a warning: OpenCV returns the picture all the same) when the
# compressed data breaks off or is garbled inside a file that still ends properly: the rest of the
# picture is flat colour or noise, which the face-swap model read as blending (a damaged photo was
# flagged 0.99). Its other warning, extraneous bytes before a marker, is left alone: 3 of the 10,895
# JPEGs in the shared data have it, and decode whole.
DAMAGED_JPEG = ("premature end of data segment", "bad huffman code", "instead of rst", "premature end of jpeg file")
# the lines of libjpeg's and libpng's own that a capture keeps to itself (anything else is written out again)
LIBRARY_WORDS = ("corrupt jpeg data", "premature end of jpeg", "libpng ", "invalid sos", "inconsistent progression")


@contextmanager
def library_messages():
    """Yields a list that, at the end, holds what C libraries (libjpeg, libpng) printed on the
    process's stderr meanwhile, read instead of shown. stderr is the whole process's, so one capture at
    a time; what anything else wrote there meanwhile is written out again afterwards."""
    said: list[str] = []
    with STDERR_SWAPPED, tempfile.TemporaryFile() as spool:
        saved = os.dup(2)
        os.dup2(spool.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            spool.seek(0)
            lines = spool.read(1 << 20).decode("utf-8", "replace").splitlines(keepends=True)
            said.extend(line.strip() for line in lines if line.strip())
            others = "".join(line for line in lines if not line.lower().startswith(LIBRARY_WORDS))
            if others:
                os.write(2, others.encode())



def megapixels(pixels: int) -> str:
    """400000000 -> "400 MP", 40000 -> "0.04 MP": a small limit set for a test still reads right."""
    mp = pixels / 1e6
    return f"{mp:.0f} MP" if mp >= 10 else f"{mp:.2g} MP"


def over_limit(pixels: int, limit: int) -> tuple[str, str]:
    """A count of pixels over `limit` and the limit, worded so they differ: in megapixels, or exactly
    where both round alike (10000×6001 read "(60 MP); the limit is 60 MP")."""
    said, limit_said = megapixels(pixels), megapixels(limit)
    if said == limit_said:
        return f"{pixels:,} pixels", f"{limit:,} pixels"
    return said, limit_said


def _check_size(width: int, height: int, max_pixels: int) -> None:
    """Refuses, from the header, a picture over the pixel limit or longer than MAX_SIDE on a side."""
    if width * height > max_pixels:
        said, limit = over_limit(width * height, max_pixels)
        raise FakeLensError("too_large", f"the image is {width}×{height} pixels ({said}); the limit is {limit}")
    if max(width, height) > MAX_SIDE:
        raise FakeLensError("too_large", f"the image is {width}×{height} pixels; a side may be at most "
                            f"{MAX_SIDE:,} pixels long")


TRUNCATED = "the image file is truncated (it ends before its last pixels)"


def _unreadable(exc: Exception, path: Path, mime: str) -> FakeLensError:
    """FakeLens's words for a header Pillow could not read: truncated where Pillow says so ("Truncated
    File Read", "image file is truncated") or the file's own structure does (libwebp says only "could not
    create decoder object", for a damaged WebP too), else damaged; Pillow's text goes to the log."""
    log.debug("%s: Pillow could not read the header: %s: %s", path.name, exc.__class__.__name__, exc)
    data = path.read_bytes()
    if "truncated" in str(exc).lower() or _truncated(data, mime) or (mime == "image/webp" and _webp_cut(data)):
        return FakeLensError("undecodable", TRUNCATED)
    return FakeLensError("undecodable", "not a readable image: its header is damaged or cut short")


def _webp_cut(data: bytes) -> bool:
    """A WebP shorter than its RIFF header says (asked only of one Pillow could not open: a writer's
    length a byte off must not refuse a WebP that decodes)."""
    return len(data) < 8 + int.from_bytes(data[4:8], "little")


def read_image(path: Path, mime: str, max_pixels: int) -> np.ndarray:
    """BGR uint8 pixels, EXIF orientation applied. Raises FakeLensError for anything unusable."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise FakeLensError("undecodable", "the file is empty (0 bytes)")
    data = path.read_bytes()   # read once: its structure walked, then decoded
    # before any decoder: a file whose segments, chunks or blocks number more than a real picture's is
    # refused (too_large) here, not parsed one by one by Pillow
    ends = walk_image(data, mime)
    try:
        with Image.open(path) as im:   # reads the header only
            _check_size(*im.size, max_pixels)
            # a PNG's from its eXIf chunk, below: Pillow's getexif() decodes the whole picture to look
            # past its pixels for one (twice the memory, and a cut PNG failed here, not as truncated)
            orientation = im.getexif().get(0x0112, 1) if im.format != "PNG" else None
            # a transparent picture is judged as a browser shows it on a white page, not by the
            # colours hidden under its transparent pixels (OpenCV's colour read drops the alpha)
            transparent = _has_alpha(im)
            # an APNG's default image is what a browser that cannot animate shows; every other one
            # shows the animation, whose first frame is the next one (OpenCV would read the default)
            hidden_default = im.format == "PNG" and bool(im.info.get("default_image")) and getattr(im, "n_frames", 1) > 1
    except FakeLensError:
        raise
    except Exception as exc:  # PIL raises many types for garbage headers
        raise _unreadable(exc, path, mime) from None
    if not ends and mime == "image/jpeg" and _ends_with_eoi(data):
        raise FakeLensError("undecodable", "the JPEG is damaged: its data is garbled before its end marker, so the "
                            "picture cannot be read whole")
    if not ends:
        raise FakeLensError("undecodable", "the image file is truncated (its end marker is missing)")
    # the orientation is applied here, the same way for every format (OpenCV applies it to some formats
    # only, and PIL's path clipped 16-bit pictures to white); OpenCV scales 16-bit to 8-bit itself
    if orientation is None:
        orientation = _png_orientation(data)
    if hidden_default:
        return _decode_with_pil(path, mime, orientation, frame=1)
    # (IMREAD_UNCHANGED keeps the alpha, and ignores the orientation as the other flag says)
    flags = cv2.IMREAD_UNCHANGED if transparent else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    with library_messages() as said:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if mime == "image/jpeg" and any(w in line.lower() for line in said for w in DAMAGED_JPEG):
        raise FakeLensError("undecodable", "the JPEG is damaged: its picture data breaks off or is garbled "
                            "before the end, so part of the picture is missing")
    if pixels is not None and transparent and mime == "image/bmp" and pixels.ndim == 3 and pixels.shape[2] == 4 \
            and not pixels[..., 3].any():
        # a 32-bit BMP whose alpha bytes are all 0: writers leave them so, and browsers show such a
        # picture opaque (on white it was a blank page)
        pixels = np.ascontiguousarray(pixels[..., :3])
    elif pixels is not None and transparent:
        pixels = on_white(pixels)
    if pixels is None:
        return _decode_with_pil(path, mime, orientation)
    # OpenCV turns a TIFF upright even when told not to (5.0; the test over every orientation pins it)
    return pixels if mime == "image/tiff" else orient(pixels, orientation)


def _has_alpha(im: Image.Image) -> bool:
    """An alpha channel, or a transparent colour in a mode Pillow makes RGBA rightly (its 16-bit grey
    clips to white: OpenCV reads that one, without the transparency)."""
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in im.info and im.mode in ("1", "L", "P", "RGB"))


def _png_orientation(data: bytes) -> int:
    """The EXIF orientation in a PNG's eXIf chunk, before or after its pixels, found by walking its chunks."""
    for kind, body in png_chunks(data):
        if kind == b"IEND":
            break
        if kind == b"eXIf":
            exif = Image.Exif()
            try:
                exif.load(body)
            except Exception:   # a broken chunk: the picture as stored
                return 1
            return exif.get(0x0112, 1)
    return 1


def on_white(pixels: np.ndarray) -> np.ndarray | None:
    """BGR uint8 of a picture OpenCV read with its alpha (BGRA, or grey and alpha; 8 or 16 bits), as
    shown on a white page; None when OpenCV kept no alpha (Pillow is asked instead). Blended in bands
    of rows, so a large picture costs little more than its pixels."""
    if pixels.ndim != 3 or pixels.shape[2] not in (2, 4):
        return None
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    colour = pixels[..., :-1] if pixels.shape[2] == 4 else np.repeat(pixels[..., :1], 3, axis=2)
    alpha = pixels[..., -1:]
    out = np.empty(colour.shape[:2] + (3,), np.uint8)
    for top in range(0, out.shape[0], 512):
        a = alpha[top:top + 512].astype(np.uint16)
        out[top:top + 512] = (colour[top:top + 512] * a + 255 * (255 - a) + 127) // 255
    return out


# EXIF orientation -> the steps that show the picture upright (TIFF/EXIF tag 274)
_ORIENT = {2: ("flip",), 3: ("r180",), 4: ("flip", "r180"), 5: ("flip", "r270"), 6: ("r90",),
           7: ("flip", "r90"), 8: ("r270",)}
_STEPS = {"flip": lambda a: cv2.flip(a, 1), "r90": lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
          "r180": lambda a: cv2.rotate(a, cv2.ROTATE_180), "r270": lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE)}


def orient(pixels: np.ndarray, orientation) -> np.ndarray:
    for step in _ORIENT.get(orientation, ()):
        pixels = _STEPS[step](pixels)
    return np.ascontiguousarray(pixels)


def traits(path: Path, pixels: np.ndarray) -> dict:
    """What the verdict says of a picture beyond its pixels, from one look at its header and its pixels:
    `animated`, an animated GIF, WebP or PNG or a multi-page TIFF, of which only the first frame (page)
    is checked (PIL looks for a second frame only, without decoding the others; a camera's MPO JPEG is
    not: its further "frames" are the camera's previews, or a stereo pair, of the one picture);
    `palette`, at most 256 colours (GIF, palette PNG or BMP, 1-bit, or such pixels saved in another
    form), whose dithering looks like blending to the face-swap model (real faces saved as GIF were
    flagged, up to 0.98)."""
    try:
        with Image.open(path) as im:
            animated = bool(getattr(im, "is_animated", False)) and im.format != "MPO"
            palette = im.mode in ("1", "P", "PA")
    except Exception:
        animated, palette = False, False
    return {"animated": animated, "palette": palette or few_colours(pixels)}


def few_colours(pixels: np.ndarray, sample: int = 250_000) -> bool:
    """At most 256 colours (at most 16 levels when grey) in a sample of the decoded pixels, however
    the file stores them: a dithered GIF saved as an RGB PNG, or a 1-bit picture as greyscale, dithers
    alike. A photo has thousands of colours, and even a dull grey photo more than 16 levels."""
    step = max(1, int(np.sqrt(pixels.shape[0] * pixels.shape[1] / sample)))
    px = pixels[::step, ::step].reshape(-1, 3).astype(np.uint32)
    grey = bool((px[:, 0] == px[:, 1]).all() and (px[:, 1] == px[:, 2]).all())
    colours = len(np.unique(px[:, 0] << 16 | px[:, 1] << 8 | px[:, 2]))
    return colours <= (16 if grey else 256)


def _decode_with_pil(path: Path, mime: str, orientation: int, frame: int = 0) -> np.ndarray:
    """Formats OpenCV lacks (animated GIF, some WebP/TIFF): the first frame (or `frame`), `orientation`
    applied, transparent pixels shown on white."""
    try:
        # opened as a file, not by its name: Pillow (13) maps an uncompressed TIFF's pixels from a named
        # file at its size already turned, which scrambled a quarter-turned grey or RGBA one
        with open(path, "rb") as file, Image.open(file) as im:
            im.seek(frame)
            if im.format == "BMP" and im.tile and im.tile[0][0] == "bmp_rle" and im.width * im.height > RLE_BMP_MAX_PIXELS:
                raise FakeLensError("too_large", f"the BMP is run-length coded, {im.width}×{im.height} pixels, "
                                    "and damaged or coded in a way only a slow decoder reads; that one is used for "
                                    f"such pictures of at most {megapixels(RLE_BMP_MAX_PIXELS)}")
            im.load()
            if im.format == "TIFF":
                # Pillow (13) turns a TIFF upright as it loads it, and drops the tag then: what is left to do
                orientation = im.getexif().get(0x0112, 1)
            if _has_alpha(im):
                im = Image.alpha_composite(Image.new("RGBA", im.size, "white"), im.convert("RGBA"))
            return orient(cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR), orientation)
    except FakeLensError:
        raise
    except Exception as exc:
        log.debug("%s: Pillow could not decode it: %s: %s", path.name, exc.__class__.__name__, exc)
        if "truncated" in str(exc).lower():   # Pillow's word for a GIF, WebP, TIFF or BMP cut short
            raise FakeLensError("undecodable", TRUNCATED) from None
        raise FakeLensError("undecodable", f"the {mime} file could not be decoded: its picture data is "
                            "damaged, or stored in a way FakeLens cannot read") from None


def shrink_to(image: np.ndarray, side: int) -> np.ndarray:
    """The image scaled down so its longer side is at most `side` (never below one pixel: a
    1281×1 divider stays 640×1), or the image itself when it is small enough."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
