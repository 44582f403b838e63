"""Landmarks of every training face, computed once and cached (they drive both masks and crops).

Five points come from the same RetinaFace the server runs (media.faces.detect_faces), so the
training crops are aligned exactly as the detector's crops are at inference. The tight UTKFace
crops get a replicated border first: RetinaFace misses faces that touch the image edge.
If models/ holds the MediaPipe face mesh (task face_landmarks), its 468 points are added.

    python -m fakelens.train.landmarks --data ../shared/data/faces-real/utkface --out runs/utk_landmarks.npz
"""

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from ..config import REPO_MODELS
from ..media.faces import detect_faces
from ..models import ModelStore

PAD = 50


def face_mesh(image: np.ndarray, box, models: ModelStore) -> np.ndarray | None:
    """468 (x, y) points from the MediaPipe face mesh run on a square crop around `box`."""
    spec = models.first("face_landmarks")
    if spec is None:
        return None
    x, y, w, h = box
    cx, cy, side = x + w / 2, y + h / 2, max(w, h) * 1.5
    size = spec.input_size
    s = size / side
    m = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float32)
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    blob = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255.0
    session = models.session(spec)
    if len(session.get_inputs()[0].shape) == 4 and session.get_inputs()[0].shape[1] == 3:
        blob = blob.transpose(0, 3, 1, 2)
    outs = session.run(None, {session.get_inputs()[0].name: blob})
    pts = np.asarray(outs[0], np.float32).reshape(-1, 3)[:468, :2]
    inv = cv2.invertAffineTransform(m)
    return pts @ inv[:, :2].T + inv[:, 2]


def compute(files: list[Path], models: ModelStore, log_every: int = 1000) -> dict:
    five = np.full((len(files), 5, 2), np.nan, np.float32)
    mesh = np.full((len(files), 468, 2), np.nan, np.float32)
    start = time.time()
    for i, path in enumerate(files):
        image = cv2.imread(str(path))
        padded = cv2.copyMakeBorder(image, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
        faces = detect_faces(padded, models, max_faces=1)
        if faces:
            five[i] = faces[0].landmarks - PAD
            pts = face_mesh(padded, faces[0].box, models)
            if pts is not None:
                mesh[i] = pts - PAD
        if log_every and (i + 1) % log_every == 0:
            print(f"landmarks {i + 1}/{len(files)} {time.time() - start:.0f}s", flush=True)
    return {"files": np.array([p.name for p in files]), "five": five, "mesh": mesh}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", type=Path, default=REPO_MODELS)
    args = ap.parse_args(argv)
    files = sorted(p for p in args.data.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    result = compute(files, ModelStore(args.models))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **result)
    found = ~np.isnan(result["five"][:, 0, 0])
    print(f"{found.sum()}/{len(files)} faces; mesh for {(~np.isnan(result['mesh'][:, 0, 0])).sum()}")


if __name__ == "__main__":
    main()
