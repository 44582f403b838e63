"""Find faces and their five landmarks with RetinaFace-MobileNet0.25 (ONNX, models/manifest task face_detect).

The frame is resized so its longest side is the manifest's input_size (640 px: 19 ms on one core for a
1080p frame, and faces were still found at 320 px in FINDINGS.md), then boxes and landmarks are mapped
back to frame pixels. A large photo is shrunk only to a third of its side (at most MAX_PHOTO_SIDE):
at 640 px a 200 px face in a 6000 px group photo becomes 21 px, below what RetinaFace finds. A photo
more than three times as long as wide (a long screenshot, a panorama) is searched at the area of a
1080p photo instead. Anchors and decoding follow biubug6/Pytorch_Retinaface (MIT).

A photo shown sideways or upside down (a site or a messenger stripped its EXIF orientation): RetinaFace
still finds the face, but its landmarks are wrong and the crop cut from them scored as manipulated
(0.72 to 1.0 for a real face turned a quarter, a half or three quarters). So where a photo's face is
found, the photo is searched again turned by each quarter, and each face is taken from the turn in
which it stands upright by its landmarks, the most confidently: on 40 held-out faces in each of the
four orientations this picked the right way up 160 times of 160. It costs three more searches of a
photo with faces (about 60 ms for a 1080p photo). A photo without a face found is not turned (that
would cost every landscape three searches; a sideways face RetinaFace misses is "no face found", not
a wrong score), nor are video frames (their rotation is in the file and applied when decoding).
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
MAX_PHOTO_AREA = 1920 * 1080   # pixels a long screenshot or panorama is searched at


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
    if photo and max(h, w) > 3 * min(h, w):
        # a long screenshot or a panorama: by its long side its faces would shrink below what RetinaFace
        # finds (a 1080×20000 page searched 104 px wide); by its area it costs what a 1080p photo does
        side = max(side, round(max(h, w) * min(1.0, math.sqrt(MAX_PHOTO_AREA / (h * w)))))
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


def upright(landmarks: np.ndarray) -> bool:
    """Eye line within 45° of level (the image-left eye on the left), nose below the eyes, mouth below the nose."""
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarks
    eye = right_eye - left_eye
    if eye[0] <= abs(eye[1]):
        return False
    down = np.array([-eye[1], eye[0]])   # the eye line turned a quarter clockwise (image y grows downwards)
    return float((nose - (left_eye + right_eye) / 2) @ down) > 0 and float(((mouth_left + mouth_right) / 2 - nose) @ down) > 0


def _unturn(face: Face, turns: int, turned_shape: tuple) -> Face:
    """A face found in np.rot90(image, turns), in the image's own pixels. A counterclockwise quarter
    turn takes (x, y) in an image w wide to (y, w - x); undone, (x', y') in an image h' high is (h' - y', x')."""
    points = face.landmarks.astype(np.float64)
    x, y, bw, bh = face.box
    corners = np.array([[x, y], [x + bw, y + bh]], np.float64)
    height, width = turned_shape[:2]
    for _ in range(turns):
        points = np.stack([height - points[:, 1], points[:, 0]], 1)
        corners = np.stack([height - corners[:, 1], corners[:, 0]], 1)
        height, width = width, height
    (x0, y0), (x1, y1) = corners.min(0), corners.max(0)
    box = (int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))
    return Face(frame=face.frame, t=face.t, box=box, score=face.score, landmarks=points.astype(np.float32))


def detect_photo_faces(image: np.ndarray, models: ModelStore, frame: int = 0, t: float = 0.0) -> list[Face]:
    """detect_faces for a photo, each face read the way up it stands (the module's docstring)."""
    faces = detect_faces(image, models, frame, t, photo=True)
    if not faces:
        return faces
    # every turn, even when the faces found look upright: a face upside down mostly gets landmarks that
    # look upright (33 of 40 held-out faces), a face turned a quarter sometimes does (tilted 42°), and
    # only the detector's confidence, higher the right way up, tells such readings apart
    readings = [(f, upright(f.landmarks)) for f in faces]
    for n in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(image, n))
        readings += [(_unturn(f, n, turned.shape), True)
                     for f in detect_faces(turned, models, frame, t, photo=True) if upright(f.landmarks)]
    # each face once: its upright readings first, the most confident of them
    readings.sort(key=lambda r: (not r[1], -r[0].score))
    kept: list[Face] = []
    for face, _ in readings:
        if all(_iou(face.box, other.box) < NMS_IOU for other in kept):
            kept.append(face)
    kept.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
    return kept


def _iou(a: tuple, b: tuple) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter or 1)
