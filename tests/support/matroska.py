"""A minimal Matroska/WebM writer (MJPEG frames) that sets each frame's time stamp itself and writes no
frame rate, as screen recorders and browsers' MediaRecorder write variable-rate WebM."""

import struct

import cv2


def _size(n: int) -> bytes:
    """An EBML variable-length size."""
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | n).to_bytes(length, "big")
    raise ValueError(n)


def _element(ident: int, payload: bytes) -> bytes:
    return ident.to_bytes((ident.bit_length() + 7) // 8, "big") + _size(len(payload)) + payload


def _uint(ident: int, value: int) -> bytes:
    return _element(ident, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def write_matroska(path, frames, times_ms, doctype: str = "webm", display: tuple | None = None):
    """Frames (BGR uint8, one size) at the given times in milliseconds; the segment states its length
    (the last time plus 33 ms) but no per-frame duration. `display`: (width, height) to show the frames
    at, for pixels that are not square."""
    header = _element(0x1A45DFA3, _uint(0x4286, 1) + _uint(0x42F7, 1) + _uint(0x42F2, 4) + _uint(0x42F3, 8)
                      + _element(0x4282, doctype.encode()) + _uint(0x4287, 4) + _uint(0x4285, 2))
    info = _element(0x1549A966, _uint(0x2AD7B1, 1_000_000) + _element(0x4489, struct.pack(">d", times_ms[-1] + 33.0)))
    h, w = frames[0].shape[:2]
    track = _uint(0xD7, 1) + _uint(0x73C5, 1) + _uint(0x83, 1) + _element(0x86, b"V_MJPEG") \
        + _element(0xE0, _uint(0xB0, w) + _uint(0xBA, h)
                   + (_uint(0x54B0, display[0]) + _uint(0x54BA, display[1]) if display else b""))
    tracks = _element(0x1654AE6B, _element(0xAE, track))
    clusters = b""
    for frame, t in zip(frames, times_ms):
        jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
        block = _size(1) + struct.pack(">h", 0) + b"\x80" + jpeg          # track 1, at the cluster's time, key
        clusters += _element(0x1F43B675, _uint(0xE7, int(t)) + _element(0xA3, block))
    path.write_bytes(header + _element(0x18538067, info + tracks + clusters))
    return path
