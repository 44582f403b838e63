"""`fakelens eval --real DIR --fake DIR [--out DIR]`: how well the face-swap detector separates two folders.

Every image or video in the folders goes through the detector's own code path: decode (video:
`settings.video_frames` frames spread evenly), RetinaFace, crop and score each face
(detectors.face_swap.score_faces), the deciding face score of a picture (detectors.face_swap) or
each frame's highest face score, and the media score (image: that score; video: its mean over frames). Files in which no face is found are listed, not
dropped silently, and left out of the metrics; so are files that cannot be read or decoded, and
files that are not images or videos (skipped). "Flagged" counts as the product does: a score at
or above the threshold, unless the detector holds that file at "Uncertain" (small faces, a face in
too few frames).
Writes scores.csv, roc.png and summary.json to --out when given.
"""

import contextlib
import csv
import io
import json
import math
import os
import stat
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from .analyze import SNIFF_BYTES, load_with_faces, sniff_file
from .terminal import csv_cell, shown
from .detectors.face_swap import FaceSwapDetector
from .errors import FakeLensError, WrongArgument
from .fetch.sniff import sniff
from .metrics import auc, auc_interval, recall_at_fpr, roc_curve
from .models import ModelStore, file_sha256


def draw_roc(fpr, tpr, title: str, point=None, size: int = 480) -> bytes:
    """The ROC curve as PNG bytes, drawn with OpenCV (no plotting library needed)."""
    pad = 60
    img = np.full((size + 2 * pad, size + 2 * pad, 3), 255, np.uint8)

    def xy(f, t):
        return int(pad + f * size), int(pad + (1 - t) * size)

    for k in range(0, 11):
        v = k / 10
        cv2.line(img, xy(v, 0), xy(v, 1), (235, 235, 235), 1)
        cv2.line(img, xy(0, v), xy(1, v), (235, 235, 235), 1)
        if k % 2 == 0:
            cv2.putText(img, f"{v:.1f}", (xy(v, 0)[0] - 12, xy(v, 0)[1] + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
            cv2.putText(img, f"{v:.1f}", (pad - 35, xy(0, v)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.rectangle(img, xy(0, 1), xy(1, 0), (0, 0, 0), 1)
    cv2.line(img, xy(0, 0), xy(1, 1), (180, 180, 180), 1, cv2.LINE_AA)
    pts = np.array([xy(f, t) for f, t in zip(fpr, tpr)], np.int32)
    cv2.polylines(img, [pts], False, (200, 80, 0), 2, cv2.LINE_AA)
    if point is not None:
        cv2.circle(img, xy(*point), 5, (0, 0, 220), -1, cv2.LINE_AA)
    cv2.putText(img, title, (pad, pad - 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "false positive rate (real flagged)", (pad + size // 2 - 130, size + pad + 45),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    label = np.full((20, 260, 3), 255, np.uint8)
    cv2.putText(label, "true positive rate (fake caught)", (0, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    rotated = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
    y0 = pad + size // 2 - 130
    img[y0:y0 + 260, 5:25] = rotated
    return cv2.imencode(".png", img)[1].tobytes()   # written by _write_file, which says when it fails


RESULT_FILES = ("scores.csv", "roc.png", "summary.json")
CSV_FIELDS = ["file", "label", "kind", "score", "faces", "frames", "frames_with_faces", "capped", "status"]


def _write_file(path: Path, data: bytes) -> str | None:
    """`data` written to a temporary file beside `path`, then put in its place: a write that fails (a
    full disk) leaves no half file. Why it failed, else None. An earlier run's file there is removed
    then, so that it is not read as this run's."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:   # also on Ctrl+C
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return exc.strerror or str(exc)
    return None


MEDIA_SUFFIXES = {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff",
                  ".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".ts"}


def _is_media(path: Path) -> bool:
    """By name, else by its first bytes (a JPEG saved without an extension is still scored).
    A file that cannot be opened counts as media, so its row says why it could not be read."""
    if path.suffix.lower() in MEDIA_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(SNIFF_BYTES)) is not None
    except OSError:
        return True


def list_media(folder: Path) -> tuple[list[Path], list[Path], list[tuple[Path, str]]]:
    """(media, skipped, unreadable folders with why) under `folder`, linked folders followed (each
    real folder once). A broken link is media (its row says it cannot be read); a file that is neither
    image nor video, or not a regular file (a pipe would block), is skipped, and listed; so is a second
    name of a file already listed (a link to it: it counted twice); a folder that cannot be opened is
    listed too (its files would otherwise vanish from the counts)."""
    if not folder.is_dir():   # "/x is not a folder" left a missing one to guess
        raise WrongArgument(f"{folder} does not exist" if not folder.exists() else
                            f"{folder} is a file, not a folder" if folder.is_file() else f"{folder} is not a folder")
    media, skipped, unreadable, seen, files_seen = [], [], [], set(), set()

    def cannot_open(exc: OSError):
        if Path(exc.filename) == folder:
            raise WrongArgument(f"cannot read {folder}: {exc.strerror}")
        unreadable.append((Path(exc.filename), exc.strerror or str(exc)))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=cannot_open):
        real = os.path.realpath(root)
        if real in seen:   # a link back up the tree, or a second link to the same folder
            dirs[:] = []
            continue
        seen.add(real)
        for name in sorted(files):   # (sorted: which of two names of one file is kept does not vary)
            path = Path(root) / name
            try:
                info = path.stat()
                regular, key = stat.S_ISREG(info.st_mode), (info.st_dev, info.st_ino)
            except OSError:
                regular, key = None, None   # broken link, or no permission to look: listed as an error
            if regular is False or (key is not None and key in files_seen):
                skipped.append(path)
            elif regular is None or _is_media(path):
                media.append(path)
                files_seen.add(key)
            else:
                skipped.append(path)
    return sorted(media), sorted(skipped), sorted(unreadable)


def score_file(path: Path, models: ModelStore, spec, settings, sha: str | None = None) -> dict:
    """{kind, score (None without a face), faces, frames, frames_with_faces, capped}, through the
    detector itself. `capped` is why the product would say at most "Uncertain" however high the
    score (small faces, a face in too few frames), else empty."""
    kind, mime = sniff_file(path)
    media = load_with_faces(path, kind, mime, settings, models, sha=sha)
    signal = FaceSwapDetector(spec, models, settings).run(media)
    return {"kind": kind, "score": signal.score, "faces": len(signal.faces), "frames": len(media.frames),
            "frames_with_faces": signal.detail.get("frames_with_faces", 0),
            "capped": signal.detail.get("at_most_uncertain") or "", "reason": signal.detail.get("reason")}


def _file_error(exc: Exception) -> str:
    if isinstance(exc, FakeLensError):
        return exc.message
    if isinstance(exc, OSError):
        return f"cannot read the file ({exc.strerror or exc})"
    return f"FakeLens hit an internal error: {exc.__class__.__name__}: {exc}"


def _digests_refusing_copies_in_both(reals: list[Path], fakes: list[Path]) -> dict:
    """Each file's sha256 (None when unreadable: listed as an error when it is scored), refusing the
    same bytes under another name in both folders, which would count as real and as fake."""
    def digest(path):
        try:   # an empty file is no one's copy: both fail as unreadable, they cannot count twice
            return file_sha256(path) if path.stat().st_size else None
        except OSError:
            return None
    digests = {p: digest(p) for p in reals + fakes}
    real_by_hash = {digests[p]: p for p in reals if digests[p] is not None}
    copies = [(real_by_hash[digests[p]], p) for p in fakes if digests[p] in real_by_hash]
    if copies:
        raise WrongArgument(f"{len(copies)} file(s) in --fake have the same content as one in "
                            f"--real (first: {copies[0][1]} and {copies[0][0]}): remove the copies")
    return digests


def run_eval(real_dir: Path, fake_dir: Path, out_dir: Path | None, settings, echo: bool = True) -> dict:
    models = ModelStore(settings.models_dir)
    spec = models.first("face_swap")
    if spec is None:
        raise FakeLensError("not_found", "no face_swap model in models/manifest.json")
    for needed in (spec, models.first("face_detect")):   # a broken model fails here in one line, not once per file
        if needed is not None:
            models.session(needed)
    real_at, fake_at = (Path(os.path.realpath(d)) for d in (real_dir, fake_dir))
    if real_at.is_relative_to(fake_at) or fake_at.is_relative_to(real_at):   # with no media in them too
        raise WrongArgument(f"--real {real_dir} and --fake {fake_dir} are the same folder or one is inside the "
                            "other: give two separate folders")
    (reals, skipped_real, shut_real), (fakes, skipped_fake, shut_fake) = list_media(Path(real_dir)), list_media(Path(fake_dir))
    # realpath, not Path.resolve: a symlink loop among the files (listed as unreadable) raised RuntimeError
    both = sorted({os.path.realpath(p) for p in reals} & {os.path.realpath(p) for p in fakes})
    if both:   # nested or equal folders: the same file would count as real and as fake
        raise WrongArgument(f"{len(both)} file(s) are under both --real and --fake "
                            f"(first: {both[0]}): give two separate folders")
    digests = _digests_refusing_copies_in_both(reals, fakes)
    items = [(p, 0) for p in reals] + [(p, 1) for p in fakes]
    if not items:
        raise FakeLensError("bad_request", f"no images or videos in {real_dir} or {fake_dir}")
    if out_dir is not None:   # before the scoring, which can take hours: not after it
        out_dir = Path(out_dir)
        inside = next((d for d in (real_dir, fake_dir)
                       if Path(os.path.realpath(out_dir)).is_relative_to(os.path.realpath(d))), None)
        if inside is not None:   # its PNG would be scored as a picture of that class the next time
            raise WrongArgument(f"the results folder {out_dir} is inside {inside}: put it elsewhere")
        if out_dir.exists() and not out_dir.is_dir():
            raise WrongArgument(f"cannot write the results to {out_dir}: it is a file, not a folder")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(out_dir, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            raise WrongArgument(f"cannot write the results to {out_dir}: {exc.strerror}") from None
        folders = [out_dir / name for name in RESULT_FILES if (out_dir / name).is_dir()]
        if folders:   # it could not be replaced by the file, after all the scoring
            raise WrongArgument(f"cannot write the results to {out_dir}: {folders[0]} is a folder")
    rows, started = [], time.monotonic()
    for label, shut in (("real", shut_real), ("fake", shut_fake)):
        rows += [{"file": str(folder), "label": label, "kind": None, "score": None, "faces": 0, "frames": 0,
                  "frames_with_faces": 0, "capped": "",
                  "status": f"error: cannot read this folder ({why}): its files are not counted"} for folder, why in shut]
    unreadable_folders, interrupted = len(rows), False
    try:
        for n, (path, label) in enumerate(items):
            row = {"file": str(path), "label": "fake" if label else "real", "kind": None, "score": None,
                   "faces": 0, "frames": 0, "frames_with_faces": 0, "capped": "", "status": "ok"}
            try:
                row.update(score_file(path, models, spec, settings, digests[path]))
                reason = row.pop("reason", None)
                if row["score"] is None:
                    row["status"] = reason or "no face found"
            except Exception as exc:   # one bad file is listed; the run, hours long maybe, goes on
                row["status"] = f"error: {_file_error(exc)}"
            rows.append(row)
            if echo:
                s = "-" if row["score"] is None else f"{row['score']:.3f}"
                print(f"[{n + 1}/{len(items)}] {row['label']:4} {s:>5}  {shown(path.name)}  {shown(row['status'])}",
                      file=sys.stderr, flush=True)
    except KeyboardInterrupt:   # Ctrl+C: the files scored so far, hours' worth maybe, are still summed up and written
        interrupted = True
    skipped = skipped_real + skipped_fake
    try:
        summary = _summarise(rows, len(items), unreadable_folders, skipped, spec, started, interrupted, out_dir)
    except KeyboardInterrupt:   # Ctrl+C while summing up (the bootstrap takes seconds): written all the same
        summary = _summarise(rows, len(items), unreadable_folders, skipped, spec, started, True, out_dir, interval=False)
    return summary


def summary_text(summary: dict, out_dir: Path | None) -> str:
    """The summary as the console shows it (file names in it escaped)."""
    text = format_summary(summary) + ("\n  --out DIR keeps the per-file CSV and the ROC curve" if out_dir is None else "")
    return "\n".join(shown(line) for line in text.split("\n"))


def _summarise(rows: list[dict], item_count: int, unreadable_folders: int, skipped: list[Path], spec, started: float,
               interrupted: bool, out_dir: Path | None, interval: bool = True) -> dict:
    """The metrics over the scored rows, written to `out_dir` (scores.csv, roc.png, summary.json) when
    given; without the AUC's bootstrap interval when `interval` is False."""
    scored = [r for r in rows if r["score"] is not None]
    y = np.array([r["label"] == "fake" for r in scored], bool)
    s = np.array([r["score"] for r in scored], np.float64)
    threshold = float(spec.threshold)
    # flagged as the product flags: a capped file is "Uncertain" at most, however high its score
    capped = np.array([bool(r["capped"]) for r in scored], bool)
    flagged = (s >= threshold) & ~capped
    summary = {
        "model": spec.name, "version": spec.version, "threshold": threshold,
        "real": int((~y).sum()), "fake": int(y.sum()),
        "auc": None, "auc_95": None, "accuracy": None, "fpr": None, "tpr": None,
        "recall_at_5pct_fpr": None, "threshold_at_5pct_fpr": None,
        # no face, or only faces too small to judge: listed, never dropped silently
        "no_face": [r["file"] for r in rows if r["score"] is None and not r["status"].startswith("error")],
        "errors": [{"file": r["file"], "error": r["status"][7:]} for r in rows if r["status"].startswith("error")],
        "capped": int((capped & (s >= threshold)).sum()),   # held: a flag the product does not show
        "skipped": [str(p) for p in skipped],
        "seconds": round(time.monotonic() - started, 1),
        "interrupted": interrupted,
        "not_scored": item_count - (len(rows) - unreadable_folders),   # Ctrl+C: left out of the metrics
    }
    if len(s):
        summary["accuracy"] = round(float((flagged == y).mean()), 4)
    if (~y).any():
        summary["fpr"] = round(float(flagged[~y].mean()), 4)
    if y.any():
        summary["tpr"] = round(float(flagged[y].mean()), 4)
    if y.any() and (~y).any():
        summary["auc"] = round(auc(y, s), 4)
        if interval:
            summary["auc_95"] = [round(v, 4) for v in auc_interval(y, s)]
        _, at = recall_at_fpr(y, s, 0.05)
        at = math.ceil(at * 1e4) / 1e4   # rounded up: never more than 5 %; the recall is the one at it
        summary["threshold_at_5pct_fpr"] = at
        summary["recall_at_5pct_fpr"] = round(float((s[y] >= at).mean()), 4)
    if out_dir is not None:
        # each file on its own: one that cannot be written (a full disk) leaves the others, and the
        # summary says which, never naming a file that is not there
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        # a file name that is not UTF-8 is written with escapes, not lost with the whole table
        results = {"scores.csv": table.getvalue().encode("utf-8", errors="backslashreplace")}
        if summary["auc"] is not None:
            fpr, tpr, _ = roc_curve(y, s)
            results["roc.png"] = draw_roc(fpr, tpr, f"{spec.name} v{spec.version}: AUC {summary['auc']:.3f} "
                                          f"({summary['real']} real, {summary['fake']} fake)",
                                          point=(summary["fpr"], summary["tpr"]))
        else:   # an earlier run's curve must not sit beside this run's scores as if it were theirs
            with contextlib.suppress(OSError):
                (out_dir / "roc.png").unlink(missing_ok=True)
        summary["not_written"] = []
        for name, data in results.items():
            why = _write_file(out_dir / name, data)
            if why:
                summary["not_written"].append({"file": str(out_dir / name), "error": why})
            else:
                summary["csv" if name == "scores.csv" else "roc_png"] = str(out_dir / name)
        why = _write_file(out_dir / "summary.json", json.dumps(summary, indent=2).encode())
        if why:   # last: the console and --json still say it
            summary["not_written"].append({"file": str(out_dir / "summary.json"), "error": why})
    return summary


def format_summary(summary: dict) -> str:
    def pct(v):
        return "n/a" if v is None else f"{100 * v:.1f} %"

    lines = [f"{summary['model']} v{summary['version']}: {summary['real']} real and {summary['fake']} fake files scored "
             f"in {summary['seconds']} s",
             (f"  AUC {summary['auc']}" + (f" (95 % interval {summary['auc_95'][0]}–{summary['auc_95'][1]}, bootstrap "
                                           "over files)" if summary["auc_95"] else ""))
             if summary["auc"] is not None else "  AUC n/a: it needs both real and fake files scored",
             f"  at the threshold {summary['threshold']}: accuracy {pct(summary['accuracy'])}, "
             f"false positives {pct(summary['fpr'])} of real, fakes caught {pct(summary['tpr'])}",
             f"  at 5 % false positives: fakes caught {pct(summary['recall_at_5pct_fpr'])}"]
    if summary.get("interrupted") and summary["not_scored"]:   # first: every figure below covers only those
        lines.insert(1, f"  interrupted: {summary['not_scored']} file(s) not scored; these figures cover only "
                        "the files scored before it")
    elif summary.get("interrupted"):
        lines.insert(1, "  interrupted after every file was scored: the AUC's interval was left out")
    if summary["capped"]:
        lines.append(f"  {summary['capped']} file(s) scored at or above the threshold are held at \"Uncertain\" "
                     "(small faces, or a face in too few frames), as the product says them: not counted as flagged")
    if summary["no_face"]:
        lines.append(f"  no face to judge in {len(summary['no_face'])} file(s) (none found, or all too small), "
                     "left out of the metrics:")
        lines += [f"    {shown(f)}" for f in summary["no_face"]]
    if summary["errors"]:
        lines.append(f"  {len(summary['errors'])} file(s) could not be read:")
        lines += [f"    {shown(e['file'])}: {shown(e['error'])}" for e in summary["errors"]]
    if summary["skipped"]:
        lines.append(f"  {len(summary['skipped'])} file(s) skipped: not an image or video, or another name of a "
                     "file listed (a link)" + (" (first 10 listed; all in summary.json)" if len(summary["skipped"]) > 10 else ""))
        lines += [f"    {shown(f)}" for f in summary["skipped"][:10]]
    for failed in summary.get("not_written", []):
        lines.append(f"  could not write {shown(failed['file'])}: {shown(failed['error'])}")
    written = [f"{what}: {shown(summary[key])}" for what, key in (("per-file scores", "csv"), ("ROC curve", "roc_png"))
               if summary.get(key)]
    if written:
        lines.append("  " + "; ".join(written))
    return "\n".join(lines)
