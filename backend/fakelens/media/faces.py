"""Find faces and their five landmarks with RetinaFace-MobileNet0.25 (ONNX, models/manifest task face_detect).

The frame is resized so its longest side is the manifest's input_size (640 px: 19 ms on one core for a
1080p frame, and faces were still found at 320 px in FINDINGS.md), then boxes and landmarks are mapped
back to frame pixels. A large photo is shrunk only to a third of its side (at most MAX_PHOTO_SIDE):
at 640 px a 200 px face in a 6000 px group photo becomes 21 px, below what RetinaFace finds. Anchors and decoding follow biubug6/Pytorch_Retinaface (MIT).
"""

import math
from functools import lru_cache

import cv2
import numpy as np

from ..errors import FakeLensError
from ..models import ModelStore
from .image import shrink_to
from .types import Face

STEPS = (8, 16, 32)
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)
NMS_IOU = 0.4
MIN_FACE_PX = 24          # smaller faces carry too little detail for any detector
MAX_PHOTO_SIDE = 1920     # about 0.5 s on one core, once per photo (a video's frames stay at 640)


@lru_cache(maxsize=16)
def _anchors(height: int, width: int) -> np.ndarray:
    rows = []
    for step, sizes in zip(STEPS, MIN_SIZES):
        ny, nx = math.ceil(height / step), math.ceil(width / step)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        cx = (xx.ravel() + 0.5) * step / width
        cy = (yy.ravel() + 0.5) * step / height
        per_cell = [np.stack([cx, cy, np.full_like(cx, s / width), np.full_like(cy, s / height)], 1) for s in sizes]
        rows.append(np.stack(per_cell, 1).reshape(-1, 4))
    return np.concatenate(rows).astype(np.float32)


def detect_faces(image: np.ndarray, models: ModelStore, frame: int = 0, t: float = 0.0,
                 max_faces: int | None = None, photo: bool = False) -> list[Face]:
    """Faces in a BGR frame, largest first, at most `max_faces` (None: all). A `photo` (a still image,
    not one of many video frames) larger than three times the model's side is searched at a third of
    its side."""
    spec = models.first("face_detect")
    if spec is None:
        raise FakeLensError("model_broken", "no face_detect model in models/manifest.json")
    session = models.session(spec)
    h, w = image.shape[:2]
    side = max(spec.input_size, min(MAX_PHOTO_SIDE, max(h, w) // 3)) if photo else spec.input_size
    small = shrink_to(image, side)
    sh, sw = small.shape[:2]
    blob = (small.astype(np.float32) - np.array(spec.mean, np.float32)).transpose(2, 0, 1)[None]
    loc, conf, landms = session.run(None, {"input": blob})
    anchors = _anchors(sh, sw)
    scores = conf[0, :, 1]
    keep = scores >= spec.threshold
    if not keep.any():
        return []
    a, loc, landms, scores = anchors[keep], loc[0][keep], landms[0][keep], scores[keep]
    centre = a[:, :2] + loc[:, :2] * VARIANCE[0] * a[:, 2:]
    size = a[:, 2:] * np.exp(loc[:, 2:] * VARIANCE[1])
    boxes = np.concatenate([centre - size / 2, size], 1) * [w, h, w, h]  # anchors are in fractions of the frame
    points = (a[:, None, :2] + landms.reshape(-1, 5, 2) * VARIANCE[0] * a[:, None, 2:]) * [w, h]
    order = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), spec.threshold, NMS_IOU)
    faces = []
    for i in np.array(order).reshape(-1):
        x, y, bw, bh = boxes[i]
        if min(bw, bh) < MIN_FACE_PX:
            continue
        x0, y0 = max(0.0, x), max(0.0, y)
        box = (int(round(x0)), int(round(y0)), int(round(min(w, x + bw) - x0)), int(round(min(h, y + bh) - y0)))
        faces.append(Face(frame=frame, t=t, box=box, score=float(scores[i]), landmarks=points[i].astype(np.float32)))
    faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
    return faces[:max_faces]
