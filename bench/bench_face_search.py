"""How many small faces a photo's search at its own size finds, and what it costs, by the size it
searches at (media/faces.py MAX_PHOTO_SIDE, 1,920 px as shipped).

    .venv/bin/python bench/bench_face_search.py [--sides 1920 1440 1280] [--pictures 3]

Each picture is 1920×1280, a blurred-noise background with twelve UTKFace faces of one size pasted on
it (faces from ../shared/data/faces-real/utkface, different ones per picture); a face counts as found
when a box at least 0.6 of its size is returned. Prints found/searched per face size and milliseconds
per picture (one thread; compare the sides within one run: these machines are shared and noisy).
"""

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from fakelens.config import REPO_MODELS
from fakelens.media import faces
from fakelens.models import ModelStore

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces-real" / "utkface"
SIZES = (32, 40, 48, 64, 80)


def group_photo(names: list[Path], px: int, rng) -> np.ndarray:
    photo = cv2.GaussianBlur(rng.integers(60, 200, (1280, 1920, 3), dtype=np.uint8), (0, 0), 6)
    for k, name in enumerate(names):
        x, y = 100 + (k % 6) * 286, 200 + (k // 6) * 440
        photo[y:y + px, x:x + px] = cv2.resize(cv2.imread(str(name)), (px, px), interpolation=cv2.INTER_AREA)
    return photo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[1920, 1440, 1280])
    parser.add_argument("--pictures", type=int, default=3, help="pictures per face size")
    args = parser.parse_args()
    if not FACES.is_dir():
        raise SystemExit(f"needs the UTKFace faces in {FACES}")
    names = sorted(FACES.iterdir())
    models = ModelStore(REPO_MODELS)
    shipped = faces.MAX_PHOTO_SIDE
    for side in args.sides:
        faces.MAX_PHOTO_SIDE = side
        rng = np.random.default_rng(0)   # the same pictures for every side
        found, seconds, searched = {}, 0.0, 0
        for px in SIZES:
            hits = 0
            for n in range(args.pictures):
                photo = group_photo(names[12 * (n + px):12 * (n + px) + 12], px, rng)
                start = time.perf_counter()
                boxes = [f.box for f in faces.detect_faces(photo, models, photo=True)]
                seconds += time.perf_counter() - start
                searched += 1
                hits += sum(1 for box in boxes if min(box[2:]) >= 0.6 * px)
            found[px] = f"{hits}/{12 * args.pictures}"
        mark = " (as shipped)" if side == shipped else ""
        print(f"search at {side} px{mark}: faces found by size {found}; {1000 * seconds / searched:.0f} ms a picture")
    faces.MAX_PHOTO_SIDE = shipped


if __name__ == "__main__":
    main()
