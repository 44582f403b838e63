"""Read the open invisible-watermark ("imwatermark") DWT-DCT mark that Stable Diffusion's
reference scripts embed, with NumPy and OpenCV only: the Haar step is written out,
bit-identical to PyWavelets (the invisible-watermark package itself pulls torch and a second
OpenCV, so it is never installed).

How the mark works (imwatermark 0.2.0, method "dwtDct", its defaults): the image is
converted to YUV; the U channel (cropped to a multiple of 4) gets a one-level Haar DWT; the
approximation band is cut into 4×4 blocks in row-major order, and block n carries bit
n mod L of the L-bit message: in each block the largest-magnitude coefficient other than
the first is quantised with step 36 so that |v| mod 36 is about 9 (bit 0) or 27 (bit 1).
Decoding averages, for each bit, the blocks that carry it and reads |v| mod 36 > 18.
We read every known message in one pass (they differ only in length L) and call a mark
present when at least MIN_BIT_ACCURACY of its bits match: on an unmarked image each bit
is a coin flip, so 90 % of 32 bits or more by chance has a probability below 1e-6, and
of 48 or 136 bits far less.
"""

from dataclasses import dataclass

import cv2
import numpy as np

SCALE = 36                # imwatermark's quantisation step for the U channel
BLOCK = 4
_C = np.float64(0.7071067811865476)   # pywt's Haar filter tap, 1/sqrt(2)
MIN_PIXELS = 256 * 256    # imwatermark refuses smaller images; so do we
MIN_BIT_ACCURACY = 0.9
MAX_PIXELS = 2_100_000    # decode at most about this many pixels: all of 1080p (see bounded_rows)


def _bytes_bits(text: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(text, np.uint8)).astype(np.uint8)


def _int_bits(value: int) -> np.ndarray:
    # as the Stability AI code does it: [int(bit) for bit in bin(value)[2:]]
    return np.array([int(b) for b in bin(value)[2:]], np.uint8)


@dataclass(frozen=True)
class Mark:
    name: str
    bits: np.ndarray
    embedded_by: str


# The marks we verified (encode with a reimplementation of imwatermark's encoder, decode here):
MARKS = [
    Mark("StableDiffusionV1", _bytes_bits(b"StableDiffusionV1"),
         "Stable Diffusion 1.x reference scripts (CompVis txt2img/img2img)"),
    Mark("SDV2", _bytes_bits(b"SDV2"),
         "Stable Diffusion 2.x reference scripts (Stability-AI/stablediffusion txt2img, img2img, depth2img, upscaling)"),
    Mark("SDXL", _int_bits(0b101100111110110010010000011110111011000110011110),
         "SDXL: Stability AI generative-models and diffusers' StableDiffusionXLWatermarker"),
]


def bounded_rows(height: int, width: int, max_pixels: int = MAX_PIXELS) -> int:
    """Pixel rows to decode: all of them, or the top rows worth about `max_pixels` (a multiple of 8).

    Block n of the message is the n-th 4×4 block of the half-size DWT band in row-major
    order, so the top rows of an image keep their block numbers: the top 546 rows of a
    3840-wide image still carry every bit of a 136-bit message about 240 times.
    """
    rows = height // 4 * 4
    if rows * width <= max_pixels:
        return rows
    return min(rows, max(256, max_pixels // max(width, 1)) // 8 * 8)   # never more than it has (a 9000×255 banner)


def block_bits(bgr: np.ndarray, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The bit (0/1) each 4×4 block of the U channel's Haar band carries, in block order."""
    h, w = bgr.shape[:2]
    rows, cols = bounded_rows(h, w, max_pixels), w // 4 * 4
    u = cv2.cvtColor(np.ascontiguousarray(bgr[:rows, :cols]), cv2.COLOR_BGR2YUV)[:, :, 1]
    # The Haar approximation band is (a + b + c + d) / 2 over each 2×2 cell, and U is never
    # negative, so we work on the integer sums s = 2·band: exact, and 4× faster than float.
    # The test |band| mod 36 > 18 becomes s mod 72 > 36. Only where s mod 72 == 36 exactly
    # does PyWavelets' rounding decide, so those few blocks are recomputed the way pywt
    # does it (rows, then columns, c·a + c·b in float64, bit-identical to pywt.dwt2).
    s = u[0::2].astype(np.uint16) + u[1::2]
    s = s[:, 0::2] + s[:, 1::2]
    bh, bw = s.shape[0] // BLOCK, s.shape[1] // BLOCK
    s = s[:bh * BLOCK, :bw * BLOCK]
    # the largest coefficient of each 4×4 block other than its first: rows 1-3, then row 0's last 3
    rows = s.reshape(bh, BLOCK, bw * BLOCK)
    lower = np.maximum(np.maximum(rows[:, 1], rows[:, 2]), rows[:, 3]).reshape(bh, bw, BLOCK).max(axis=2)
    first = rows[:, 0].reshape(bh, bw, BLOCK)[:, :, 1:].max(axis=2)
    val = np.maximum(lower, first).ravel()
    rem = val % (2 * SCALE)
    bits = (rem > SCALE).astype(np.uint8)
    edge = np.flatnonzero(rem == SCALE)
    if len(edge):
        bi, bj = np.divmod(edge, bw)
        r4 = np.arange(BLOCK)
        cells = s[(bi * BLOCK)[:, None, None] + r4[None, :, None], (bj * BLOCK)[:, None, None] + r4[None, None, :]]
        pos = np.argmax(cells.reshape(len(edge), -1)[:, 1:], axis=1) + 1   # first maximum, as imwatermark
        pi, pj = np.divmod(pos, BLOCK)
        y, x = 2 * (bi * BLOCK + pi), 2 * (bj * BLOCK + pj)
        px = lambda yy, xx: u[yy, xx].astype(np.float64)
        left = _C * px(y, x) + _C * px(y + 1, x)
        right = _C * px(y, x + 1) + _C * px(y + 1, x + 1)
        exact = np.abs(_C * left + _C * right)
        bits[edge] = (exact % SCALE) > 0.5 * SCALE
    return bits


def decode_bits(bits_per_block: np.ndarray, length: int) -> np.ndarray:
    """Average the blocks carrying each of `length` bits; 1 where the mean says 1."""
    index = np.arange(len(bits_per_block)) % length
    ones = np.bincount(index, weights=bits_per_block, minlength=length)
    count = np.bincount(index, minlength=length)
    mean = ones / np.maximum(count, 1)
    return (mean * 255 > 127).astype(np.uint8)    # imwatermark's own rounding of the mean


def find_marks(bgr: np.ndarray, max_pixels: int = MAX_PIXELS) -> dict:
    """{"checked": bool, "found": Mark name or None, "embedded_by", "bit_accuracy": {name: acc}, "reason"}."""
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        return {"checked": False, "found": None, "reason": "no colour pixels to read a watermark from"}
    h, w = bgr.shape[:2]
    if h * w < MIN_PIXELS:
        return {"checked": False, "found": None,
                "reason": f"too small for the invisible watermark ({w}×{h} < 256×256 pixels)"}
    if min(h, w) < 8:   # a strip: no whole 4×4 block of the half-size band
        return {"checked": False, "found": None,
                "reason": f"too narrow for the invisible watermark ({w}×{h} pixels)"}
    if bgr.dtype != np.uint8:
        bgr = np.clip(bgr, 0, 255).astype(np.uint8)
    per_block = block_bits(bgr, max_pixels)
    accuracy, best = {}, None
    for mark in MARKS:
        if len(per_block) < 4 * len(mark.bits):   # too few blocks for a reliable average
            continue
        acc = float(np.mean(decode_bits(per_block, len(mark.bits)) == mark.bits))
        accuracy[mark.name] = round(acc, 3)
        if acc >= MIN_BIT_ACCURACY and (best is None or acc > accuracy[best.name]):
            best = mark
    result = {"checked": True, "found": best.name if best else None, "bit_accuracy": accuracy,
              "rows_read": bounded_rows(h, w, max_pixels)}
    if best:
        result["embedded_by"] = best.embedded_by
    return result
