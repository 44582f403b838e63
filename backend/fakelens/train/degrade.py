"""Social-media and video degradations, drawn once and applied alike to a real face and its blend.

Drawing the parameters once per pair (not per image) means the two classes differ in nothing but
the blend: the model cannot learn JPEG quality or sharpness as a shortcut.

"everyday" adds what real photos do to a face and the shipped model took for blending
(fakelens.train.robustness): strong defocus, a beauty app's edge-preserving smoothing and a
screen's moiré bands. Drawn after the others, so "social" (the default, and every report's
"degraded" condition) draws exactly as before.

"video" adds what a face read from a video frame went through instead of JPEG: H.264 at the frame's
(down-scaled) size, as a P-frame predicted from a slightly moved copy of itself (real video is
mostly predicted frames, whose loss differs from a still's). Training only: it needs PyAV (the
`train` extra), whose wheels carry FFmpeg's libx264.
"""

from fractions import Fraction

import cv2
import numpy as np


DEGRADATIONS = ("social", "everyday", "video")


def draw(rng: np.random.Generator, kind: str = "social") -> dict:
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradations {kind!r}; one of {DEGRADATIONS}")
    p = {}
    if rng.random() < 0.5:
        p["scale"] = float(rng.uniform(0.3, 0.9))        # down- and up-scaling
    if rng.random() < 0.3:
        p["blur"] = float(rng.uniform(0.3, 1.5))         # gaussian sigma (focus, video)
    if rng.random() < 0.15:
        p["motion"] = int(rng.integers(3, 8))            # motion blur length, pixels
        p["motion_angle"] = float(rng.uniform(0, 180))
    if rng.random() < 0.2:
        p["gamma"] = float(rng.uniform(0.6, 1.6))        # exposure / low light
    if rng.random() < 0.2:
        p["noise"] = float(rng.uniform(1, 6))            # sensor noise, grey levels
    if rng.random() < 0.8:
        p["jpeg"] = int(rng.integers(40, 101))           # re-encoding
    p["seed"] = int(rng.integers(1 << 31))
    if kind == "everyday":
        if rng.random() < 0.15:
            p["defocus"] = float(rng.uniform(1.5, 3.5))      # gaussian sigma on the 200 px chip
        if rng.random() < 0.15:
            p["smooth"] = (int(rng.integers(1, 3)), float(rng.uniform(30, 80)))   # bilateral passes, colour sigma
        if rng.random() < 0.1:
            p["moire"] = (float(rng.uniform(0.03, 0.1)), float(rng.uniform(8, 20)), float(rng.uniform(0, np.pi)))
    if kind == "video" and rng.random() < 0.5:
        # x264's constant-quality factor (FF++ c23 is 23; platforms re-encode coarser), and the
        # motion the frame is predicted across, in pixels
        p["h264"] = (int(rng.integers(18, 41)), tuple(float(v) for v in rng.uniform(-2, 2, 2)))
    return p


def apply(image: np.ndarray, p: dict) -> np.ndarray:
    out = image
    h, w = out.shape[:2]
    if "smooth" in p:
        passes, colour = p["smooth"]
        for _ in range(passes):
            out = cv2.bilateralFilter(out, 9, colour, 8)
    if "defocus" in p:
        out = cv2.GaussianBlur(out, (0, 0), p["defocus"])
    if "moire" in p:
        amplitude, period, angle = p["moire"]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        bands = 1 + amplitude * np.cos(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
        out = np.clip(out * bands[..., None], 0, 255).astype(np.uint8)
    if "blur" in p:
        out = cv2.GaussianBlur(out, (0, 0), p["blur"])
    if "motion" in p:
        k = np.zeros((p["motion"], p["motion"]), np.float32)
        k[p["motion"] // 2] = 1
        rot = cv2.getRotationMatrix2D(((p["motion"] - 1) / 2, (p["motion"] - 1) / 2), p["motion_angle"], 1)
        k = cv2.warpAffine(k, rot, k.shape)
        out = cv2.filter2D(out, -1, k / max(k.sum(), 1e-6))
    if "gamma" in p:
        lut = (np.linspace(0, 1, 256) ** p["gamma"] * 255).astype(np.uint8)
        out = cv2.LUT(out, lut)
    if "noise" in p:
        noise = np.random.default_rng(p["seed"]).normal(0, p["noise"], out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if "scale" in p:
        small = cv2.resize(out, (max(16, int(w * p["scale"])), max(16, int(h * p["scale"]))),
                           interpolation=cv2.INTER_AREA)
        if "h264" in p:   # encoded at the size the video carried it
            small = h264(small, *p["h264"])
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    elif "h264" in p:
        out = h264(out, *p["h264"])
    if "jpeg" in p and "h264" not in p:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, p["jpeg"]])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def h264(image: np.ndarray, crf: int, motion: tuple) -> np.ndarray:
    """`image` as H.264 decodes it from a P-frame: encoded after a copy of itself moved by `motion`."""
    import av   # training only (the `train` extra); the server never imports this module

    h, w = image.shape[:2]
    even = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)   # 4:2:0 needs even sides
    size = (even.shape[1], even.shape[0])
    before = cv2.warpAffine(even, np.float32([[1, 0, motion[0]], [0, 1, motion[1]]]), size,
                            borderMode=cv2.BORDER_REPLICATE)
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = size[0], size[1], "yuv420p"
    encoder.time_base = Fraction(1, 25)
    # one thread and no look-ahead: the same input gives the same bytes, and a frame comes out at once
    encoder.options = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency", "threads": "1"}
    packets = []
    for pts, frame in enumerate((before, even)):
        picture = av.VideoFrame.from_ndarray(frame, format="bgr24")
        picture.pts = pts
        packets += encoder.encode(picture)
    packets += encoder.encode(None)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for packet in packets + [None] for f in decoder.decode(packet)]
    return np.ascontiguousarray(frames[-1].to_ndarray(format="bgr24")[:h, :w])


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def half_size(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
