"""How often held-out REAL faces get a false "Likely manipulated" under everyday transformations.

    python -m fakelens.train.robustness [--onnx CANDIDATE.onnx] [--faces 150] [--only "baseline,beauty smoothing"]

Each held-out UTKFace face (the "val" side of models/face_swap-1.split.json, every 6th) is put on a
600×600 grey canvas at twice its size, transformed, written to a file and checked through the
product itself (Analyzer: decode, find faces, the face-swap rules, the verdict). Prints, per
transformation, how many were flagged, held at "Uncertain" or not checked, and the median score.
`--onnx` measures a candidate model at the crop scale its export recorded (else the shipped manifest
entry's) and the shipped entry's threshold (or `--crop-scale`, `--threshold`). Nothing here trains: it
tells whoever trains next what real photos trip the model.
"""

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..analyze import Analyzer
from ..config import REPO_MODELS, Settings
from ..models import file_sha256
from .data import FACE_SWAP_1_SPLIT, SPLIT_MADE_BY, need
from .report_face_swap import input_size, mirrored, recorded_crop_scale

REPO = Path(__file__).resolve().parents[3]
GREY = (150, 150, 150)


def on_canvas(chip: np.ndarray) -> np.ndarray:
    canvas = np.full((600, 600, 3), GREY, np.uint8)
    canvas[100:500, 100:500] = cv2.resize(chip, (400, 400), interpolation=cv2.INTER_CUBIC)
    return canvas


def _noisy(image: np.ndarray, rng, sigma: float) -> np.ndarray:
    return np.clip(image.astype(np.float32) + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC, borderValue=GREY)


def _beauty(image: np.ndarray) -> np.ndarray:
    for _ in range(2):   # two strong edge-preserving passes, as retouching apps smooth skin
        image = cv2.bilateralFilter(image, 15, 60, 12)
    return image


def _screen_photo(image: np.ndarray, rng) -> np.ndarray:
    """A phone's photo of a screen: moiré beat bands and sub-pixel stripes, a slight blur, grain."""
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]].astype(np.float32)
    angle, period = np.deg2rad(rng.uniform(-25, 25)), rng.uniform(22, 40)
    beat = np.cos(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    stripes = np.stack([np.cos(2 * np.pi * (xx + k) / 3.0) for k in range(3)], -1)
    out = image.astype(np.float32) * (1 + 0.08 * beat[..., None] + 0.03 * stripes)
    return _noisy(cv2.GaussianBlur(np.clip(out, 0, 255), (0, 0), 0.8), rng, 4)


# name -> (transform of the canvas, file format): each picture is what a camera, an app or a
# screenshot commonly makes, never an edit of the face itself
TRANSFORMS = {
    "baseline": (lambda im, rng: im, ".png"),
    "jpeg q30": (lambda im, rng: im, ".jpg"),
    "grayscale": (lambda im, rng: cv2.cvtColor(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR), ".png"),
    "rotated 30°": (lambda im, rng: _rotated(im, 30), ".png"),
    "sharpened": (lambda im, rng: cv2.addWeighted(im, 3.0, cv2.GaussianBlur(im, (0, 0), 2.0), -2.0, 0), ".png"),
    "noise (high ISO)": (lambda im, rng: _noisy(im, rng, 18), ".png"),
    "low light": (lambda im, rng: _noisy(((im / 255.0) ** 2.5 * 255).astype(np.uint8), rng, 6), ".png"),
    "upscaled from 60 px": (lambda im, rng: on_canvas(cv2.resize(cv2.resize(im[100:500, 100:500], (60, 60),
                                                                              interpolation=cv2.INTER_AREA),
                                                                   (200, 200), interpolation=cv2.INTER_CUBIC)), ".png"),
    "beauty smoothing": (lambda im, rng: _beauty(im), ".png"),
    "out of focus (σ 2)": (lambda im, rng: cv2.GaussianBlur(im, (0, 0), 2), ".png"),
    "out of focus (σ 4)": (lambda im, rng: cv2.GaussianBlur(im, (0, 0), 4), ".png"),
    "photo of a screen": (lambda im, rng: _screen_photo(im, rng), ".jpg"),
}


def candidate_models(onnx: Path, threshold: float | None, folder: Path, crop_scale: float | None = None) -> Path:
    """A models folder like the shipped one whose face-swap entry is `onnx` (an absolute path, its
    own sha256 and input size; the shipped entry's crop and threshold unless others are given)."""
    manifest = json.loads((REPO_MODELS / "manifest.json").read_text())
    for entry in manifest["models"]:
        entry["file"] = str((REPO_MODELS / entry["file"]).resolve())
        if entry["task"] == "face_swap":
            # its own input size: a candidate trained at another size would not take the shipped 160 px
            entry.update(file=str(onnx.resolve()), sha256=file_sha256(onnx), version="candidate",
                         input_size=input_size(onnx))
            entry["crop"]["mirror"] = mirrored(onnx)
        if entry["task"] == "face_swap" and threshold is not None:
            entry["threshold"] = threshold
        if entry["task"] == "face_swap" and crop_scale is not None:
            entry["crop"]["scale"] = crop_scale
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def shipped_file() -> str:
    """The shipped face-swap model's file name in models/."""
    manifest = json.loads((REPO_MODELS / "manifest.json").read_text())
    return next(e["file"] for e in manifest["models"] if e["task"] == "face_swap")


def held_out_faces(count: int, data: Path, split: Path) -> list[Path]:
    """The first `count` held-out faces: every sixth in name order first (the default 150, as every row in
    the model card was measured), then the others, so a larger --faces reaches all of them."""
    val = sorted(json.loads(split.read_text())["val"])
    names = (val[::6] + [n for i, n in enumerate(val) if i % 6])[:count]
    return [data / n for n in names if (data / n).is_file()]


def measure(faces: list[Path], analyzer: Analyzer, names: list[str], work: Path) -> dict:
    rows = {}
    for name in names:
        transform, ext = TRANSFORMS[name]
        k = list(TRANSFORMS).index(name)   # each transformation draws the same with or without --only
        labels, scores = [], []
        for i, face in enumerate(faces):
            image = transform(on_canvas(cv2.imread(str(face))), np.random.default_rng([k, i]))
            path = work / f"face{ext}"
            cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 30 if name == "jpeg q30" else 85]
                        if ext == ".jpg" else [])
            result = analyzer.analyze({"path": str(path)}, work)
            labels.append(result["label"])
            swap = next(s for s in result["signals"] if s["detector"] == "face_swap")
            if swap["score"] is not None:
                scores.append(swap["score"])
        n = len(labels)
        rows[name] = {"faces": n, "flagged": labels.count("manipulated") / n,
                      "uncertain": labels.count("uncertain") / n, "not_checked": labels.count("not_applicable") / n,
                      "median_score": round(float(np.median(scores)), 3) if scores else None}
    return rows


def table(rows: dict) -> str:
    lines = ["| transformation | faces | flagged | uncertain | not checked | median score |", "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['faces']} | {100 * r['flagged']:.1f} % | {100 * r['uncertain']:.1f} % | "
                     f"{100 * r['not_checked']:.1f} % | {r['median_score']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, help="a candidate face-swap ONNX (default: the shipped model)")
    ap.add_argument("--threshold", type=float, help="the face-swap threshold (default: the shipped one's)")
    ap.add_argument("--crop-scale", type=float, help="the face-swap crop's looseness (default: the one the "
                    "candidate's export recorded, the middle of its --crop-scales; else the shipped one's)")
    ap.add_argument("--faces", type=int, default=150)
    ap.add_argument("--only", default="", help="comma-separated transformation names")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "faces-real" / "utkface")
    ap.add_argument("--split", type=Path, default=FACE_SWAP_1_SPLIT)
    ap.add_argument("--out", type=Path, help="write the rows as JSON here too")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(TRANSFORMS)
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        ap.error(f"unknown transformation(s) {unknown}; known: {', '.join(TRANSFORMS)}")
    need(args.split, SPLIT_MADE_BY)
    if args.onnx and args.crop_scale is None:
        args.crop_scale = recorded_crop_scale(args.onnx)   # None: the shipped entry's
    with tempfile.TemporaryDirectory() as tmp:
        faces = held_out_faces(args.faces, args.data, args.split)
        if not faces:
            raise SystemExit(f"none of the held-out faces of {args.split} is in {args.data}: --data names the faces")
        changed = args.onnx or args.threshold is not None or args.crop_scale is not None
        models = (candidate_models(args.onnx or REPO_MODELS / shipped_file(), args.threshold, Path(tmp) / "models",
                                   args.crop_scale) if changed else REPO_MODELS)
        analyzer = Analyzer(Settings(home=Path(tmp) / "home", cache=False, models_dir=models))
        rows = measure(faces, analyzer, names, Path(tmp))
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
