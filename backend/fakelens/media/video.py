"""Sample frames evenly from a video: in one sequential pass, or by seeking when they lie far apart.

grab() walks the stream without converting pixels and retrieve() converts only the frames we keep:
on long-GOP H.264 and VP9 this is several times faster than seeking when the samples are close
(FINDINGS.md: 1.2-2.3 s vs 2.8-13.3 s for 64 frames of a 30 s 720p clip); a long video's samples are
reached by seeking (SEEK_GAP).
"""

import dataclasses
import struct
import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import FakeLensError
from .image import megapixels, over_limit, shrink_to
from .structure import BoxWalk, check_video_index, is_iso_media, jpeg_layout, mapped, movie_missing
from .types import Frame

MAX_SIDE = 1920   # frames larger than this are shrunk: detectors never need more, memory stays bounded
# Frames between samples beyond which a seek beats walking: a seek decodes from the keyframe before its
# target (H.264 puts one every 250 frames at most, by default), a walk grabs every frame. A 30-minute
# 720p video walked took about 130 s here, past decode_wall_s.
SEEK_GAP = 300
SLOW_SEEK_S = 2.0   # a seek slower than this: the rest of the video is walked
AV1 = b"AV01"
MOTION_JPEG = b"MJPG"   # OpenCV's name for the codec, whatever the container calls it (MOV's "jpeg" too)


def _open(path: Path) -> cv2.VideoCapture:
    # absolute: FFmpeg reads a relative "x:y.mp4" (or "2024-01-01T10:30.mp4") as a protocol name
    cap = cv2.VideoCapture(str(Path(path).resolve()))
    if not cap.isOpened():
        raise _unopened(path)
    return cap


def _unopened(path: Path) -> FakeLensError:
    """Why FFmpeg could not open the video, where an MP4/MOV's own boxes tell: one cut off before its index
    (moov, written last: an interrupted download) and one of sound only read alike before."""
    try:
        with mapped(path) as data:
            missing = movie_missing(data)
            name = "MOV" if bytes(data[4:12]) == b"ftypqt  " else "MP4"
    except (OSError, ValueError, struct.error, IndexError, FakeLensError):
        missing = None
    if missing == "index":
        return FakeLensError("undecodable", f"the {name} is incomplete (its index is missing: the download or "
                             "recording was cut off)")
    if missing == "video":
        return FakeLensError("unsupported_media", "this file holds sound only, no video")
    return FakeLensError("undecodable", "the video could not be opened (a broken or unknown container, or sound "
                         "only: no video stream)")


def _movie_length(path: Path) -> float | None:
    """An MP4/MOV's own length in seconds, from its movie header (mvhd: after any edit list, so a clip
    trimmed without re-encoding says its trimmed length while its track still counts every frame);
    None for other containers or when it cannot be read."""
    try:
        with mapped(path) as data:
            if not is_iso_media(data):
                return None
            walk = BoxWalk(data)   # (its box count capped: a file padded with millions of boxes ends the walk)
            for kind, body, end in walk.boxes():   # top-level boxes: moov may come after the media data
                if kind == b"moov":
                    for child, at, child_end in walk.boxes(body, end):   # mvhd is one of the first
                        if child == b"mvhd":
                            v1 = data[at] == 1
                            scale, length = (struct.unpack_from(">IQ", data, at + 20) if v1
                                             else struct.unpack_from(">II", data, at + 12))
                            unknown = length == (1 << (64 if v1 else 32)) - 1   # all ones: not said
                            return length / scale if scale and length and not unknown else None
                    return None
    except (OSError, ValueError, struct.error, IndexError, FakeLensError):
        return None
    return None


def _check_structure(path: Path, settings) -> None:
    """Refuses, before FFmpeg opens it, a video whose container declares more index than a real video
    within the limits has (FFmpeg would allocate or read it first): an MP4/MOV's samples and tracks, an
    FLV's keyframe lists, an AVI's OpenDML super index."""
    try:
        with mapped(path) as data:
            check_video_index(data, settings)
    except (OSError, ValueError):   # unreadable or empty: FFmpeg says what is wrong with it
        return


def _count_frames(path: Path, deadline: float, cancelled=lambda: False) -> tuple[int, float]:
    """(frames, the last one's time stamp in seconds): some containers (WebM, streamed MP4) do not
    state their frame count, or state it wrongly: count by grabbing."""
    cap = _open(path)
    n, last = 0, 0.0
    try:
        while cap.grab():
            n += 1
            last = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
            if n % 32 == 0 and cancelled():
                raise FakeLensError("cancelled", "the check was cancelled")
            if time.monotonic() > deadline:
                raise FakeLensError("too_long", "the video took too long to decode")
    finally:
        cap.release()
    return n, last


def sample_frames(path: Path, count: int, settings, cancelled=lambda: False,
                  progress=lambda f: None, deadline: float | None = None) -> tuple[list[Frame], dict]:
    """`count` frames spread evenly over the video, and {width, height, fps, duration, declared_duration}:
    the last is the length the header stated when the stream ended well before it (a cut-off download
    or a truncated file, whose frames are sampled from what is there), else None. In this process:
    the server samples in a child process (media/isolated.py), which passes its `deadline`."""
    deadline = time.monotonic() + settings.decode_wall_s if deadline is None else deadline
    _check_structure(path, settings)
    cap = _open(path)
    try:
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        sar_num, sar_den = cap.get(cv2.CAP_PROP_SAR_NUM), cap.get(cv2.CAP_PROP_SAR_DEN)
        codec = (int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little")
        # turned a quarter (a phone's video): OpenCV hands the frames, and their size, upright, while
        # the pixels' aspect ratio is still that of the stored, unturned width
        sideways = int(cap.get(cv2.CAP_PROP_ORIENTATION_META)) % 180 == 90
    finally:
        cap.release()
    # pixels that are not square (anamorphic DV and HDV, DVDs: 1440x1080 shown at 1920x1080): faces
    # stored squeezed scored higher (one real clip 0.17 -> 0.58), so frames are stretched to how they show
    sar = sar_num / sar_den if sar_num > 0 and sar_den > 0 else 1.0
    sar = sar if abs(sar - 1) > 0.01 and 0.25 <= sar <= 4 else 1.0
    if width <= 0 or height <= 0:
        raise FakeLensError("undecodable", "the file holds no video stream")
    if width * height > settings.max_pixels:
        raise FakeLensError("too_large", f"the video is {width}×{height}; the limit is "
                            f"{megapixels(settings.max_pixels)} per frame")
    # no rate, or the 1000 OpenCV gives Matroska/WebM of a variable rate, whose frame count is then its
    # length in milliseconds (a 54 s clip was refused as 2,160 s): the frames are counted, and their rate
    # taken from their stamps; one longer than allowed is refused before it is walked
    if fps >= 1000 and total / 1000 > settings.max_duration_s:
        raise FakeLensError("too_long", f"the video lasts {total / 1000:.0f} s; the limit is "
                            f"{settings.max_duration_s:.0f} s")
    if codec == MOTION_JPEG:
        _check_jpeg_frames(path, width, height, settings, deadline, cancelled)
    if not 0 < fps < 1000:
        total, last = _count_frames(path, deadline, cancelled)
        fps = (total - 1) / last if total > 1 and last > 0 else 25.0
    elif total <= 0:
        total, _ = _count_frames(path, deadline, cancelled)
    frames, more, ended = _read(path, total, fps, count, settings, deadline, cancelled, progress)
    declared = None   # the length the header stated, when the stream ends well before it
    if more:   # the header understated the length (a duration that lies): count, check, sample again
        total, _ = _count_frames(path, deadline, cancelled)
        frames = None   # let the first sampling go before the second is read (128 frames: 1.4 GB each)
        frames, _, _ = _read(path, total, fps, count, settings, deadline, cancelled, progress)
    elif ended is not None:   # it overstated it (a cut-off download): sample what is there, all of it
        frames_there, lasted = ended
        if lasted <= 0:   # no stamp on the last frame (MPEG-PS): counted instead
            lasted = (frames_there - 1) / fps
        short = total - frames_there > 2   # headers are often a frame or two long: those frames stand
        # cut off when the stream's last stamp falls a second or 5 % short of the stated length (frame
        # counts alone misled: MPEG-TS states 60 fps for 30 fps video, and twice its frames); an MP4's
        # movie header can only shorten that length (a trim by an edit list), as it also counts a
        # longer sound track
        stated = min(total / fps, _movie_length(path) or total / fps)
        if stated - (lasted + 1 / fps) > max(1.0, stated / 20):   # said with the verdict
            declared = round(stated, 3)
        total = frames_there
        if short:
            frames = None
            frames, _, _ = _read(path, total, fps, count, settings, deadline, cancelled, progress)
    if not frames:
        if codec == AV1:   # a good file: OpenCV's FFmpeg decodes AV1 only with hardware that does
            raise FakeLensError("unsupported_media", "this video is AV1, which FakeLens cannot decode on this "
                                "computer (its decoder reads AV1 only with hardware support)")
        named = codec.decode("latin-1").strip() if codec.strip(b"\0 ").isalnum() else ""
        raise FakeLensError("undecodable", "no frame of the video could be decoded"
                            + (f" (its codec: {named})" if named else ""))
    if sar != 1.0:
        width, height = (width, round(height * sar)) if sideways else (round(width * sar), height)
        for i, f in enumerate(frames):   # in place: one frame at a time held twice, not all of them
            frames[i] = dataclasses.replace(f, image=shrink_to(_stretched(f.image, sar, sideways), MAX_SIDE))
    # a stream whose stamps restarted lasts past what its header says (frames carry on from the last)
    return frames, {"width": width, "height": height, "fps": fps, "duration": round(max(total / fps, frames[-1].t), 3),
                    "declared_duration": declared}


def _check_jpeg_frames(path: Path, width: int, height: int, settings, deadline: float, cancelled) -> None:
    """Motion JPEG: every frame is a JPEG of its own size, which FFmpeg decodes at that size while OpenCV
    hands over the picture scaled to the size the header states (frames of 16000×16000 behind a 64×64
    header were each decoded whole, then judged and reported as 64×64). So each frame's own header is
    read from the undecoded packets before any frame is decoded: a frame over the pixel limit, or larger
    than the header says, is refused, and so is one built as a JPEG bomb (media/structure.py)."""
    cap = _open(path)
    try:
        cap.set(cv2.CAP_PROP_FORMAT, -1)   # raw: read() hands over each frame's bytes, not decoded
        number = 0
        while True:
            ok, packet = cap.read()
            if not ok or packet is None:
                return
            number += 1
            try:
                size = jpeg_layout(packet.tobytes()).size
            except FakeLensError as exc:
                raise FakeLensError(exc.code, f"frame {number} of the video: {exc.message}") from None
            if size and size[0] * size[1] > settings.max_pixels:
                said, limit = over_limit(size[0] * size[1], settings.max_pixels)
                raise FakeLensError("too_large", f"frame {number} of the video is {size[0]}×{size[1]} "
                                    f"({said}); the limit is {limit} per frame")
            if size and size[0] * size[1] > width * height:
                raise FakeLensError("too_large", f"frame {number} of the video is {size[0]}×{size[1]}, larger "
                                    f"than the {width}×{height} its header states")
            if number % 32 == 0 and cancelled():
                raise FakeLensError("cancelled", "the check was cancelled")
            if time.monotonic() > deadline:
                raise FakeLensError("too_long", f"decoding passed the {settings.decode_wall_s:.0f} s limit")
    finally:
        cap.release()


def _stretched(image: np.ndarray, sar: float, sideways: bool = False) -> np.ndarray:
    """The frame as it is shown: its width times the pixels' aspect ratio (its height, for a frame
    turned upright from sideways)."""
    h, w = image.shape[:2]
    size = (w, max(1, round(h * sar))) if sideways else (max(1, round(w * sar)), h)
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC if sar > 1 else cv2.INTER_AREA)


def _read(path: Path, total: int, fps: float, count: int, settings, deadline: float, cancelled,
          progress, seek: bool = True) -> tuple[list[Frame], bool, tuple[int, float] | None]:
    """(frames spread over `total`, whether the stream goes on past `total`, and when it ends before
    the frames wanted how many frames it has and the last one's stamp in seconds, else None). Samples SEEK_GAP or more frames apart are
    reached by seeking (unless `seek` is False); a seek that fails walks the whole video instead."""
    duration = total / fps
    if duration > settings.max_duration_s:
        raise FakeLensError("too_long", f"the video lasts {duration:.0f} s; the limit is "
                            f"{settings.max_duration_s:.0f} s")
    count = max(1, min(count, settings.max_frames, total or 1))
    wanted = sorted(set(np.linspace(0, max(total - 1, 0), count).round().astype(int).tolist()))
    slack = max(int(fps), total // 20, 2)   # headers are often a frame or two off; a second or 5 % more is a lie
    seek = seek and any(b - a > SEEK_GAP for a, b in zip([-1, *wanted], wanted))
    if seek and len(wanted) > 1:
        # the last sample a second before the stated end: a header a frame or two long would fail
        # the seek to its very last frame, and send the whole video to be walked
        wanted[-1] = max(wanted[-2] + 1, wanted[-1] - max(int(fps), 2))
    frames, more, ended, seeked = [], False, None, False
    offset, last_target = 0.0, 0   # seconds added to the stamps after they restart; the frame last kept
    stamp_seen = 0.0               # the stamp of the last frame grabbed (known only while it is current)
    cap = _open(path)
    try:
        index = -1
        for target in wanted:
            if seek and target - index > SEEK_GAP:
                started = time.monotonic()
                if not cap.set(cv2.CAP_PROP_POS_FRAMES, target):
                    return _read(path, total, fps, count, settings, deadline, cancelled, progress, seek=False)
                index, seeked = target - 1, True
                # a seek decodes from the keyframe before its target, which OpenCV does without a time
                # limit: where keyframes are rare (a screen recording) it costs more than a walk, so the
                # rest is walked
                if time.monotonic() - started > SLOW_SEEK_S:
                    seek = False
            while index < target:
                if not cap.grab():
                    break
                index += 1
                stamp_seen = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
                if time.monotonic() > deadline:
                    raise FakeLensError("too_long", f"decoding passed the {settings.decode_wall_s:.0f} s limit")
                if cancelled():
                    raise FakeLensError("cancelled", "the check was cancelled")
            if index != target:   # the stream ended early (a frame count in the header that lied)
                if seeked:   # after a seek, where it ended is unknown: walk it to find out
                    return _read(path, total, fps, count, settings, deadline, cancelled, progress, seek=False)
                ended = (index + 1, stamp_seen + offset)
                break
            ok, image = cap.retrieve()
            if ok and image is not None and image.shape[0] * image.shape[1] > settings.max_pixels:
                # the limit was judged on the header's size; OpenCV (5.0) scales each frame to that size,
                # but a backend that hands over what it decoded shows here that the header was not the truth
                h, w = image.shape[:2]
                said, limit = over_limit(w * h, settings.max_pixels)
                raise FakeLensError("too_large", f"a frame of the video is {w}×{h} ({said}); "
                                    f"the limit is {limit} per frame")
            if ok and image is not None:
                # the frame's own time stamp: phone videos have a variable frame rate, index / fps drifts
                stamp = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
                t = stamp + offset if stamp > 0 or target == 0 else target / fps
                if frames and t <= frames[-1].t:
                    # the stamps started again (an HLS discontinuity, a stitched ad): go on from the last
                    offset = frames[-1].t + (target - last_target) / fps - stamp
                    t = stamp + offset
                frames.append(Frame(index=len(frames), t=round(t, 3), image=shrink_to(image, MAX_SIDE)))
                last_target = target
            progress(len(frames) / len(wanted))
        else:   # headers are often a frame or two short; a second or 5 % more means they lied
            more = index == wanted[-1] and all(cap.grab() for _ in range(total - 1 - wanted[-1] + slack))
    finally:
        cap.release()
    return frames, more, ended


