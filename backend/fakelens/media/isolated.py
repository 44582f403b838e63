"""A video's frames sampled in a process of its own, which FakeLens can stop.

FFmpeg parses a container as it opens it, before any time limit of ours can look, and some of its
costs grow with the square of a count in the file: an FLV whose metadata names 50,000 keys took 3 s
each time it was opened (sample_frames opens a file 2-3 times); media/structure.py refuses the ones
found so far, but the class is open-ended. A worker thread inside FFmpeg could not be cancelled, and
nothing capped its memory. In a child process (isolation.py: a fresh interpreter, as yt-dlp's) the
decode is killed, with its process group, at decode_wall_s counted from before the file is opened,
or on cancel, and its address space is capped (MEMORY_BYTES). Images stay in the server's process:
their structure bounds them (media/structure.py), and a process each would add a quarter of a second
to every check.

The frames come back as raw bytes through the child's stdout, straight into the parent's arrays
(isolation.messages): for 64 frames of 1080p about as fast as pickling them and half the parent's
peak memory; no file to clean up.
"""

import os
import time

import cv2
import numpy as np

from ..errors import FakeLensError
from ..isolation import child_main, child_process, ended, limit, messages
from .types import Frame
from .video import MAX_SIDE, sample_frames

# A decode's address space: up to MAX_FRAMES (128) frames of at most 1920×1920 kept (1.4 GB; 1080p:
# 0.8 GB), FFmpeg's own buffers (a 4K stream's reference frames, a thread each core up to 16) and the
# interpreter with NumPy and OpenCV mapped (0.47 GB before any frame). Measured peaks (VmPeak, this
# 2-core machine): 128 frames of a 1080p H.264 clip 1.33 GB, 16 frames of 4K MPEG-4 or VP9 0.77 GB.
MEMORY_BYTES = 3 << 30
KILL_GRACE_S = 0.5   # past decode_wall_s: the child's own message is the same, and a stuck FFmpeg says nothing
FRAME_BYTES = MAX_SIDE * MAX_SIDE * 3   # the largest frame sample_frames keeps


def sample_frames_isolated(path, count: int, settings, cancelled=lambda: False,
                           progress=lambda f: None) -> tuple[list[Frame], dict]:
    """video.sample_frames in a child process: the same frames and info, and the same FakeLensErrors;
    the child killed, and FakeLensError "too_long" or "cancelled", when decode_wall_s has passed (from
    before the file is opened) or the check is cancelled; "too_large" or "undecodable" when it ran
    out of its MEMORY_BYTES."""
    deadline = time.monotonic() + settings.decode_wall_s
    timed_out = lambda: FakeLensError("too_long", f"decoding passed the {settings.decode_wall_s:g} s limit")  # noqa: E731
    frames = []
    with child_process("fakelens.media.isolated", (str(path), count, settings, deadline)) as child:
        for message in messages(child, deadline + KILL_GRACE_S, cancelled, timed_out, FRAME_BYTES):
            if message[0] == "progress":
                progress(message[1])
            elif message[0] == "data":
                frames.append(_frame(message[1], message[2], settings))
            elif message[0] == "done":
                return frames, message[1]
            else:   # "error"
                raise FakeLensError(message[1], message[2])
        raise ended(child, "undecodable", "decoding the video", MEMORY_BYTES)


def _frame(meta: dict, data: bytearray, settings) -> Frame:
    shape = tuple(meta["shape"])
    if len(shape) != 3 or shape[2] != 3 or shape[0] * shape[1] * 3 != len(data):
        raise FakeLensError("undecodable", f"the decoder sent a frame of shape {shape} in {len(data):,} bytes")
    if meta["index"] >= settings.max_frames:
        raise FakeLensError("undecodable", "the decoder sent more frames than asked for")
    return Frame(meta["index"], meta["t"], np.frombuffer(data, np.uint8).reshape(shape))


def _sample(arguments, send, send_data, progress):
    path, count, settings, deadline = arguments
    # CPU seconds: FFmpeg decodes on every core; the wall-clock limit is the parent's to keep
    limit(MEMORY_BYTES, settings.decode_wall_s * (os.cpu_count() or 1))
    try:
        frames, info = sample_frames(path, count, settings, lambda: False, progress, deadline)
    except cv2.error as e:   # OpenCV's own out of memory, under the cap: said as running out, not as a failure
        if "Insufficient memory" in str(e):
            raise MemoryError from None
        raise
    for frame in frames:
        image = np.ascontiguousarray(frame.image)
        send_data({"index": frame.index, "t": frame.t, "shape": image.shape}, image)
    return info


if __name__ == "__main__":
    child_main(_sample, f"decoding the video needs more than the {MEMORY_BYTES >> 20} MB of memory a "
               "video's decoding may use", "undecodable", "decoding the video")
