"""Interlaced video (broadcast 1080i, camcorders, DVDs): each frame weaves two fields taken a fiftieth
of a second apart, and wherever something moves its rows alternate between the two ("combing"). On
a face the comb reads as blending: of 12 real FF++ dev clips woven so, 6 were "Likely manipulated"
and 3 "Uncertain", against 2 and 2 of the same clips progressive.
Such a video is checked on one field of each frame, doubled back to full height.

The measure, on each frame's largest face averaged along its rows: the share of pixels whose two row
neighbours both differ from them the same way by more than 6 levels (a zig-zag), over the same share
at two rows' spacing (rows of one field). Progressive faces (the 36 FF++ dev and 5 sanity clips) stayed
under 0.4 at their median (one clip's 90th percentile 0.77: hence SHARE); 10 of 12 real dev clips woven
from consecutive frames had more than a quarter of their faces over COMBED (the two with the least
motion did not); grain of sigma 5 on 30 UTKFace faces put none over it.
"""

import cv2
import numpy as np

COMBED = 0.5   # a face more zig-zagged between neighbouring rows than this (against rows two apart)
SHARE = 0.25   # more than this share of the frames with a face combed: the video is interlaced
STEP = 6.0     # levels: a zig-zag smaller than this is noise


def comb_ratio(gray: np.ndarray) -> float:
    """Zig-zags between neighbouring rows over zig-zags between rows two apart (0 for a region too small)."""
    if gray.shape[0] < 8 or gray.shape[1] < 8:
        return 0.0
    # averaged along each row first: combing runs the width of what moved, grain and noise do not
    # (film grain of sigma 5 read as combed on every face without it)
    g = cv2.blur(gray.astype(np.float32), (7, 1))
    near = ((g[:-2] - g[1:-1]) * (g[2:] - g[1:-1]) > STEP * STEP).mean()
    apart = ((g[:-4] - g[2:-2]) * (g[4:] - g[2:-2]) > STEP * STEP).mean()
    return float(near / (apart + 1e-3))


def interlaced(media) -> bool:
    """Whether a video's faces show combing in more than SHARE of its frames with a face."""
    largest = {}
    for face in media.faces:
        if face.frame not in largest or face.box[2] * face.box[3] > largest[face.frame].box[2] * largest[face.frame].box[3]:
            largest[face.frame] = face
    images = {f.index: f.image for f in media.frames}
    combed = []
    for n, face in largest.items():
        x, y, w, h = (int(v) for v in face.box)
        region = images[n][max(0, y):max(0, y + h), max(0, x):max(0, x + w)]
        if region.size:
            combed.append(comb_ratio(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)) > COMBED)
    return bool(combed) and sum(combed) > SHARE * len(combed)


def one_field(image: np.ndarray) -> np.ndarray:
    """The frame's even rows (one field), doubled back to its height."""
    h, w = image.shape[:2]
    return cv2.resize(np.ascontiguousarray(image[::2]), (w, h), interpolation=cv2.INTER_LINEAR)
