"""Face crop geometry: THE one definition, shared by training and inference.

A face is cut out by the similarity transform (rotation, uniform scale, shift) that maps its five
RetinaFace landmarks onto TEMPLATE, the median landmark position of the 9,780 UTKFace training crops
(measured with the same RetinaFace, see fakelens.train.landmarks). So a detected face in a photo or
video frame is framed as the training faces were: eyes level, the face filling the crop from brow
to chin. Training jitters `scale` and `shift` a little around (1, 0); inference uses exactly (1, 0).
"""

import cv2
import numpy as np

# Right eye, left eye, nose tip, right mouth corner, left mouth corner, as fractions of the crop side
# (image left to right, as media.types.Face orders them).
TEMPLATE = np.array([[0.2940, 0.2946],
                     [0.6957, 0.3004],
                     [0.4896, 0.5389],
                     [0.3159, 0.6850],
                     [0.6658, 0.6957]], np.float32)


def crop_matrix(landmarks: np.ndarray, size: int, scale: float = 1.0,
                shift: tuple = (0.0, 0.0)) -> np.ndarray:
    """2×3 matrix taking frame pixels to crop pixels. `scale` > 1 zooms out (a looser crop);
    `shift` moves the face by that fraction of the crop side."""
    centre = TEMPLATE.mean(0)
    target = (TEMPLATE - centre) / scale + centre + np.asarray(shift, np.float32)
    return similarity(np.asarray(landmarks, np.float64).reshape(5, 2), target.astype(np.float64) * size)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform src -> dst (closed form; every point counts, no RANSAC)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    norm = (s ** 2).sum()
    if norm < 1e-9:
        raise ValueError("landmarks do not define a face (all on one point)")
    a = (s * d).sum() / norm
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / norm
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (md - rot @ ms)[:, None]]).astype(np.float32)


def crop_zoom(m: np.ndarray) -> float:
    """Crop pixels per picture pixel of a crop_matrix (above 1: the face is stretched to fill the crop)."""
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int, scale: float = 1.0,
               shift: tuple = (0.0, 0.0)) -> np.ndarray:
    """The face crop, `size`×`size` pixels, same channel order as `image`. Beyond the frame's edge
    the border pixels are repeated."""
    m = crop_matrix(landmarks, size, scale, shift)
    # INTER_AREA is not supported by warpAffine; a big downscale is pre-shrunk to avoid aliasing.
    ratio = crop_zoom(m)
    if ratio < 0.5:
        factor = 0.5 / ratio
        small = cv2.resize(image, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
        m = m.copy()
        m[:, :2] *= factor
        image = small
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def outside_fraction(landmarks: np.ndarray, frame_shape: tuple, size: int, scale: float = 1.0) -> float:
    """How much of the face's crop lies beyond the frame's edge (0 to 1), on a 32×32 grid of the crop.
    align_face fills that part by repeating the border pixels, streaks the face-swap model can take
    for blending."""
    m = np.vstack([crop_matrix(landmarks, size, scale), [0, 0, 1]])
    grid = (np.arange(32) + 0.5) * size / 32
    xs, ys = np.meshgrid(grid, grid)
    pts = np.linalg.inv(m) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    h, w = frame_shape[:2]
    inside = (pts[0] >= 0) & (pts[0] < w) & (pts[1] >= 0) & (pts[1] < h)
    return float(1 - inside.mean())
