"""Find faces and their five landmarks with RetinaFace-MobileNet0.25 (ONNX, models/manifest task face_detect).

A video frame is resized so its longest side is the manifest's input_size (640 px: 19 ms on one core
for a 1080p frame, and faces were still found at 320 px in FINDINGS.md), then boxes and landmarks are
mapped back to frame pixels. A photo larger than 1.5 times that is searched twice, and the two
searches' faces merged: at input_size, for a face that fills it (larger than RetinaFace's largest
anchor, 512 px, at full size: a close-up in a 6000 px photo was missed at 1920), and at its own size up
to MAX_PHOTO_SIDE, for the small faces of a group photo (at 640 px an 80 px face of a 1920 px photo
becomes 27 px, below what RetinaFace finds: none of 12 was found, every one at 1920). A photo more than
three times as long as wide (a long screenshot, a panorama) is searched at the area of a 1080p photo
instead. Anchors and decoding follow biubug6/Pytorch_Retinaface (MIT).

A photo shown sideways (a site or a messenger stripped its EXIF orientation): RetinaFace still finds
the face, but its landmarks are wrong and the crop cut from them scored as manipulated (up to 0.99 for
real faces turned a quarter). So a photo's face whose landmarks do not make an upright face is read
again from the photo turned by each quarter, and the most confident upright reading of it is kept.
Landmarks that pass as upright but lie bunched inside a sideways face (the eyes closer than
MIN_EYE_SPAN of the box) count as not upright, as a reading of a turned picture does.
Faces whose landmarks look upright are left as found: a face upside down mostly gets landmarks that
look upright (253 of 314 held-out faces), and the detector's confidence, tried as the judge, also
preferred other turns for some upright faces (faces tilted 30°, a few of 150), which then scored high;
so an upside-down photo is not corrected. Nothing is turned in a picture without a face. Video frames
are read the same way: OpenCV applies an MP4's rotation, but MPEG-TS, Matroska and AVI carry none,
and a person lying down is sideways in any file (5 of 12 real FF++ clips turned a quarter were flagged).
"""

import math
from functools import lru_cache

import cv2
import numpy as np

from ..errors import FakeLensError
from ..models import ModelStore
from .align import crop_matrix, crop_zoom, outside_fraction
from .image import shrink_to
from .types import Face

STEPS = (8, 16, 32)
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)
NMS_IOU = 0.4
MIN_FACE_PX = 24          # smaller faces carry too little detail for any detector
MAX_PHOTO_SIDE = 1920     # 0.23 s on one core, once per photo, beside 0.05 s at 640 (a video's frames stay at 640)
MAX_PHOTO_AREA = 1920 * 1080   # pixels a long screenshot or panorama is searched at
# a box's shorter side over the picture pixels its face's crop (align.crop_matrix, scale 1) spans: 0.87
# the median over 598 held-out UTKFace faces at two sizes (5-95 %: 0.80-0.93)
LANDMARK_SIDE = 0.87
FINE_FACE_PX = 256        # the largest face the search at a photo's own size keeps (the 640 px one finds those)


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
    not one of many video frames) is also searched at its own size (the module's docstring)."""
    spec = models.first("face_detect")
    if spec is None:
        raise FakeLensError("model_broken", "no face_detect model in models/manifest.json")
    h, w = image.shape[:2]
    if min(h, w) < MIN_FACE_PX:   # a strip or a thread holds no face this keeps: the model is not run on it
        return []
    sides = [spec.input_size]
    if photo:
        fine = min(MAX_PHOTO_SIDE, max(h, w))
        if max(h, w) > 3 * min(h, w):
            # a long screenshot or a panorama: by its long side its faces would shrink below what RetinaFace
            # finds (a 1080×20000 page searched 104 px wide); by its area it costs what a 1080p photo does
            fine = max(fine, round(max(h, w) * min(1.0, math.sqrt(MAX_PHOTO_AREA / (h * w)))))
        if fine > 1.5 * spec.input_size:
            sides.append(fine)
    # the search at full size keeps the faces up to FINE_FACE_PX there (larger ones the 640 px search
    # finds, whole: at full size one close-up was read as two faces, or a dozen inside it)
    session = models.session(spec)
    found = [_search(image, session, spec, side, FINE_FACE_PX if n else None) for n, side in enumerate(sides)]
    boxes, scores, points = (np.concatenate(parts) for parts in zip(*found))
    if not len(scores):
        return []
    # one face found by both searches is kept once, as the more confident one read it
    order = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), spec.threshold, NMS_IOU)
    faces = []
    for i in np.array(order).reshape(-1):
        x, y, bw, bh = boxes[i]
        if min(bw, bh) < MIN_FACE_PX:
            continue
        x0, y0 = max(0.0, x), max(0.0, y)
        box = (int(round(x0)), int(round(y0)), int(round(min(w, x + bw) - x0)), int(round(min(h, y + bh) - y0)))
        faces.append(Face(frame=frame, t=t, box=box, score=float(scores[i]), landmarks=points[i].astype(np.float32),
                          side=_whole_side(points[i], min(bw, bh), image.shape)))
    faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
    # a "face" inside a larger one (an eye read as a face, in the search at full size) is part of it
    faces = [f for n, f in enumerate(faces) if not any(_inside(f.box, g.box) >= 0.6 for g in faces[:n])]
    return faces[:max_faces]


def _whole_side(landmarks: np.ndarray, box_side: float, shape: tuple) -> int:
    """The shorter side of a face's box; for a face cut by the frame's edge, whose box covers only the
    part shown (62 px of a 108 px face), the side its landmarks give: LANDMARK_SIDE times the picture
    pixels its crop spans."""
    if outside_fraction(landmarks, shape, 160) > 0:
        box_side = max(box_side, LANDMARK_SIDE * 160 / crop_zoom(crop_matrix(landmarks, 160)))
    return int(round(box_side))


def _search(image: np.ndarray, session, spec, side: int, largest: int | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RetinaFace's candidates in `image` shrunk to `side`: boxes (x, y, w, h) and landmarks in the
    image's own pixels, with their scores, those at or above the model's threshold (and no more than
    `largest` pixels across at that size)."""
    h, w = image.shape[:2]
    small = shrink_to(image, side)
    sh, sw = small.shape[:2]
    blob = (small.astype(np.float32) - np.array(spec.mean, np.float32)).transpose(2, 0, 1)[None]
    loc, conf, landms = session.run(None, {"input": blob})
    anchors = _anchors(sh, sw)
    scores = conf[0, :, 1]
    keep = scores >= spec.threshold
    a, loc, landms, scores = anchors[keep], loc[0][keep], landms[0][keep], scores[keep]
    centre = a[:, :2] + loc[:, :2] * VARIANCE[0] * a[:, 2:]
    size = a[:, 2:] * np.exp(loc[:, 2:] * VARIANCE[1])
    boxes = np.concatenate([centre - size / 2, size], 1) * [w, h, w, h]  # anchors are in fractions of the frame
    points = (a[:, None, :2] + landms.reshape(-1, 5, 2) * VARIANCE[0] * a[:, None, 2:]) * [w, h]
    if largest is not None:
        small_enough = np.minimum(size[:, 0] * sw, size[:, 1] * sh) <= largest   # (size: fractions of the frame)
        boxes, scores, points = boxes[small_enough], scores[small_enough], points[small_enough]
    return boxes, scores, points


# the eyes at least this far apart, in the face box's shorter side: upright faces read 0.385 or more (311
# held-out faces; 254 faces of FF++ dev and sanity frames: 0.391), a face turned a quarter and read as
# upright 0.18-0.34 (13 of 13 such readings of the held-out faces, 7 of 9 of the video frames': landmarks
# bunched inside the face, whose crop, a zoomed patch, scored "manipulated": 7 of 10 frames of dfo_real)
MIN_EYE_SPAN = 0.36


def upright(landmarks: np.ndarray, box=None) -> bool:
    """Landmarks that make an upright face: the eye line within 45° of level (the image-left eye on the
    left), and, measured along it in eye distances, the nose between and below the eyes and the mouth
    below the nose, as wide as on the upright held-out faces (all of 314 inside these bounds, with a
    margin; a face turned a quarter is often read inside the first test and outside these); and, given
    the face's box (x, y, w, h), the eyes MIN_EYE_SPAN of its shorter side apart or more."""
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarks.astype(np.float64)
    eye = right_eye - left_eye
    if eye[0] <= abs(eye[1]):
        return False
    distance = float(np.hypot(*eye))
    if box is not None and distance < MIN_EYE_SPAN * min(box[2], box[3]):
        return False
    along, down = eye / distance, np.array([-eye[1], eye[0]]) / distance   # down: a quarter clockwise
    middle = (left_eye + right_eye) / 2
    nose_across, nose_down = (nose - middle) @ along / distance, (nose - middle) @ down / distance
    mouth_down = ((mouth_left + mouth_right) / 2 - middle) @ down / distance
    mouth_width = float(np.hypot(*(mouth_right - mouth_left))) / distance
    return (abs(nose_across) <= 0.5 and 0.15 <= nose_down <= 0.95 and nose_down < mouth_down
            and 0.65 <= mouth_down <= 1.6 and 0.6 <= mouth_width <= 1.25)


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
    return Face(frame=face.frame, t=face.t, box=box, score=face.score, landmarks=points.astype(np.float32),
                side=face.side)


def detect_upright_faces(image: np.ndarray, models: ModelStore, frame: int = 0, t: float = 0.0,
                         photo: bool = True) -> list[Face]:
    """detect_faces, a face whose landmarks are not upright read again from the picture turned by each
    quarter (the module's docstring)."""
    faces = detect_faces(image, models, frame, t, photo=photo)
    standing = [upright(f.landmarks, f.box) for f in faces]
    if all(standing):
        return faces
    turned = []
    for n in (1, 2, 3):
        rotated = np.ascontiguousarray(np.rot90(image, n))
        turned += [_unturn(f, n, rotated.shape) for f in detect_faces(rotated, models, frame, t, photo=photo)
                   if upright(f.landmarks, f.box)]
    # the turns only read again the faces already found (they also find "faces" inside a face, which
    # scored high): for each, the most confident upright reading covering much the same box, each
    # reading given to one face only (two faces read as one would be scored twice)
    out, used = [], set()
    for face, ok in zip(faces, standing):
        readings = [] if ok else [n for n, r in enumerate(turned) if n not in used and _iou(r.box, face.box) >= 0.3]
        best = max(readings, key=lambda n: turned[n].score, default=None)
        if best is not None:
            used.add(best)
        out.append(face if best is None else turned[best])
    return out


def _intersection(a: tuple, b: tuple) -> float:
    """The area two (x, y, w, h) boxes share."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return max(0, x1 - x0) * max(0, y1 - y0)


def _inside(a: tuple, b: tuple) -> float:
    """How much of box `a` lies inside box `b`: a share of a's area."""
    return _intersection(a, b) / float(a[2] * a[3] or 1)


def _iou(a: tuple, b: tuple) -> float:
    """Overlap of two (x, y, w, h) boxes: their intersection over their union."""
    inter = _intersection(a, b)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter or 1)
