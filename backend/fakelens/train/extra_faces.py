"""Extra training faces: photos of other sets cut into UTKFace-framed chips, and a data folder that
joins them to UTKFace, so the trainer takes them as more real faces to self-blend.

A chip is the face aligned onto the UTKFace template (media.align) at CHIP px, as a UTKFace crop is
framed, so the trainer's crops of it look like its crops of UTKFace. Extra faces go to the training
side only: the validation side, and so every held-out number, stays UTKFace's.

    python -m fakelens.train.extra_faces --photos ../shared/data/synthetic-faces/sdfd \
        --utkface ../shared/data/faces-real/utkface --landmarks runs/utk_landmarks.npz \
        --split runs/face_swap/split.json --out runs/utk+sdfd
then train with --data runs/utk+sdfd/faces --landmarks runs/utk+sdfd/landmarks.npz
--split runs/utk+sdfd/split.json.
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from ..config import REPO_MODELS
from ..media.align import align_face, outside_fraction
from ..media.faces import detect_faces
from ..models import ModelStore
from .landmarks import compute

CHIP = 200   # UTKFace's crop side
# A chip reaching past its photo's edge is filled by repeated border pixels (streaks no UTKFace chip
# has inside it); such photos are left out.
MAX_OUTSIDE = 0.05
PREFIX = "extra-"   # UTKFace names start with the age, so the two sets' names never meet


def cut_chips(photos: list[Path], out_dir: Path, models: ModelStore) -> list[Path]:
    """One chip per photo with a face (its largest) wholly inside it, written as PNG (no second JPEG
    pass)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chips = []
    for path in photos:
        image = cv2.imread(str(path))
        faces = detect_faces(image, models, max_faces=1, photo=True) if image is not None else []
        if not faces:
            print(f"no face: {path.name}", flush=True)
            continue
        if outside_fraction(faces[0].landmarks, image.shape, CHIP) > MAX_OUTSIDE:
            print(f"face at the edge: {path.name}", flush=True)
            continue
        chip = out_dir / f"{PREFIX}{path.stem}.png"
        cv2.imwrite(str(chip), align_face(image, faces[0].landmarks, CHIP))
        chips.append(chip)
    return chips


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, required=True, help="folder of photos, one face each")
    ap.add_argument("--utkface", type=Path, required=True)
    ap.add_argument("--landmarks", type=Path, required=True, help="UTKFace's landmarks (fakelens.train.landmarks)")
    ap.add_argument("--split", type=Path, required=True, help="UTKFace's split.json; extra faces join its train side")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", type=Path, default=REPO_MODELS)
    args = ap.parse_args(argv)
    models = ModelStore(args.models)
    faces = args.out / "faces"
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    chips = cut_chips(photos, faces, models)
    for p in sorted(args.utkface.iterdir()):
        link = faces / p.name
        if not link.exists():
            link.symlink_to(p.resolve())
    extra = compute(chips, models, log_every=200)
    utk = np.load(args.landmarks)
    joined = {k: np.concatenate([utk[k], extra[k]]) for k in ("files", "five", "mesh")}
    np.savez_compressed(args.out / "landmarks.npz", **joined)
    sides = json.loads(args.split.read_text())
    found = [str(n) for n, f in zip(extra["files"], extra["five"]) if np.isfinite(f).all()]
    sides["train"] = sides["train"] + found
    (args.out / "split.json").write_text(json.dumps(sides))
    print(f"{len(chips)} chips of {len(photos)} photos; {len(found)} with landmarks join the "
          f"{len(sides['train']) - len(found)} UTKFace training faces")


if __name__ == "__main__":
    main()
