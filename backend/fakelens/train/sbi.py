"""Self-blended images (after Shiohara & Yamasaki, CVPR 2022; written from the paper, not their code).

A fake is made from one real face alone: a copy of the face (the *source*) gets a colour and
frequency jitter and a small affine misalignment, and is alpha-blended back into the untouched
original (the *target*) through a soft face mask. What the classifier can learn from the pair is only
what face swaps share: a blending boundary and a statistical mismatch between the inner face and
its surroundings. Outside the mask the blend equals the original, pixel for pixel.

Two strengths of synthesis (a training run keeps its choice in its checkpoint):
- "mild" (face_swap-1): a mild colour jitter always, a frequency change 70 % of the time, and only
  ever on the copy;
- "paper" (the paper's source-target augmentation): a frequency change every time (nearest-neighbour
  down-scaling by 2 or 4, or a 3×3 sharpening), and half the time on the face itself instead of the
  copy, so the real sample carries the change too and only the mismatch marks the fake;
- "mixed": each pair drawn with "mild" or "paper", half and half;
- "swap": half the pairs "mild", half a *look-alike swap* (after Face X-ray, Li et al., CVPR 2020): the
  inner face of another training face whose landmarks lie closest, aligned on the five points and
  given this face's colours, blended in through the same kind of mask. Its fakes carry what real swaps
  carry beyond a blend (another person's skin, features a little out of place); self-blends alone
  carry neither. Only training draws it: validation and reports blend "mild".
"""

import cv2
import numpy as np

BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)   # the paper's choice: mostly full blends
SELF_SYNTHESES = ("mild", "paper", "mixed")   # a face alone makes its fake
SYNTHESES = SELF_SYNTHESES + ("swap",)         # "swap" needs a donor face too (training only)
SWAP_SHARE = 0.5                               # of the pairs "swap" draws as look-alike swaps


def five_point_hull(five: np.ndarray) -> np.ndarray:
    """A face outline from 5 landmarks, for faces the mesh missed: an ellipse around eyes, nose and
    mouth, reaching the brow above and the chin below."""
    eyes, mouth = five[:2].mean(0), five[3:].mean(0)
    down = mouth - eyes
    height = np.linalg.norm(down) + 1e-6
    axis = down / height
    width = np.linalg.norm(five[1] - five[0])
    centre = eyes + axis * height * 0.3
    angle = np.degrees(np.arctan2(axis[1], axis[0])) - 90
    pts = cv2.ellipse2Poly((int(centre[0]), int(centre[1])), (int(width * 0.95), int(height * 1.45)),
                           int(angle), 0, 360, 10)
    return pts.astype(np.float32)


def face_hull(five: np.ndarray, mesh: np.ndarray | None) -> np.ndarray:
    """(N, 2) points whose convex hull is the face region."""
    if mesh is not None and np.isfinite(mesh).all():
        return cv2.convexHull(mesh.astype(np.float32)).reshape(-1, 2)
    return five_point_hull(five)


def elastic(mask: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Warp the mask by a smooth random displacement field (alpha: pixels, sigma: smoothness)."""
    h, w = mask.shape
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dx *= alpha / (np.abs(dx).max() + 1e-6)
    dy *= alpha / (np.abs(dy).max() + 1e-6)
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def make_mask(shape, hull: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft float mask in [0, 1]: the (randomly shrunk or grown, deformed, eroded or dilated)
    convex hull, blurred with a random kernel."""
    h, w = shape[:2]
    face = max(np.ptp(hull[:, 0]), np.ptp(hull[:, 1]))
    centre = hull.mean(0)
    pts = (hull - centre) * rng.uniform(0.8, 1.0, 2) + centre          # random hull size and aspect
    if rng.random() < 0.3:                                             # sometimes the lower face only
        cut = centre[1] - face * rng.uniform(0.0, 0.15)
        pts[:, 1] = np.maximum(pts[:, 1], cut)
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(pts.astype(np.int32)), 1.0)
    mask = elastic(mask, rng, alpha=face * rng.uniform(0.02, 0.06), sigma=face * rng.uniform(0.06, 0.12))
    k = int(face * rng.uniform(0.0, 0.06)) * 2 + 1
    if k > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    blur = int(face * rng.uniform(0.04, 0.2)) * 2 + 1
    mask = cv2.GaussianBlur(mask, (blur, blur), 0)
    peak = mask.max()
    # The mask is compared to nothing exactly: a test against == 1 after blurring once emptied every mask.
    return mask / peak if peak > 0 else mask


def jitter_source(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour and frequency jitter of the copy that becomes the inner face."""
    out = image.astype(np.float32)
    out += rng.uniform(-15, 15, 3).astype(np.float32)                          # per-channel shift
    if rng.random() < 0.5:                                                     # hue / saturation / value
        hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-2, 2)) % 180
        hsv[..., 1] *= rng.uniform(0.9, 1.1)
        hsv[..., 2] *= rng.uniform(0.9, 1.1)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = (out - out.mean()) * rng.uniform(0.9, 1.1) + out.mean() * rng.uniform(0.9, 1.1)  # contrast, brightness
    out = np.clip(out, 0, 255).astype(np.uint8)
    r = rng.random()
    h, w = out.shape[:2]
    if r < 0.4:                                                                # lose detail: down and up
        f = rng.uniform(0.35, 0.85)
        small = cv2.resize(out, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    elif r < 0.7:                                                              # add detail: sharpen
        soft = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.8, 2.0))
        out = cv2.addWeighted(out, 1 + rng.uniform(0.3, 1.0), soft, -rng.uniform(0.3, 1.0), 0)
    return out


def misalign(image: np.ndarray, centre, face: float, rng: np.random.Generator) -> np.ndarray:
    """A small random shift and scale of the source copy around the face centre."""
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, 2) * face
    m = np.array([[s, 0, (1 - s) * centre[0] + tx], [0, s, (1 - s) * centre[1] + ty]], np.float32)
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def paper_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The paper's strengths: an RGB shift (±20, 30 % of the time), brightness and contrast (±10 %),
    then always one frequency change: nearest-neighbour down-scaling by 2 or 4 and back up, or a 3×3
    sharpening kernel mixed in by 20–50 %. (The paper's hue/saturation step rounds to nothing on 8-bit
    images, so it is left out.)"""
    out = image.astype(np.float32)
    if rng.random() < 0.3:
        out += rng.uniform(-20, 20, 3).astype(np.float32)
    out = out * (1 + rng.uniform(-0.1, 0.1)) + 255 * rng.uniform(-0.1, 0.1)
    out = np.clip(out, 0, 255).astype(np.uint8)
    h, w = out.shape[:2]
    if rng.random() < 0.5:
        r = int(rng.choice((2, 4)))
        small = cv2.resize(out, (max(4, w // r), max(4, h // r)), interpolation=cv2.INTER_NEAREST)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha, lightness = rng.uniform(0.2, 0.5), rng.uniform(0.5, 1.0)
    effect = -np.ones((3, 3), np.float32)
    effect[1, 1] = 8 + lightness
    identity = np.zeros((3, 3), np.float32)
    identity[1, 1] = 1
    return cv2.filter2D(out, -1, (1 - alpha) * identity + alpha * effect)


def self_blend(image: np.ndarray, five: np.ndarray, mesh: np.ndarray | None,
               rng: np.random.Generator, source: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(blend, mask): a fake made from `image` (BGR uint8) alone; mask is the blend weight per pixel.
    `source` is the copy to blend in (default: `image` with the mild jitter)."""
    hull = face_hull(five, mesh)
    face = max(np.ptp(hull[:, 0]), np.ptp(hull[:, 1]))
    source = jitter_source(image, rng) if source is None else source
    source = misalign(source, hull.mean(0), face, rng)
    mask = make_mask(image.shape, hull, rng) * rng.choice(BLEND_RATIOS)
    m = mask[..., None]
    blend = source.astype(np.float32) * m + image.astype(np.float32) * (1 - m)
    blend = np.where(m > 0, np.clip(np.rint(blend), 0, 255), image).astype(np.uint8)
    return blend, mask


def normalised_five(five: np.ndarray) -> np.ndarray:
    """(N, 10): each face's five points moved to their centre, turned so the eyes lie level and
    scaled to a unit eye distance: what is left is pose and shape, not place or size."""
    five = np.asarray(five, np.float64)
    centred = five - five.mean(1, keepdims=True)
    eyes = five[:, 1] - five[:, 0]
    angle = np.arctan2(eyes[:, 1], eyes[:, 0])
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], 1)          # (N, 2, 2)
    turned = np.einsum("nij,nkj->nki", rot, centred)
    return (turned / (np.linalg.norm(eyes, axis=1)[:, None, None] + 1e-6)).reshape(len(five), -1)


def lookalikes(five: np.ndarray, indices, k: int = 20) -> dict:
    """Face index -> the `k` faces among `indices` (itself excepted) whose normalised landmarks lie
    closest: the donors a look-alike swap draws from (Face X-ray's nearest-landmark search). Give only
    training faces: a held-out face must never lend its face."""
    indices = np.asarray(indices)
    k = min(k, len(indices) - 1)
    if k < 1:
        raise ValueError("a look-alike swap needs two training faces or more")
    points = normalised_five(five[indices]).astype(np.float32)
    squares = (points ** 2).sum(1)
    near = {}
    for start in range(0, len(indices), 1024):                  # the full matrix would be 300 MB
        block = points[start:start + 1024]
        d = squares[start:start + 1024, None] + squares[None] - 2 * block @ points.T
        d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        for row, face in enumerate(indices[start:start + 1024]):
            near[int(face)] = indices[nearest[row]]
    return near


def match_colours(source: np.ndarray, target: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`source` with the mean and spread of `target`'s colours (Lab, per channel) inside `region`, as
    face-swap tools correct colour before blending (Reinhard et al., 2001)."""
    s = cv2.cvtColor(source, cv2.COLOR_BGR2LAB).astype(np.float32)
    t = cv2.cvtColor(target, cv2.COLOR_BGR2LAB).astype(np.float32)
    inside = region > 0
    s_mean, s_std = s[inside].mean(0), s[inside].std(0) + 1e-3
    t_mean, t_std = t[inside].mean(0), t[inside].std(0) + 1e-3
    out = (s - s_mean) * (t_std / s_std) + t_mean
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def lookalike_swap(image: np.ndarray, five: np.ndarray, mesh: np.ndarray | None, donor: np.ndarray,
                   donor_five: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(blend, mask): `donor`'s face moved onto `image`'s five points (a similarity transform), given
    `image`'s colours over the face and blended in as a self-blend's copy is. Outside the mask the
    blend equals `image`."""
    m, _ = cv2.estimateAffinePartial2D(np.asarray(donor_five, np.float32), np.asarray(five, np.float32))
    h, w = image.shape[:2]
    moved = cv2.warpAffine(donor, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    region = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(face_hull(five, mesh).astype(np.int32)), 1)
    return self_blend(image, five, mesh, rng, source=match_colours(moved, image, region))


def blend_pair(image: np.ndarray, five: np.ndarray, mesh: np.ndarray | None, rng: np.random.Generator,
               synthesis: str = "mild", donor: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(real, blend, mask) with the given synthesis. The blend equals `real` outside the mask; with
    "paper" the jitter goes half the time to the face itself, and `real` is then the jittered face.
    "swap" takes `donor`, (image, five points) of a look-alike face, for its swaps."""
    if synthesis == "swap":
        if donor is None:
            raise ValueError("the swap synthesis needs a donor face (training only; validation blends mild)")
        if rng.random() < SWAP_SHARE:
            return (image, *lookalike_swap(image, five, mesh, donor[0], donor[1], rng))
        synthesis = "mild"
    if synthesis == "mixed":
        synthesis = "mild" if rng.random() < 0.5 else "paper"
    if synthesis == "mild":
        return (image, *self_blend(image, five, mesh, rng))
    if synthesis != "paper":
        raise ValueError(f"unknown synthesis {synthesis!r}; one of {SYNTHESES}")
    if rng.random() < 0.5:
        return (image, *self_blend(image, five, mesh, rng, source=paper_jitter(image, rng)))
    target = paper_jitter(image, rng)
    return (target, *self_blend(target, five, mesh, rng, source=image))
