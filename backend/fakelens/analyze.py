"""One check, start to end: fetch → decode → faces → detectors → verdict.

Used by the job pool (server) and by `fakelens check` (CLI). Holds the model sessions and detector
instances for the life of the process.
"""

import contextlib
import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Callable

import cv2

from . import __version__
from .detectors import load_detectors
from .detectors.face_swap import MIN_FACE_FRAMES, longest_high_run
from .config import make_data_folder
from .errors import FakeLensError
from . import fetch as fetching
from .fetch.sniff import SNIFF_BYTES, sniff, unread_photo
from .media.faces import detect_upright_faces
from .media.image import read_image, shrink_to, traits
from .media.interlace import interlaced, one_field
from .media.types import Frame, Media
from .media.isolated import sample_frames_isolated
from .models import ModelStore, file_sha256
from .provenance import VERSION as PROVENANCE_VERSION
from .provenance.trust import anchor_files, anchors_pem
from .verdict import RULES_VERSION, fuse

THUMB_SIDE = 640
Progress = Callable[[str, float], None]

# share of the progress bar each stage takes
STAGES = {"fetch": (0.0, 0.3), "decode": (0.3, 0.5), "faces": (0.5, 0.7), "detect": (0.7, 1.0)}


def sniff_file(path: Path) -> tuple[str, str]:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise FakeLensError("undecodable", "the file is empty (0 bytes)")
    found = sniff(head)
    if found is None and unread_photo(head):
        name = unread_photo(head)
        raise FakeLensError("unsupported_media", f"this is {'an' if name == 'AVIF' else 'a'} {name} photo, which "
                            "FakeLens does not read: export it as JPEG and check that copy")
    if found is None:
        raise FakeLensError("unsupported_media", "this is not an image or video FakeLens can read "
                            "(supported: JPEG, PNG, GIF, WebP, BMP, TIFF, MP4, MOV, WebM, MKV, AVI)")
    return found


REQUIRED_TASKS = ("face_detect", "face_swap")   # without these a check would say nothing of faces


def code_fingerprint(root: Path = Path(__file__).resolve().parent) -> str:
    """A hash of the code that makes a verdict (every module but training's): RULES_VERSION and the
    provenance VERSION are bumped by hand, and changes that moved verdicts (interlaced video, stretched
    pixels, cleaned credential text) went in without a bump, so cached verdicts of older code were
    served as current. Any edit now starts the cache afresh; upgrades are rare, checks cheap to redo."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if not relative.startswith("train/"):
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


CODE_FINGERPRINT = code_fingerprint()


class Analyzer:
    def __init__(self, settings, models: ModelStore | None = None, thumbs_dir: Path | None = None):
        self.settings = settings
        self.thumbs_dir = thumbs_dir   # where the server keeps a small picture of each medium for its report
        self.models = models or ModelStore(settings.models_dir)
        for task in REQUIRED_TASKS:
            if self.models.first(task) is None:
                raise FakeLensError("model_broken", f"{self.models.dir / 'manifest.json'} lists no {task} "
                                    "model: restore models/ from the FakeLens repository")
        self.detectors = load_detectors(self.models, settings)
        self._fingerprint = None

    def used_models(self) -> list:
        """The models a check runs: face detection and each detector's (not face_mesh, training only)."""
        used = {"face_detect"} | {d.task for d in self.detectors if d.task}
        return [s for s in self.models.specs if s.task in used]

    @property
    def fingerprint(self) -> str:
        """What a cached verdict depends on: the models, this code's version, the libraries that decode,
        run the models and validate credentials, and the settings that change a verdict (frames and
        faces looked at, the signers trusted, remote manifests), so turning on remote manifests or
        upgrading FakeLens (any change to its code: CODE_FINGERPRINT) or c2pa does not serve an older
        verdict."""
        s = self.settings
        # the signers trusted can change while the server runs (provenance.trust re-reads them then)
        anchors = tuple((str(p), p.stat().st_mtime_ns) for p in anchor_files(s))
        if self._fingerprint is None or self._fingerprint[0] != anchors:
            parts = [self.models.fingerprint, __version__, CODE_FINGERPRINT, PROVENANCE_VERSION, RULES_VERSION, s.video_frames,
                     s.max_frames, s.max_faces, s.max_video_height, s.remote_manifests,
                     hashlib.sha256(anchors_pem(s).encode()).hexdigest(), *LIBRARIES]
            self._fingerprint = (anchors, hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16])
        return self._fingerprint[1]

    def analyze(self, request: dict, workdir: Path, progress: Progress = lambda s, f: None,
                cancelled: Callable[[], bool] = lambda: False, pictured: Callable[[Path], None] = lambda p: None) -> dict:
        """request: {"path": local file} or {"url", "kind"?}; source_url names where a file came from.
        `pictured` is told the report picture written (a check cleared meanwhile removes it)."""
        started = time.monotonic()

        def step(stage: str, fraction: float = 0.0):
            if cancelled():
                raise FakeLensError("cancelled", "the check was cancelled")
            lo, hi = STAGES[stage]
            progress(stage, lo + (hi - lo) * fraction)

        if request.get("path"):
            path, source_url = Path(request["path"]), request.get("source_url")
            kind, mime = sniff_file(path)
            sha = request.get("sha256")
        else:
            step("fetch")
            fetched = fetching.fetch(request["url"], request.get("kind") or "auto", self.settings, workdir,
                            progress=lambda f: step("fetch", f), cancelled=cancelled)
            path, source_url, kind, mime = fetched.path, request["url"], fetched.kind, fetched.mime
            sha = None
        step("decode")
        media = load_with_faces(path, kind, mime, self.settings, self.models, source_url, sha, step, cancelled)
        if not request.get("path") and fetched.final_url and fetched.final_url != request["url"]:
            media.media_url = fetched.final_url   # which of a page's videos was checked, or where a redirect led
            media.page_videos = fetched.page_videos
        signals = []
        applicable = [d for d in self.detectors if d.applies_to(media)]
        for n, detector in enumerate(applicable):
            step("detect", n / len(applicable))
            signals.append(detector.run(media))   # a face detector says "no face found" itself
        result = fuse(signals, media, (time.monotonic() - started) * 1000)
        # after the detectors: the picture is the frame their scores point to
        picture = self.save_thumbnail(media, result)
        if picture:
            pictured(picture)
        return result

    def save_thumbnail(self, media: Media, result: dict) -> Path | None:
        """The report's picture: the frame report_frame picks, named in the result's "picture" (report.py
        captions it and draws that frame's boxes)."""
        if self.thumbs_dir is None:
            return None
        shown = report_frame(result, media)
        frame = next(f for f in media.frames if f.index == shown["frame"])
        small = shrink_to(frame.image, THUMB_SIDE)
        make_data_folder(self.thumbs_dir)   # pictures of what the user checked: theirs only
        path = self.thumbs_dir / thumbnail_name(media.sha256, shown["t"])
        written = cv2.imwrite(str(path), small, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if written and os.name == "posix":
            with contextlib.suppress(OSError):   # gone already (a clear): said below
                path.chmod(0o600)   # OpenCV writes with the umask's mode
        if not (written and path.is_file()):
            return None   # a report without its picture, not a failed check
        result["picture"] = shown
        return path


def thumbnail_name(sha256: str, t: float) -> str:
    """The picture of a medium's frame at `t` s: another check of the same video sampled at other
    times (other settings or version) writes its own, not over the one an older report draws on."""
    return f"{sha256}-{round(t * 1000)}.jpg"


def thumbnail_frame(face_frames) -> int:
    """Which sampled frame a report showed before the result named it: the first with a face, else the first."""
    return min(face_frames, default=0)


def report_frame(result: dict, media: Media) -> dict:
    """Which sampled frame the report shows, as the result's "picture": {frame, t} and, when faces were
    scored, how many frames it is the highest-scoring of. The highest-scoring frame under any verdict
    (a flag's evidence; under "No signs…" the worst case, not a calm first frame beside a summary about
    other frames); within the run of consecutive high frames an "Uncertain" names, when there is one.
    Without scores, the first frame with a face, else the first."""
    t_of = {f.index: round(float(f.t), 3) for f in media.frames}
    scores: dict[int, float] = {}   # a frame's score: its highest face's, as a video's per-frame line
    for face in result["faces"]:
        if face["score"] is not None:
            scores[face["frame"]] = max(face["score"], scores.get(face["frame"], 0.0))
    if not scores:
        shown = min((f["frame"] for f in result["faces"]), default=media.frames[0].index)
        return {"frame": shown, "t": t_of[shown]}
    among = sorted(scores)
    picture = {}
    named = next((s for s in result["signals"] if (s.get("detail") or {}).get("at_least_uncertain")), None)
    if named is not None:   # the segment the verdict names, found as the detector found it
        position = {f.index: n for n, f in enumerate(media.frames)}
        at = {position[i]: i for i in among}
        run = longest_high_run([(position[i], t_of[i], scores[i]) for i in among], named["threshold"])
        if run:
            among = [at[p] for p, _, _ in run]
            picture["run"] = [run[0][1], run[-1][1]]
    best = max(among, key=lambda i: scores[i])   # the earliest of equal scores
    return {"frame": best, "t": t_of[best], "highest_of": len(among), **picture}


def _libraries() -> tuple[str, ...]:
    """The versions of the libraries whose upgrade can change a verdict (decoding, inference, credential
    validation), read from the modules themselves: whichever package installed them (opencv-python or
    -headless, onnxruntime or -gpu)."""
    import c2pa
    import onnxruntime
    import PIL

    return (f"opencv {cv2.__version__}", f"onnxruntime {onnxruntime.__version__}",
            f"c2pa {getattr(c2pa, '__version__', '?')}", f"pillow {PIL.__version__}")


LIBRARIES = _libraries()


def load_media(path: Path, kind: str, mime: str, settings, source_url: str | None = None,
               sha: str | None = None, progress=lambda f: None, cancelled=lambda: False,
               frames: int | None = None) -> Media:
    """Decode an image, or sample a video's frames (settings.video_frames unless `frames` says), into a
    Media (faces not yet found)."""
    sha = sha or file_sha256(path)
    if kind == "image":
        pixels = read_image(path, mime, settings.max_pixels)
        h, w = pixels.shape[:2]
        return Media("image", str(path), sha, w, h, None, source_url, mime, [Frame(0, 0.0, pixels)],
                     **traits(path, pixels))
    # in a process of its own, killed at the time limit or on cancel, its memory capped (FFmpeg's costs
    # as it opens a file are open-ended)
    sampled, info = sample_frames_isolated(path, frames or settings.video_frames, settings, cancelled, progress)
    return Media("video", str(path), sha, info["width"], info["height"], info["duration"],
                 source_url, mime, sampled, scale=sampled[0].image.shape[1] / info["width"],
                 declared_duration=info["declared_duration"])


SECOND_LOOK_MAX_S = 180   # a faceless video up to this long is sampled again, denser, before "no face"


def load_with_faces(path: Path, kind: str, mime: str, settings, models: ModelStore, source_url: str | None = None,
                    sha: str | None = None, step=lambda stage, f=0.0: None, cancelled=lambda: False) -> Media:
    """load_media, then find_faces; a video of at most SECOND_LOOK_MAX_S with a face in fewer than
    MIN_FACE_FRAMES of its samples is sampled again with max_frames before it is said to have none or
    too few (a face on screen for three seconds of a minute falls between 16 samples, or in one), and an
    interlaced one is checked on one field of each frame (media.interlaced). `step(stage, fraction)` is
    told the progress."""
    media = load_media(path, kind, mime, settings, source_url, sha, lambda f: step("decode", f), cancelled)
    # the second look: only where there are frames between the samples, and a video short enough that
    # reading four times the frames stays quick (a walk through 10 minutes of 1080p is a minute here).
    # Also where a face was in one or two samples: held at "Uncertain" for it, while the same face on
    # screen a little less, in none of them, was judged on the denser look's frames
    may_look_again = (media.kind == "video" and len(media.frames) == settings.video_frames
                      and settings.max_frames > settings.video_frames and (media.duration or 0) <= SECOND_LOOK_MAX_S)
    # the "faces" stage's share of each look, by the frames it reads: where a second look may follow,
    # the first counts for the start of the stage and the second for the rest (it restarted at the
    # middle of the stage: the bar went back, 0.675 to 0.502)
    first = settings.video_frames / (settings.video_frames + settings.max_frames) if may_look_again else 1.0
    find_faces(media, models, lambda f: step("faces", first * f))
    if may_look_again and _frames_with_faces(media) < MIN_FACE_FRAMES:
        rest = 1.0 - first   # half of it reading the denser samples, half finding their faces
        try:
            denser = load_media(path, kind, mime, settings, source_url, media.sha256,
                                lambda f: step("faces", first + rest * 0.5 * f), cancelled, frames=settings.max_frames)
        except FakeLensError as exc:
            if exc.code == "cancelled":
                raise
            return media   # what the first look saw stands
        find_faces(denser, models, lambda f: step("faces", first + rest * (0.5 + 0.5 * f)))
        if _frames_with_faces(denser) >= _frames_with_faces(media):
            media = denser
    if media.kind == "video" and media.faces and interlaced(media):
        # combing on the faces reads as blending: one field of each frame, faces found again
        media.frames = [dataclasses.replace(f, image=one_field(f.image)) for f in media.frames]
        media.faces, media.interlaced = [], True
        find_faces(media, models, lambda f: step("faces", 1.0))   # (progress does not go back)
    return media


def _frames_with_faces(media: Media) -> int:
    return len({f.frame for f in media.faces})


def find_faces(media: Media, models: ModelStore, progress=lambda f: None):
    """Fill media.faces from every frame: every face found, so a face a detector does not judge is
    still listed (and said)."""
    for n, frame in enumerate(media.frames):
        progress(n / len(media.frames))
        media.faces += detect_upright_faces(frame.image, models, frame.index, frame.t, photo=media.kind == "image")
