"""Face swap / blending: a MobileNetV2 trained here on self-blended images (models/README.md).

Each detected face is cut out with media.align (the same geometry the model was trained on),
scored together with its mirror image (the two probabilities are averaged), and the media-level
score is the deciding face's score for an image and, for a video, the mean over frames of each
frame's highest face score: single real frames can score high, the mean separates clips
(FINDINGS.md). An image's deciding face is its highest-scoring face, except that a face large enough
to flag (FLAG_FACE_PX) at or above the threshold decides over a smaller one scoring higher: a small
face's high score is held at "uncertain" and must not hide a flagged face beside it. (Not in a
video: there the frames' mean would mix the large face's scores with the small one's, and a small
face's high scores could flag it through the frames where it scored highest.)

Small faces (shorter box side, in the pixels the crop is cut from): stretched up to the model's
input, real ones score high (pasted real faces: about 50 % flagged at 27 px, 10 % at 53 px, 5 % at
67 px). So a face under MIN_FACE_PX, or under FLAG_FACE_PX and under half the side of the largest face
in its frame (a small face in the background), is listed, not scored; and when the face that decides
a picture is under FLAG_FACE_PX, or a video is flagged only through such faces (its faces from
FLAG_FACE_PX alone, in MIN_FACE_FRAMES frames or more, would not flag it), the verdict can be at most
"uncertain". From FLAG_FACE_PX a face is scored
however large the others are: a swapped face behind a large real one must not go unjudged (on the
FF++ dev and sanity clips this changed no score: their background faces are all smaller). Only the
`max_faces` largest faces of a frame are scored (the setting; a crowd's others are listed, and a
quiet verdict says so). A video whose faces appear in fewer than MIN_FACE_FRAMES of its sampled
frames can be at most "uncertain" too: one frame is not a video's verdict. The other way, a video
whose mean stays low but whose HIGH_RUN_FRAMES or more consecutive sampled frames score at or
above the threshold (a swapped segment spliced into a real video) is at least "uncertain", naming the
segment; on the FF++ dev and sanity clips this changed no verdict (the real clips' runs reach 2
frames, except in one flagged and one "uncertain" already). Frames count as different moments only
where their deciding face differs (STILL_DIFF, grey levels between aligned crops): a still picture
shown as a video (a podcast's photo, a photo post) is one picture's evidence, held at most "uncertain"
as a one-frame video is, not a mean over 16 samples (the FF++ dev and sanity clips' consecutive
samples differ by 2.2 or more, the real ones' by 2.9 or more; a still re-encoded, by 0.03).

Blurred faces (out of focus, moving, heavily smoothed) score high on unedited faces: 71 % of 150
held-out UTKFace faces blurred with σ 4 (at twice their size) were flagged. A face whose crop holds
less fine detail than BLURRED_DETAIL (face_detail: the Laplacian's variance in the crop's middle) can
be at most "uncertain" (a video: the median over its frames' deciding faces). Measured with the shipped
model on those faces: baseline faces' median detail 68, σ 4's 14 (flagged ones 13), beauty smoothing's
56 (too close to separate; it stays a known false alarm); across the 36 FF++ dev and 5 sanity clips no
flagged fake clip's median is under 22, so the cut-off at 18 changed none of their verdicts.

A picture of at most 256 colours (a GIF, a palette PNG, 1-bit, or such pixels saved otherwise) can be
at most "uncertain": dithering looks like blending to the model (10 of 30 real faces saved as GIF scored over 0.5, some 0.99).

Faces cut by the frame's edge: the crop's part beyond the edge is filled by repeating the border
pixels, and held-out real faces cut that way are flagged more and more often (measured on 110
held-out UTKFace faces cut on each side: 1.5-5 % flagged up to a quarter of the crop outside, 8 %
at 25-30 %, 18 % at 30-40 %, 53 % beyond). A face with more than MAX_OUTSIDE of its crop beyond
the edge is listed, not scored.
"""

import cv2
import numpy as np

from ..errors import FakeLensError
from ..media.align import align_face, crop_matrix, crop_zoom, outside_fraction
from ..media.types import Face, Media
from ..models import ModelSpec, ModelStore
from .base import Detector, Signal, register, score_text, stored_score

MIN_FACE_PX = 32
FLAG_FACE_PX = 64
MIN_FACE_FRAMES = 3
MAX_OUTSIDE = 0.25
HIGH_RUN_FRAMES = 3
STILL_DIFF = 1.5   # mean grey-level difference of two aligned 64 px crops under which they are one picture
BLURRED_DETAIL = 18.0   # face_detail() under which a face is too blurred to flag (module docstring)


def side(face: Face) -> int:
    """The face's size: its box's shorter side, a face cut by the picture's edge measured whole (a
    108 px face half out of the picture was held back as "small (62 px)")."""
    return int(max(face.side, min(face.box[2], face.box[3])))


def deciding_face(faces: list[Face], scores: np.ndarray, threshold: float) -> int:
    """Index of the face that decides a picture (the module's docstring)."""
    flaggable = [i for i, f in enumerate(faces) if side(f) >= FLAG_FACE_PX and scores[i] >= threshold]
    return max(flaggable, key=lambda i: scores[i]) if flaggable else int(np.argmax(scores))


def face_detail(image_bgr: np.ndarray, face: Face, crop_bgr: np.ndarray, spec: ModelSpec) -> float:
    """How much fine detail a face holds: the variance of the Laplacian of its crop's grey middle (60 % of
    each side, so neither the background nor the crop's border counts), in 8-bit grey levels. A face
    smaller than the model's input is cut out again at its own size for this, not stretched: a sharp
    88 px face stretched to 160 px reads as blurred. (BLURRED_DETAIL was measured at 160 px.)"""
    scale = float(spec.crop.get("scale", 1.0))
    zoom = crop_zoom(crop_matrix(face.landmarks, spec.input_size, scale))
    if zoom > 1:
        crop_bgr = align_face(image_bgr, face.landmarks, max(16, round(spec.input_size / zoom)), scale)
    grey = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    h, w = grey.shape
    middle = grey[int(h * 0.2):int(h * 0.8), int(w * 0.2):int(w * 0.8)]
    return float(cv2.Laplacian(middle, cv2.CV_64F).var())


def largest_per_frame(faces: list[Face], limit: int) -> list[Face]:
    """The `limit` largest faces of each frame (a crowd's other faces are listed, not scored)."""
    ranked = sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)
    count: dict[int, int] = {}
    kept = []
    for f in ranked:
        count[f.frame] = count.get(f.frame, 0) + 1
        if count[f.frame] <= limit:
            kept.append(f)
    return kept


def scorable(faces: list[Face]) -> list[Face]:
    """The faces worth scoring: not tiny, and not small and far smaller than the frame's largest (background)."""
    largest = {}
    for f in faces:
        largest[f.frame] = max(largest.get(f.frame, 0), side(f))
    return [f for f in faces if side(f) >= MIN_FACE_PX and (side(f) >= FLAG_FACE_PX or side(f) * 2 >= largest[f.frame])]


def preprocess(crops_bgr: list[np.ndarray], spec: ModelSpec) -> np.ndarray:
    """N×3×S×S float32 as the manifest entry says: channel order, (pixel/255 - mean) / std."""
    batch = np.stack(crops_bgr).astype(np.float32) / 255.0
    if spec.colour.upper() == "RGB":
        batch = batch[..., ::-1]
    batch = (batch - np.array(spec.mean, np.float32)) / np.array(spec.std, np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def face_crops(image_bgr: np.ndarray, faces: list[Face], spec: ModelSpec) -> list[np.ndarray]:
    scale = float(spec.crop.get("scale", 1.0))
    return [align_face(image_bgr, f.landmarks, spec.input_size, scale) for f in faces]


def score_crops(crops_bgr: list[np.ndarray], models: ModelStore, spec: ModelSpec) -> np.ndarray:
    """Probability of blending per crop (mirror-averaged when the manifest's crop says so)."""
    if not crops_bgr:
        return np.zeros(0, np.float32)
    mirror = bool(spec.crop.get("mirror", True))
    if mirror:
        crops_bgr = list(crops_bgr) + [c[:, ::-1] for c in crops_bgr]
    session = models.session(spec)
    probs = session.run(None, {session.get_inputs()[0].name: preprocess(crops_bgr, spec)})[0].reshape(-1)
    if mirror:
        half = len(probs) // 2
        probs = (probs[:half] + probs[half:]) / 2
    # NaN compares false with the threshold and would read as "No signs of manipulation found"
    if not np.all(np.isfinite(probs)) or probs.min() < -1e-4 or probs.max() > 1 + 1e-4:
        raise FakeLensError("model_broken", f"the face-swap model {spec.file} gave a score that is not a "
                            "probability (not a number, or outside 0 to 1): the model is broken, no verdict is given")
    return np.clip(probs, 0.0, 1.0).astype(np.float32)


def score_faces(image_bgr: np.ndarray, faces: list[Face], models: ModelStore, spec: ModelSpec) -> np.ndarray:
    """One score per face of one frame: the single code path of the detector and of `fakelens eval`."""
    return score_crops(face_crops(image_bgr, faces, spec), models, spec)


def longest_high_run(frames: list[tuple[int, float, float]], threshold: float) -> list[tuple[int, float, float]]:
    """The longest run of consecutive sampled frames (position, t, score) scoring at or above the
    threshold; a sampled frame without a scored face breaks a run."""
    best, run = [], []
    for frame in frames:
        run = run + [frame] if run and frame[0] == run[-1][0] + 1 else [frame]
        if frame[2] < threshold:
            run = []
        elif len(run) > len(best):
            best = run
    return best


def few_face_frames(with_faces: int, sampled: int, asked: int) -> str:
    """Why a video's faces in so few frames cannot flag it: a face in every frame of a video shorter than
    the frames asked for is the video's own length ("only 1 of 1 sampled frames" misread it)."""
    if with_faces == sampled < asked:
        return f"the video has only {sampled} frame{'s' if sampled > 1 else ''}"
    return f"a face was seen in only {with_faces} of {sampled} sampled frames"


def aggregate(kind: str, frame_scores: list[float]) -> float:
    """Media score from each frame's deciding (image) or highest (video) face score."""
    return float(max(frame_scores)) if kind == "image" else float(np.mean(frame_scores))


@register
class FaceSwapDetector(Detector):
    name = "face_swap"
    task = "face_swap"

    def run(self, media: Media) -> Signal:
        if not media.faces:
            return Signal(self.name, self.version, None, threshold=self.spec.threshold,
                          detail={"reason": "no face found"})
        frames_by_index = {f.index: f for f in media.frames}
        scale = float(self.spec.crop.get("scale", 1.0))
        # cut-off faces first: a large face half out of the picture must not make a whole one "background"
        whole = [f for f in media.faces if outside_fraction(f.landmarks, frames_by_index[f.frame].image.shape,
                                                            self.spec.input_size, scale) <= MAX_OUTSIDE]
        big_enough = scorable(whole)
        kept = largest_per_frame(big_enough, self.settings.max_faces)
        whole_ids, big_ids, kept_ids = {id(f) for f in whole}, {id(f) for f in big_enough}, {id(f) for f in kept}
        cut = [f for f in media.faces if id(f) not in whole_ids]
        small = [f for f in whole if id(f) not in big_ids]
        over = [f for f in big_enough if id(f) not in kept_ids]
        unscored = {"faces_too_small": len(small), "faces_cut_off": len(cut), "faces_over_limit": len(over)}
        unscored = {k: n for k, n in unscored.items() if n}
        small_out = [{"frame": f.frame, "t": round(float(f.t), 3), "box": [int(v) for v in f.box], "score": None}
                     for f in small + cut + over]
        if not kept:
            reason = (f"faces too small to judge (under {MIN_FACE_PX} px)" if not cut else
                      "faces cut off by the picture's edge, too little of them to judge" if not small else
                      "faces too small or cut off by the picture's edge to judge")
            return Signal(self.name, self.version, None, threshold=self.spec.threshold, faces=small_out,
                          detail={"reason": reason, **unscored})
        by_frame: dict[int, list[Face]] = {}
        for face in kept:
            by_frame.setdefault(face.frame, []).append(face)
        threshold = self.spec.threshold
        faces_out, frames_out, per_frame, deciding_sides, large_only, details = [], [], [], [], [], []
        moments, last_looks = 0, []   # sampled frames whose deciding face differs from every face of the one before
        for index in sorted(by_frame):
            frame = frames_by_index[index]
            crops = face_crops(frame.image, by_frame[index], self.spec)
            scores = score_crops(crops, self.models, self.spec)   # (score_faces, with the crops kept)
            for face, s in zip(by_frame[index], scores):
                faces_out.append({"frame": face.frame, "t": round(float(face.t), 3),
                                  "box": [int(v) for v in face.box], "score": stored_score(s, threshold=threshold)})
            pick = (deciding_face(by_frame[index], scores, threshold) if media.kind == "image"
                    else int(scores.argmax()))
            per_frame.append(float(scores[pick]))
            # the frame as its faces large enough to flag score it, for a video whose flag may come
            # from its small faces
            large = [s for f, s in zip(by_frame[index], scores) if side(f) >= FLAG_FACE_PX]
            if large:
                large_only.append(float(max(large)))
            deciding_sides.append(side(by_frame[index][pick]))
            details.append(face_detail(frame.image, by_frame[index][pick], crops[pick], self.spec))
            # every face of the frame: in a still of two alike faces, which decides can change with the
            # encoder's noise, and one face compared with the other read as a new moment
            looks = [cv2.resize(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), (64, 64),
                                interpolation=cv2.INTER_AREA).astype(np.float32) for c in crops]
            moments += all(float(np.abs(looks[pick] - last).mean()) >= STILL_DIFF for last in last_looks)
            last_looks = looks
            frames_out.append({"t": round(float(frame.t), 3), "score": stored_score(scores[pick], threshold=threshold)})
        score = aggregate(media.kind, per_frame)
        aggregation = ("the deciding face's score" if media.kind == "image"
                       else "mean over frames of each frame's highest face score")
        detail = {}
        # the face that decides an image, the typical deciding face of a video
        deciding = (deciding_sides[int(np.argmax(per_frame))] if media.kind == "image"
                    else int(np.median(deciding_sides)))
        detail_level = details[int(np.argmax(per_frame))] if media.kind == "image" else float(np.median(details))
        # a video flagged through its small faces' scores: its large faces alone, in MIN_FACE_FRAMES
        # frames or more, would not flag it
        held_small = (media.kind == "video" and score >= threshold
                      and (len(large_only) < MIN_FACE_FRAMES or float(np.mean(large_only)) < threshold))
        if media.kind == "video" and len(per_frame) < MIN_FACE_FRAMES:
            # a video of one or two frames (or sampled so) has no more to show: still not a video's verdict
            detail["at_most_uncertain"] = few_face_frames(len(per_frame), len(media.frames), self.settings.video_frames)
            detail["quiet_caveat"] = detail["at_most_uncertain"]   # said beside "No signs…" too
        elif media.kind == "video" and moments < MIN_FACE_FRAMES:
            detail["at_most_uncertain"] = (f"its {len(per_frame)} sampled frames with faces show "
                                           + ("one still picture: one picture's evidence" if moments == 1 else
                                              f"only {moments} different pictures: a few pictures' evidence")
                                           + ", not a video's")
            detail["quiet_caveat"] = detail["at_most_uncertain"]
        elif media.palette:
            detail["at_most_uncertain"] = ("the picture has at most 256 colours (a GIF or palette image, or saved "
                                           "from one): its dithering looks like blending to the model")
        elif held_small and deciding >= FLAG_FACE_PX and len(large_only) < MIN_FACE_FRAMES:
            detail["at_most_uncertain"] = (f"faces of {FLAG_FACE_PX} px or more were seen in only {len(large_only)} "
                                           f"of the {len(per_frame)} frames with faces; the others' faces are small")
        elif held_small and deciding >= FLAG_FACE_PX:
            detail["at_most_uncertain"] = (f"the faces that scored high are small (under {FLAG_FACE_PX} px), too "
                                           "little detail to flag them")
        elif deciding < FLAG_FACE_PX and (media.kind == "image" or held_small or score < threshold):
            detail["at_most_uncertain"] = (f"the face is small ({deciding} px), too little detail to flag it "
                                           f"(faces from {FLAG_FACE_PX} px can be)")
            detail["quiet_caveat"] = f"the face is small, {deciding} px: a swap shows less at that size"
        elif detail_level < BLURRED_DETAIL:
            blurred = "the face is" if media.kind == "image" else "the faces are"
            detail["at_most_uncertain"] = (f"{blurred} blurred (out of focus, moving or smoothed), too little detail "
                                           "to flag: blur alone raises this score on unedited faces")
            detail["quiet_caveat"] = f"{blurred} blurred: a swap shows less"
        if media.kind == "video" and score < threshold:
            position = {f.index: n for n, f in enumerate(media.frames)}
            run = longest_high_run([(position[i], frames_by_index[i].t, s) for i, s in zip(sorted(by_frame), per_frame)],
                                   threshold)
            if len(run) >= HIGH_RUN_FRAMES:
                # their own mean said: the video's (the verdict's score) reads low beside "Uncertain"
                detail["at_least_uncertain"] = (f"{len(run)} consecutive sampled frames "
                                                f"({run[0][1]:.1f}–{run[-1][1]:.1f} s) scored high "
                                                f"({score_text(float(np.mean([r[2] for r in run])))} on average)")
        detail.update(unscored)
        return Signal(
            self.name, self.version, score, threshold=self.spec.threshold, flags="manipulated",
            faces=faces_out + small_out, frames=frames_out if media.kind == "video" else [],
            detail={**detail, "faces_scored": len(faces_out), "frames_with_faces": len(per_frame),
                    **({"different_pictures": moments} if media.kind == "video" else {}),
                    "frames_sampled": len(media.frames), "aggregation": aggregation,
                    "max_face_score": max(f["score"] for f in faces_out),
                    "face_detail": round(detail_level, 1), "blurred_detail": BLURRED_DETAIL,
                    "min_face_px": MIN_FACE_PX, "flag_face_px": FLAG_FACE_PX,
                    "max_faces_per_frame": self.settings.max_faces,
                    "mirror_averaged": bool(self.spec.crop.get("mirror", True)),
                    "model": self.spec.name, "threshold": self.spec.threshold,
                    "trained_on": "real faces and their self-blends only (SBI); catches blending "
                                  "boundaries, not whole-image AI generation"})
