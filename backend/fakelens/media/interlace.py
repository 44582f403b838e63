"""Interlaced video (broadcast 1080i, camcorders, DVDs): each frame weaves two fields taken a fiftieth
of a second apart, and wherever something moves its rows alternate between the two ("combing"). On
a face the comb reads as blending: of 12 real FF++ dev clips woven so, 6 were "Likely manipulated"
and 3 "Uncertain", against 2 and 2 of the same clips progressive.
Such a video is checked on one field of each frame, doubled back to full height.

The measure, on each frame's largest face averaged along its rows: the share of pixels in "teeth",
rows that zig-zag against both neighbours by more than 6 levels three rows running (five rows
alternating, as a moving edge's rows alternate between the two fields), over the same share at two
rows' spacing (rows of one field). A lone zig-zag is not enough: a progressive video downscaled
(320x240, 256x192) thins eyelids and lips to a row or two, and counting single zig-zags read 13 of
164 such variants of the 41 sanity and FF++ dev clips at 0.4 of their size as interlaced (the real
FF++ 994 at 256x192 was "Uncertain" 0.94 on one field, 0.22 on its frames). Teeth: no face of the 41 clips, progressive
at full size or at 0.75, 0.5 and 0.4 of it (bilinear, area, bicubic; H.264 and MJPG), had a 75th
percentile over 0.63 (against COMBED 2), and none had more than 1 of 16 faces over COMBED (the one
clip at 2, FF++ 147, has combed teeth in its source); woven from consecutive frames, 41 of 41 had
more than SHARE of their faces combed at full size, 36 at 0.75, 24 at 0.5 and 17 at 0.4 (smaller
still, their motion is a pixel or less and there is little comb to see). Grain of sigma 5 on 30
UTKFace faces put none over it. Two combed faces are needed whatever the share: one (fine stripes on a
collar) decided a video with a face in only 4-6 frames.
"""

import cv2
import numpy as np

COMBED = 2.0   # a face with more teeth between neighbouring rows than this (against rows two apart)
SHARE = 0.15   # more than this share of the frames with a face combed: the video is interlaced
STEP = 6.0     # levels: a zig-zag smaller than this is noise
MIN_COMBED = 2  # faces combed, whatever their share


def comb_ratio(gray: np.ndarray) -> float:
    """Teeth between neighbouring rows over teeth between rows two apart (0 for a region too small)."""
    if gray.shape[0] < 12 or gray.shape[1] < 8:
        return 0.0
    # averaged along each row first: combing runs the width of what moved, grain and noise do not
    # (film grain of sigma 5 read as combed on every face without it)
    g = cv2.blur(gray.astype(np.float32), (7, 1))
    return float(_teeth(g, 1) / (_teeth(g, 2) + 1e-3))


def _teeth(g: np.ndarray, k: int) -> float:
    """The share of pixels zig-zagging against their rows k above and below, and so the rows k and 2k
    below them too (five rows at spacing k alternating)."""
    zig = (g[:-2 * k] - g[k:-k]) * (g[2 * k:] - g[k:-k]) > STEP * STEP
    return float((zig[:-2 * k] & zig[k:-k] & zig[2 * k:]).mean())


def interlaced(media) -> bool:
    """Whether a video's faces show combing in more than SHARE of its frames with a face (MIN_COMBED at least)."""
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
    # and two faces at least: one combed face (a striped shirt's collar, fine hair) decided a video with
    # a face in only 4-6 frames, reading it on one field
    return sum(combed) >= MIN_COMBED and sum(combed) > SHARE * len(combed)


def one_field(image: np.ndarray) -> np.ndarray:
    """The frame's even rows (one field), doubled back to its height."""
    h, w = image.shape[:2]
    return cv2.resize(np.ascontiguousarray(image[::2]), (w, h), interpolation=cv2.INTER_LINEAR)
