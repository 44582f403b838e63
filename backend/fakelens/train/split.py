"""Train/validation split that keeps near-duplicate faces on one side.

UTKFace file names carry no identity, and the same photo can appear twice (re-crops, mirror
images). Faces are grouped by a 64-bit DCT perceptual hash: two faces whose hashes (or one's and
the other's mirror's) differ in at most `max_bits` bits are joined, transitively (union-find), and
a whole group goes to one side. Which side is decided by a hash of the group's first file name, so
the split does not depend on the order files are listed in.
"""

import hashlib

import cv2
import numpy as np


def phash(image: np.ndarray) -> int:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].reshape(-1)
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(-1)


def groups(hashes: list[int], mirrored: list[int], max_bits: int = 6) -> np.ndarray:
    """Group id per face (the index of the group's first member)."""
    h = np.array(hashes, np.uint64)
    hm = np.array(mirrored, np.uint64)
    parent = np.arange(len(h))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(h)):
        # the mirror compared both ways: a hash of a mirror image is not the mirror of the hash, so i's
        # mirror against j and j's mirror against i differ (4 and 8 bits for one photo of UTKFace)
        near = ((_popcount(h[i + 1:] ^ h[i]) <= max_bits) | (_popcount(h[i + 1:] ^ hm[i]) <= max_bits)
                | (_popcount(hm[i + 1:] ^ h[i]) <= max_bits))
        for j in np.nonzero(near)[0] + i + 1:
            a, b = find(i), find(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(len(h))])


def split(names: list[str], images_or_hashes, val_fraction: float = 0.1, max_bits: int = 6):
    """(train_indices, val_indices). `images_or_hashes`: callable i -> BGR image."""
    hashes, mirrored = [], []
    for i in range(len(names)):
        image = images_or_hashes(i)
        hashes.append(phash(image))
        mirrored.append(phash(image[:, ::-1]))
    group = groups(hashes, mirrored, max_bits)
    val = []
    for i, g in enumerate(group):
        key = hashlib.sha256(names[g].encode()).digest()[0] / 256
        val.append(key < val_fraction)
    val = np.array(val)
    return np.nonzero(~val)[0], np.nonzero(val)[0], group
