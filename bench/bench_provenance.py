"""How much time provenance adds to a check: median and p95 over repeated runs.

    .venv/bin/python bench/bench_provenance.py [--runs 40] [--fp-dir DIR]

Cases: a 1080p JPEG without credentials (made here), and C2PA public test files when
../shared/data/c2pa-testfiles is present. "frame given" is the real pipeline: the media
stage has decoded the image already and the detector reuses those pixels for the
watermark; "own decode" is the fallback when it cannot (EXIF-rotated or resized frames).
--fp-dir runs the watermark reader over every JPEG/PNG in DIR and counts marks found
(a false-positive check on images that should carry none).
"""

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from fakelens.config import Settings                      # noqa: E402
from fakelens.detectors.provenance import ProvenanceDetector  # noqa: E402
from fakelens.media.types import Frame, Media              # noqa: E402
from fakelens.provenance import watermark                  # noqa: E402

C2PA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "c2pa-testfiles"


def photo_1080p(path: Path):
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (1080 // 16 + 1, 1920 // 16 + 1, 3), np.uint8)
    img = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def media_for(path: Path, with_frame: bool) -> Media:
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    h, w = pixels.shape[:2]
    return Media(kind="image", path=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                 width=w, height=h, mime="image/jpeg",
                 frames=[Frame(0, 0.0, pixels)] if with_frame else [])


def bench(detector, media, runs):
    detector.run(media)                                   # warm-up: trust list, c2pa context
    times, parts = [], []
    for _ in range(runs):
        t = time.perf_counter()
        sig = detector.run(media)
        times.append((time.perf_counter() - t) * 1000)
        parts.append(sig.detail["elapsed_ms"])
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    c2pa = statistics.median(p["c2pa"] for p in parts)
    rest = statistics.median(p["metadata_and_watermark"] for p in parts)
    return statistics.median(times), p95, c2pa, rest, sig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--fp-dir", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args, Path(folder))


def run(args, tmp: Path):
    detector = ProvenanceDetector(None, None, Settings(home=tmp))
    jpeg = tmp / "plain-1080p.jpg"
    photo_1080p(jpeg)
    cases = [("1080p JPEG, no credentials", jpeg)]
    for name in ("adobe-20220124-CAI.jpg", "truepic-20230212-camera.jpg"):
        if (C2PA_DIR / name).is_file():
            cases.append((f"C2PA test file {name}", C2PA_DIR / name))
    if len(cases) == 1:
        print(f"(C2PA test files not found at {C2PA_DIR}: skipping those cases)")
    print(f"{'case':52s} {'pixels':>11s} {'mode':12s} {'median ms':>9s} {'p95 ms':>7s} {'c2pa':>6s} {'meta+wm':>7s}  status")
    for label, path in cases:
        for with_frame in (True, False):
            media = media_for(path, with_frame)
            med, p95, c2pa, rest, sig = bench(detector, media, args.runs)
            mode = "frame given" if with_frame else "own decode"
            print(f"{label:52s} {media.width:>5d}×{media.height:<5d} {mode:12s} {med:9.1f} {p95:7.1f} "
                  f"{c2pa:6.1f} {rest:7.1f}  {sig.provenance['status']}")
    print(f"runs per case: {args.runs}; budget: 20 ms median for a 1080p JPEG (frame given)")

    if args.fp_dir:
        files = sorted(p for p in args.fp_dir.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        found, best = 0, 0.0
        for p in files:
            r = watermark.find_marks(cv2.imread(str(p), cv2.IMREAD_COLOR))
            found += bool(r.get("found"))
            best = max([best] + list(r.get("bit_accuracy", {}).values()))
        print(f"watermark false-positive check: {found} of {len(files)} images in {args.fp_dir} carry a mark; "
              f"highest bit accuracy {best:.3f} (threshold {watermark.MIN_BIT_ACCURACY})")


if __name__ == "__main__":
    main()
