"""Decoding: video frames sampled evenly in one pass; image limits; faces on a real photo."""

import os
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.media.faces import detect_faces
from fakelens.media.image import read_image
from fakelens.media.video import sample_frames
from fakelens.models import ModelStore
from fakelens.config import REPO_MODELS

from conftest import need_shared


def write_video(path, fourcc, frames=60, fps=30, size=(320, 240)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
    for i in range(frames):
        img = np.full((size[1], size[0], 3), i * 4 % 256, np.uint8)   # frame number encoded in brightness
        writer.write(img)
    writer.release()
    return path


@pytest.mark.parametrize("name, fourcc", [("clip.mp4", "mp4v"), ("clip.webm", "VP80")])
def test_frames_sampled_evenly(tmp_path, name, fourcc):
    path = write_video(tmp_path / name, fourcc)
    frames, info = sample_frames(path, 5, Settings(home=tmp_path))
    assert info["width"] == 320 and info["height"] == 240 and abs(info["duration"] - 2.0) < 0.1
    assert [f.t for f in frames] == pytest.approx([0.0, 0.5, 0.983, 1.467, 1.967], abs=0.04)
    brightness = [int(f.image.mean()) for f in frames]
    assert brightness == sorted(brightness) and brightness[0] < 10 and brightness[-1] > 200


def _variable_rate_mp4(path, size=(320, 240)):
    """50 frames: 25 at 25 fps, then 25 at 6.25 fps (an mp4v file with its time-to-sample table
    rewritten, as a phone's variable frame rate writes it); 1 s + 4 s."""
    import struct

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, size)
    for i in range(50):
        writer.write(np.full((size[1], size[0], 3), i * 5, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    at = data.find(b"stts") - 4
    old_size, = struct.unpack(">I", data[at:at + 4])
    (count, delta), = [struct.unpack(">II", data[at + 16:at + 24])]
    assert count == 50
    body = struct.pack(">II", 0, 2) + struct.pack(">II", 25, delta) + struct.pack(">II", 25, 4 * delta)
    data[at:at + old_size] = struct.pack(">I", 8 + len(body)) + b"stts" + body
    grow = 8 + len(body) - old_size
    for box in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):   # the boxes holding it grow with it
        p = data.rfind(box, 0, at) - 4
        data[p:p + 4] = struct.pack(">I", struct.unpack(">I", data[p:p + 4])[0] + grow)
    p = data.find(b"mdhd") - 4
    data[p + 24:p + 28] = struct.pack(">I", 125 * delta)               # the track's duration: 5 s
    for box, offset in ((b"mvhd", 24), (b"tkhd", 28), (b"elst", 16)):  # the movie's and its edit's: 5/2 of 2 s
        p = data.find(box) - 4
        if p >= 0:
            old = struct.unpack(">I", data[p + offset:p + offset + 4])[0]
            data[p + offset:p + offset + 4] = struct.pack(">I", old * 5 // 2)
    path.write_bytes(data)


def test_frame_times_are_the_frames_own_on_a_variable_frame_rate(tmp_path):
    path = tmp_path / "vfr.mp4"
    _variable_rate_mp4(path)
    frames, _ = sample_frames(path, 50, Settings(home=tmp_path / "h", max_frames=64))
    assert len(frames) == 50
    times = [f.t for f in frames]
    assert times[24] == pytest.approx(24 / 25, abs=0.01)                # first part: 25 fps
    assert times[26] - times[25] == pytest.approx(0.16, abs=0.01)       # then 6.25 fps
    assert times[49] == pytest.approx(1 + 24 * 0.16, abs=0.02)          # not 49 / the mean rate


def test_a_video_cut_short_is_sampled_over_what_is_there(tmp_path):
    """A download cut off at 30 % still says 10 s in its header: 5 frames from its first 2.6 s were
    sampled and the duration said 10 s (a cut at 5 % left one frame to decide the video)."""
    full = write_video(tmp_path / "full.mkv", "MJPG", frames=250, fps=25)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.3)])
    cap = cv2.VideoCapture(str(cut))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 250   # the header still claims all of it
    there = 0
    while cap.grab():
        there += 1
    cap.release()
    frames, info = sample_frames(cut, 16, Settings(home=tmp_path / "h"))
    assert len(frames) == 16 and info["duration"] == pytest.approx(there / 25, abs=0.05), (len(frames), info)
    assert frames[-1].t == pytest.approx((there - 1) / 25, abs=0.1)
    assert info["declared_duration"] == 10.0   # what is missing is said with the verdict (test_verdict)
    _, whole = sample_frames(full, 16, Settings(home=tmp_path / "h"))
    assert whole["declared_duration"] is None


def test_a_variable_rate_webm_is_timed_by_its_frames_not_refused_as_too_long(tmp_path):
    """OpenCV gives Matroska/WebM without a frame duration 1000 fps and a frame count of its length in
    milliseconds: a 54 s screen recording was refused as lasting 2,160 s (1000 x 54 frames at 25 fps)."""
    from support.matroska import write_matroska

    rng = np.random.default_rng(2)
    gaps = rng.choice([17, 33, 41, 500], 120)
    times = np.r_[0, np.cumsum(gaps[:-1])].astype(int)
    frames = [np.full((120, 160, 3), i * 2, np.uint8) for i in range(120)]
    path = write_matroska(tmp_path / "screen.webm", frames, times)
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == 1000 and cap.get(cv2.CAP_PROP_FRAME_COUNT) > 1000 * times[-1] / 1000 - 50
    cap.release()
    settings = Settings(home=tmp_path / "h", max_duration_s=times[-1] / 1000 * 2)
    sampled, info = sample_frames(path, 16, settings)
    assert len(sampled) == 16 and info["declared_duration"] is None, info
    assert info["duration"] == pytest.approx(times[-1] / 1000, abs=0.6), info
    assert sampled[-1].t == pytest.approx(times[-1] / 1000, abs=0.01)
    assert sampled[0].image.mean() < 3 and sampled[-1].image.mean() > 230
    # one longer than allowed is refused at once, by what its header says, not after walking all of it
    with pytest.raises(FakeLensError, match=r"lasts \d+ s; the limit is 10 s"):
        sample_frames(path, 16, Settings(home=tmp_path / "h", max_duration_s=10, decode_wall_s=0.001))


def test_a_whole_mpeg_ts_stating_twice_its_rate_is_not_called_cut_off(tmp_path):
    """MPEG-TS written at 30 fps reads as 60 fps with twice its frames: comparing frame counts, every
    whole file was "a download cut off" (said with the verdict, and never cached by its address). A cut
    file is still found by its stamps (test_a_video_cut_short_is_sampled_over_what_is_there)."""
    path = tmp_path / "whole.ts"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"PIM1"), 30, (320, 240))
    assert writer.isOpened(), "OpenCV cannot write MPEG-1 in MPEG-TS here"
    for i in range(150):
        writer.write(np.full((240, 320, 3), i, np.uint8))
    writer.release()
    frames, info = sample_frames(path, 16, Settings(home=tmp_path / "h"))
    assert info["declared_duration"] is None, info
    assert frames[-1].t == pytest.approx(149 / 30, abs=0.05) and info["duration"] == pytest.approx(5, abs=0.1)


def test_a_video_of_pixels_that_are_not_square_is_seen_as_shown(tmp_path):
    """Anamorphic video (HDV's 1440x1080 shown at 1920x1080, DVDs) was analysed squeezed: its faces
    narrower than they are, and real ones scored higher (one FF++ clip 0.17 -> 0.58)."""
    from support.matroska import write_matroska

    shown = np.full((240, 320, 3), 200, np.uint8)
    cv2.circle(shown, (160, 120), 80, (0, 0, 0), -1)
    stored = cv2.resize(shown, (240, 240), interpolation=cv2.INTER_AREA)   # 3:4 narrower, shown 4:3
    path = write_matroska(tmp_path / "dv.mkv", [stored] * 10, [i * 40 for i in range(10)], "matroska",
                          display=(320, 240))
    frames, info = sample_frames(path, 4, Settings(home=tmp_path / "h"))
    assert info["width"] == 320 and info["height"] == 240
    image = frames[0].image
    assert image.shape == (240, 320, 3)
    columns = np.nonzero((image[120] < 100).all(1))[0]
    rows = np.nonzero((image[:, 160] < 100).all(1))[0]
    assert abs(len(columns) - len(rows)) <= 4, (len(columns), len(rows))   # a circle again, not an ellipse


def test_a_phone_video_turned_a_quarter_with_pixels_that_are_not_square_is_stretched_along_its_height(tmp_path):
    """OpenCV turns a video whose track says "rotate 90°" upright, but its pixels' aspect ratio is that
    of the stored, unturned width: the upright frame's width was stretched, and its faces 16/9 off."""
    import fractions
    import struct

    av = pytest.importorskip("av")
    path = tmp_path / "sar.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 240, 180, "yuv420p"
        stream.codec_context.sample_aspect_ratio = fractions.Fraction(4, 3)   # shown 320×180
        for _ in range(10):
            picture = np.full((180, 240, 3), 40, np.uint8)
            picture[:90, :120] = (255, 0, 0)   # the top-left quarter, red
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(path.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 40   # the track header's matrix: a quarter turn
    data[matrix:matrix + 36] = struct.pack(">9i", 0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)
    turned = tmp_path / "sar-turned.mp4"
    turned.write_bytes(bytes(data))
    for video, shape in ((path, (180, 320)), (turned, (320, 180))):
        frames, info = sample_frames(video, 2, Settings(home=tmp_path / "h"))
        image = frames[0].image
        assert image.shape[:2] == shape and (info["height"], info["width"]) == shape, (video.name, image.shape, info)
        ys, xs = np.nonzero((image[..., 2] > 200) & (image[..., 0] < 80))
        assert sorted([np.ptp(xs) + 1, np.ptp(ys) + 1]) == pytest.approx([90, 160], abs=4), video.name   # a quarter, as shown


def test_an_av1_video_this_decoder_cannot_read_is_not_called_broken(tmp_path):
    """OpenCV's FFmpeg here decodes AV1 only with hardware that does: a good AV1 file opened, said it had
    60 frames, decoded none, and was refused as "no frame of the video could be decoded", a broken file.
    It is said to be AV1, which FakeLens cannot decode on this computer."""
    av = pytest.importorskip("av")
    if "libsvtav1" not in av.codecs_available:
        pytest.skip("PyAV has no AV1 encoder here")
    path = tmp_path / "av1.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libsvtav1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(30):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((240, 320, 3), i * 8, np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    try:
        frames, _ = sample_frames(path, 4, Settings(home=tmp_path / "h"))
    except FakeLensError as exc:
        assert exc.code == "unsupported_media" and "AV1" in exc.message, (exc.code, exc.message)
    else:   # an OpenCV that decodes AV1 in software
        assert len(frames) == 4


def test_a_clip_trimmed_without_re_encoding_is_not_called_cut_off(tmp_path):
    """A cut made by an edit list (ffmpeg -ss ... -c copy, lossless cutters) keeps every frame in its
    track: frame counts said 10 s, 3.3 s decoded, and the whole clip was "a download cut off". The
    movie header's length (after the edit) is what the file says it lasts; an MP4 cut off in its data
    still says so."""
    import struct

    path = write_video(tmp_path / "trim.mp4", "mp4v", frames=300, fps=30)
    data = bytearray(path.read_bytes())
    movie = data.find(b"mvhd") - 4
    movie_scale, = struct.unpack(">I", data[movie + 20:movie + 24])
    media = data.find(b"mdhd") - 4
    media_length, = struct.unpack(">I", data[media + 24:media + 28])
    edit = data.find(b"elst") - 4
    assert edit > 0, "OpenCV's MP4 writer wrote no edit list"
    kept = int(100 / 30 * movie_scale)   # the last 100 frames: 3.33 s, from frame 200 on
    data[edit + 16:edit + 24] = struct.pack(">Ii", kept, media_length * 200 // 300)
    data[movie + 24:movie + 28] = struct.pack(">I", kept)
    track = data.find(b"tkhd") - 4
    data[track + 28:track + 32] = struct.pack(">I", kept)
    path.write_bytes(bytes(data))
    frames, info = sample_frames(path, 8, Settings(home=tmp_path / "h"))
    assert info["declared_duration"] is None, info
    assert abs(frames[0].image.mean() - 4 * 200 % 256) < 8   # the kept part: frame 200 on (brightness 4 i)
    whole = _faststart(write_video(tmp_path / "whole.mp4", "mp4v", frames=300, fps=30))
    cut = tmp_path / "cut.mp4"   # a download of it cut off at 40 %
    cut.write_bytes(whole[: len(whole) * 40 // 100])
    frames, info = sample_frames(cut, 8, Settings(home=tmp_path / "h"))
    assert info["declared_duration"] == pytest.approx(10, abs=0.05) and frames[-1].t < 5, info


def test_an_mp4_whose_header_counts_a_longer_sound_track_is_not_called_cut_off(tmp_path):
    """The movie header's length is its longest track's: a whole clip whose sound runs 3 s past its
    picture (or whose header says "unknown", all ones) read as cut off when its last two frames were
    missing from the frame count."""
    import struct

    whole = _faststart(write_video(tmp_path / "w.mp4", "mp4v", frames=300, fps=30))
    for name, length in (("sound", lambda scale, n: n + 3 * scale), ("unknown", lambda scale, n: 0xFFFFFFFF)):
        data = bytearray(whole)
        movie = data.find(b"mvhd") - 4
        scale, n = struct.unpack(">II", data[movie + 20:movie + 28])
        data[movie + 24:movie + 28] = struct.pack(">I", length(scale, n))
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(bytes(data[:-2500]))   # the last two frames' data gone: the count says two more
        _, info = sample_frames(path, 16, Settings(home=tmp_path / "h"))
        assert info["declared_duration"] is None, (name, info)


def _faststart(path) -> bytes:
    """The MP4's bytes with its index (moov) moved before its data, as web video is served."""
    import struct

    data, boxes, at = path.read_bytes(), {}, 0
    while at < len(data):
        size, = struct.unpack(">I", data[at:at + 4])
        boxes[data[at + 4:at + 8]] = data[at:at + size]
        at += size
    moov = bytearray(boxes[b"moov"])
    table = moov.find(b"stco")
    count, = struct.unpack(">I", moov[table + 8:table + 12])
    for n in range(count):   # the chunk offsets move by the index's size
        o = table + 12 + 4 * n
        moov[o:o + 4] = struct.pack(">I", struct.unpack(">I", moov[o:o + 4])[0] + len(moov))
    return boxes[b"ftyp"] + bytes(moov) + b"".join(v for k, v in boxes.items() if k not in (b"ftyp", b"moov"))


def test_a_relative_video_name_with_a_colon_opens(tmp_path, monkeypatch):
    """`fakelens eval` walks folders by relative paths: FFmpeg took "x:y.mp4" for a protocol "x"."""
    write_video(tmp_path / "10:30.mp4", "mp4v")
    monkeypatch.chdir(tmp_path)
    frames, _ = sample_frames(Path("10:30.mp4"), 4, Settings(home=tmp_path / "h"))
    assert len(frames) == 4


def test_frame_times_go_on_where_a_stream_s_time_stamps_start_again(tmp_path):
    """Two MPEG-TS parts joined (an HLS discontinuity, an ad stitched in) restart their time stamps:
    the frames' times went back (0.88 s, then 0.04 s) in the verdict's timeline and summary."""
    parts = []
    for k in range(2):
        part = tmp_path / f"part{k}.ts"
        writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"PIM1"), 25, (320, 240))
        assert writer.isOpened(), "OpenCV cannot write MPEG-1 in MPEG-TS here"
        for i in range(25):
            writer.write(np.full((240, 320, 3), (i * 8 + k * 100) % 256, np.uint8))
        writer.release()
        parts.append(part.read_bytes())
    (tmp_path / "joined.ts").write_bytes(b"".join(parts))
    frames, info = sample_frames(tmp_path / "joined.ts", 16, Settings(home=tmp_path / "h"))
    times = [f.t for f in frames]
    assert all(b > a for a, b in zip(times, times[1:])), times
    assert times[-1] > 1.5 and info["duration"] >= times[-1], (times, info)


def test_frame_count_is_configurable_and_capped(tmp_path):
    path = write_video(tmp_path / "clip.mp4", "mp4v")
    assert len(sample_frames(path, 12, Settings(home=tmp_path))[0]) == 12
    assert len(sample_frames(path, 50, Settings(home=tmp_path, max_frames=8, video_frames=8))[0]) == 8


def test_video_duration_limit(tmp_path):
    path = write_video(tmp_path / "clip.mp4", "mp4v")
    with pytest.raises(FakeLensError) as err:
        sample_frames(path, 4, Settings(home=tmp_path, max_duration_s=1.0))
    assert err.value.code == "too_long"


def test_broken_video(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    with pytest.raises(FakeLensError) as err:
        sample_frames(path, 4, Settings(home=tmp_path))
    assert err.value.code == "undecodable"


def test_a_cut_off_mp4_and_a_sound_only_one_say_which_they_are(tmp_path, face_jpeg):
    """Both read "the video could not be opened (a broken or unknown container, or sound only: no video
    stream)": the user could not tell an interrupted download (its index, moov, written last, never came)
    from a file of sound only. The MP4's own boxes tell them apart."""
    import av

    face = cv2.resize(cv2.imread(str(face_jpeg)), (320, 180))
    whole = tmp_path / "whole.mp4"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 180))
    for _ in range(20):
        writer.write(face)
    writer.release()
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) // 2])   # moov at the end: gone with the second half
    first = _faststart(whole)
    cut_in_index = tmp_path / "cut_in_index.mp4"
    cut_in_index.write_bytes(first[:first.find(b"moov") + 200])   # moov first, the file ends inside it
    for path in (cut, cut_in_index):
        with pytest.raises(FakeLensError) as err:
            sample_frames(path, 4, Settings(home=tmp_path))
        assert (err.value.code, err.value.message) == (
            "undecodable", "the MP4 is incomplete (its index is missing: the download or recording was cut off)"), path

    sound = tmp_path / "sound.mp4"
    with av.open(str(sound), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        for n in range(20):
            frame = av.AudioFrame.from_ndarray(
                (np.sin(np.arange(1024) / 10 + n) * 0.2).astype(np.float32)[None], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, n * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(FakeLensError) as err:
        sample_frames(sound, 4, Settings(home=tmp_path))
    assert (err.value.code, err.value.message) == ("unsupported_media", "this file holds sound only, no video")
    assert err.value.status == 415


def _mkv_duration_element(data: bytes) -> int:
    """Offset of the float in the Segment Info's Duration element (ID 0x4489, 8-byte float)."""
    at = data.find(b"\x44\x89\x88")
    assert at > 0, "no 8-byte Duration element"
    return at + 3


def test_a_container_that_understates_its_length_is_measured(tmp_path):
    """An MKV whose header says 0.08 s but holds 10 s: it must not be judged by its first frames
    alone, nor pass the duration limit."""
    import struct
    path = tmp_path / "lying.mkv"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for i in range(250):
        out.write(np.full((120, 160, 3), i % 256, np.uint8))
    out.release()
    data = bytearray(path.read_bytes())
    at = _mkv_duration_element(bytes(data))
    data[at:at + 8] = struct.pack(">d", 80.0)   # milliseconds (the default TimecodeScale)
    path.write_bytes(bytes(data))
    frames, info = sample_frames(path, 8, Settings(max_duration_s=60))
    assert info["duration"] > 9 and len(frames) == 8, info
    assert frames[-1].t > 9
    with pytest.raises(FakeLensError) as err:
        sample_frames(path, 8, Settings(max_duration_s=5))
    assert err.value.code == "too_long"


def test_image_pixel_limit_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(FakeLensError) as err:
        read_image(path, "image/png", max_pixels=5000)
    assert err.value.code == "too_large" and "100×100" in err.value.message


def test_an_image_just_over_the_pixel_limit_is_not_said_to_be_at_it(tmp_path):
    """A 10000×6001 photo was refused with "the image is 10000×6001 pixels (60 MP); the limit is 60 MP":
    over a limit it seemed to meet. Where both round alike, the exact counts are said."""
    path = tmp_path / "over.png"
    cv2.imwrite(str(path), np.zeros((6001, 10000, 3), np.uint8))
    with pytest.raises(FakeLensError) as err:
        read_image(path, "image/png", max_pixels=60_000_000)
    assert err.value.code == "too_large"
    assert err.value.message == ("the image is 10000×6001 pixels (60,010,000 pixels); the limit is "
                                 "60,000,000 pixels")
    with pytest.raises(FakeLensError) as err:   # apart once rounded: megapixels, as before
        read_image(path, "image/png", max_pixels=50_000_000)
    assert err.value.message == "the image is 10000×6001 pixels (60 MP); the limit is 50 MP"


def test_an_image_longer_than_65535_pixels_on_a_side_is_refused_before_decoding(tmp_path):
    """A 1×50,000,000 PNG (194 KB, within the pixel limit) took 10 s and 2.5 GB to decode: decoders
    spend memory per row. 65,535 px, JPEG's and WebP's own limit, is the longest side accepted."""
    for rows, refused in ((70_000, True), (65_535, False)):
        path = tmp_path / f"strip{rows}.png"
        cv2.imwrite(str(path), np.zeros((rows, 1, 3), np.uint8))
        if not refused:
            assert read_image(path, "image/png", max_pixels=10**8).shape == (rows, 1, 3)
            continue
        with pytest.raises(FakeLensError) as err:
            read_image(path, "image/png", max_pixels=10**8)
        assert err.value.code == "too_large" and "1×70000" in err.value.message and "65,535" in err.value.message


def test_no_face_is_looked_for_in_a_strip_thinner_than_a_face(monkeypatch):
    """The detector ran on a 1×10,000,000 strip (shrunk to no less than a pixel wide): no face it keeps
    fits in a picture less than MIN_FACE_PX on its short side, so it is not run there."""
    from fakelens.media.faces import MIN_FACE_PX

    models = ModelStore(REPO_MODELS)
    monkeypatch.setattr(models, "session", lambda spec: pytest.fail("the face detector ran on a strip"))
    for shape in ((1, 65_535, 3), (60_000, MIN_FACE_PX - 1, 3)):
        assert detect_faces(np.zeros(shape, np.uint8), models, photo=True) == []


def test_a_header_pillow_cannot_read_is_said_in_plain_words(tmp_path, face_jpeg):
    """A file cut inside its header, or a WebP cut anywhere (libwebp says only "could not create
    decoder object"), said "not a readable image (OSError)": truncated, in FakeLens's words; a header
    damaged otherwise is said so, without a Python exception's name."""
    from PIL import Image

    noise = Image.effect_noise((300, 200), 60).convert("RGB")
    for fmt, mime in (("JPEG", "image/jpeg"), ("BMP", "image/bmp"), ("WEBP", "image/webp"), ("PNG", "image/png")):
        whole = tmp_path / f"whole.{fmt.lower()}"
        noise.save(whole, format=fmt)
        data = whole.read_bytes()
        for cut in (40, len(data) // 2):
            (tmp_path / "cut").write_bytes(data[:cut])
            with pytest.raises(FakeLensError) as err:
                read_image(tmp_path / "cut", mime, 10**8)
            assert err.value.message.startswith("the image file is truncated ("), (fmt, cut, err.value.message)
    damaged = bytearray((tmp_path / "whole.webp").read_bytes())
    damaged[20:40] = bytes(20)   # inside the VP8 header, the file whole
    (tmp_path / "damaged.webp").write_bytes(bytes(damaged))
    with pytest.raises(FakeLensError) as err:
        read_image(tmp_path / "damaged.webp", "image/webp", 10**8)
    assert err.value.message == "not a readable image: its header is damaged or cut short"


def test_a_png_text_chunk_over_pillows_1_mb_limit_decodes(tmp_path):
    """A valid PNG whose zTXt unpacks to 2 MB (a generator's settings, or padding): Pillow's default
    1 MB per-chunk limit made the header read fail ("not a readable image"). The total for all text
    stays bounded (64 MB), so a pile of such chunks is still refused, not held in memory."""
    import struct
    import zlib

    def with_chunk(data, kind, body):
        at = data.find(b"IDAT") - 4
        return (data[:at] + struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF) + data[at:])

    png = cv2.imencode(".png", np.full((48, 64, 3), 120, np.uint8))[1].tobytes()
    ztxt = b"Comment\0\0" + zlib.compress(b" " * 2_000_000)
    (tmp_path / "big-text.png").write_bytes(with_chunk(png, b"zTXt", ztxt))
    assert read_image(tmp_path / "big-text.png", "image/png", 10**8).shape == (48, 64, 3)
    piled = png
    for _ in range(5):                                   # 5 x 16 MB unpacked: over the 64 MB total
        piled = with_chunk(piled, b"zTXt", b"Comment\0\0" + zlib.compress(b" " * 16 * 1024 * 1024))
    (tmp_path / "piled.png").write_bytes(piled)
    with pytest.raises(FakeLensError) as err:
        read_image(tmp_path / "piled.png", "image/png", 10**8)
    assert err.value.code == "undecodable"


def test_data_after_the_end_marker_is_fine_a_cut_file_is_not(tmp_path, face_jpeg):
    """Motion photos (Pixel, Samsung) carry a video after the JPEG's end; some files are padded.
    They decode; a file cut short anywhere is still refused as truncated."""
    from PIL import Image
    jpeg = face_jpeg.read_bytes()
    Image.new("RGB", (64, 48), (0, 90, 200)).save(tmp_path / "p.png")
    png = (tmp_path / "p.png").read_bytes()
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64     # 16 KB, FF bytes and all
    for name, data, mime in (("motion.jpg", jpeg + video, "image/jpeg"), ("padded.jpg", jpeg + bytes(5000), "image/jpeg"),
                             ("padded.png", png + video, "image/png")):
        (tmp_path / name).write_bytes(data)
        assert read_image(tmp_path / name, mime, 10**8).shape[2] == 3, name
    for cut in (len(jpeg) - 2, len(jpeg) // 2, 400):
        (tmp_path / "cut.jpg").write_bytes(jpeg[:cut] + (video if cut == 400 else b""))
        with pytest.raises(FakeLensError, match="truncated"):
            read_image(tmp_path / "cut.jpg", "image/jpeg", 10**8)
    # fill bytes (0xFF) before restart markers are allowed (T.81 B.1.1.2) and decoders accept them
    noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", noise, [cv2.IMWRITE_JPEG_RST_INTERVAL, 1])
    data = bytearray(buf.tobytes())
    sos = data.find(b"\xff\xda")
    filled = bytes(data[:sos]) + re.sub(rb"\xff([\xd0-\xd7])", lambda m: b"\xff" + m.group(0), bytes(data[sos:]))
    assert filled.count(b"\xff\xff") > 10 and cv2.imdecode(np.frombuffer(filled, np.uint8), cv2.IMREAD_COLOR) is not None
    (tmp_path / "filled.jpg").write_bytes(filled)
    assert read_image(tmp_path / "filled.jpg", "image/jpeg", 10**8).shape[2] == 3
    (tmp_path / "cut.png").write_bytes(png[:-20])
    with pytest.raises(FakeLensError, match="truncated"):
        read_image(tmp_path / "cut.png", "image/png", 10**8)
    # cut in its pixel data, not only before its end marker: called truncated too
    Image.fromarray(noise).save(tmp_path / "noise.png")
    whole = (tmp_path / "noise.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[:len(whole) // 2])
    with pytest.raises(FakeLensError, match="truncated"):
        read_image(tmp_path / "cut.png", "image/png", 10**8)


def test_exif_orientation_applied(tmp_path):
    """Every EXIF orientation, in every format that carries one, shows as PIL shows it upright. A grey
    and alpha TIFF, which OpenCV cannot read, is decoded by Pillow, which turns a TIFF as it loads it:
    it was turned twice (a quarter turn showed upside down, no face found)."""
    from PIL import Image, ImageOps

    picture = np.zeros((60, 90, 3), np.uint8)   # three coloured corners: any turn or flip shows
    picture[:20, :30], picture[40:, 60:], picture[:20, 60:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        for ext, mime, mode in (("jpg", "image/jpeg", "RGB"), ("png", "image/png", "RGB"),
                                ("webp", "image/webp", "RGB"), ("tiff", "image/tiff", "RGB"),
                                ("la.tiff", "image/tiff", "LA")):
            path = tmp_path / f"o{orientation}.{ext}"
            Image.fromarray(picture).convert(mode).save(path, exif=exif,
                                                        **({"quality": 95} if ext in ("jpg", "webp") else {}))
            upright = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))[..., ::-1]
            got = read_image(path, mime, 10**8)
            assert got.shape == upright.shape, (orientation, ext)
            assert np.abs(got.astype(int) - upright).mean() < 8, (orientation, ext)


def test_a_tiff_only_pillow_reads_is_upright_in_every_orientation(tmp_path, monkeypatch):
    """What OpenCV cannot read goes to Pillow, which turns a TIFF as it loads it (it was turned again),
    and maps an uncompressed grey, palette or RGBA one from a named file at its turned size (scrambled)."""
    from PIL import Image

    picture = np.zeros((60, 90, 3), np.uint8)
    picture[:20, :30], picture[40:, 60:], picture[:20, 60:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    stored = {mode: Image.fromarray(picture).convert(mode) for mode in ("RGB", "RGBA", "LA", "L", "P", "CMYK")}
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        for mode, image in stored.items():
            path = tmp_path / f"{mode}{orientation}.tiff"
            image.save(path, exif=exif)
            upright = read_image(path, "image/tiff", 10**8)   # OpenCV's, for LA Pillow's (checked above)
            with monkeypatch.context() as m:
                m.setattr(cv2, "imdecode", lambda *args: None)
                got = read_image(path, "image/tiff", 10**8)
            assert got.shape == upright.shape, (orientation, mode)
            assert np.abs(got.astype(int) - upright).mean() < 8, (orientation, mode)


def test_a_16_bit_picture_with_an_orientation_is_not_blank(tmp_path):
    """PIL's path clipped 16-bit values to white; OpenCV scales them to 8 bits."""
    from PIL import Image

    gray = (np.tile(np.linspace(0, 65535, 90), (60, 1))).astype(np.uint16)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "gray16.png"
    Image.fromarray(gray).save(path, exif=exif)
    got = read_image(path, "image/png", 10**8)
    assert got.shape == (90, 60, 3)
    assert got.min() < 10 and got.max() > 245 and 100 < got.mean() < 155   # the ramp, not all white


def test_a_jpeg_damaged_inside_is_refused_not_judged(tmp_path, face_jpeg, capfd):
    """A JPEG whose picture data breaks off (cut, its end marker put back) or is garbled (zeroed bytes)
    decodes, the rest filled with flat colour: the face-swap model flagged such a photo 0.99. Refused
    as damaged, and libjpeg's warning is not printed beside FakeLens's own error. Extraneous bytes
    before the end marker (seen in camera files) decode as before."""
    jpeg = face_jpeg.read_bytes()
    middle = len(jpeg) // 2
    damaged = {"cut.jpg": jpeg[:middle] + b"\xff\xd9",
               "zeroed.jpg": jpeg[:middle] + bytes(2000) + jpeg[middle + 2000:]}
    for name, data in damaged.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(FakeLensError, match="the JPEG is damaged") as err:
            read_image(tmp_path / name, "image/jpeg", 10**8)
        assert err.value.code == "undecodable"
    (tmp_path / "extra.jpg").write_bytes(jpeg[:-2] + b"\x00\x00" + jpeg[-2:])
    assert read_image(tmp_path / "extra.jpg", "image/jpeg", 10**8).shape == (1080, 1920, 3)
    assert "Corrupt JPEG" not in capfd.readouterr().err


@pytest.mark.parametrize("seed", range(6))
def test_a_jpeg_garbled_all_through_is_damaged_not_truncated(tmp_path, seed):
    """Random bytes over the middle third of a JPEG, its end marker still in place: it was said "truncated
    (its end marker is missing)" (random FF bytes read as markers whose lengths jump past the end)."""
    jpeg = next(need_shared("faces-real", "utkface").glob("*.jpg")).read_bytes()
    third = len(jpeg) // 3
    garbled = jpeg[:third] + np.random.default_rng(seed).bytes(third) + jpeg[2 * third:]
    assert garbled.endswith(b"\xff\xd9")
    (tmp_path / "garbled.jpg").write_bytes(garbled)
    with pytest.raises(FakeLensError, match="the JPEG is damaged") as err:
        read_image(tmp_path / "garbled.jpg", "image/jpeg", 10**8)
    assert err.value.code == "undecodable" and "truncated" not in err.value.message


def test_library_messages_are_read_and_other_output_is_written_again(capfd):
    from fakelens.media.image import library_messages
    with library_messages() as said:
        os.write(2, b"Corrupt JPEG data: premature end of data segment\n")
        os.write(2, b"a log line of another thread\n")
    assert said == ["Corrupt JPEG data: premature end of data segment", "a log line of another thread"]
    assert capfd.readouterr().err == "a log line of another thread\n"


def test_face_found_with_landmarks(face_jpeg):
    image = cv2.imread(str(face_jpeg))
    faces = detect_faces(image, ModelStore(REPO_MODELS))
    assert len(faces) == 1
    face = faces[0]
    (lx, ly), (rx, ry), (nx, ny) = face.landmarks[:3]
    assert lx < nx < rx and ly < ny and ry < ny   # eyes left and right of the nose, above it
    x, y, w, h = face.box
    assert x <= nx <= x + w and y <= ny <= y + h


def test_faces_in_a_large_group_photo_are_found(tmp_path):
    """A 4800 px photo with four 160 px faces: at the model's 640 px they would be 21 px, too small
    to find; a photo is searched at its own size too (up to 1,920 px)."""
    from fakelens.analyze import Analyzer

    names = sorted(need_shared("faces-real", "utkface").iterdir())[:4]
    photo = np.full((3200, 4800, 3), 170, np.uint8)
    for k, name in enumerate(names):
        photo[1400:1560, 600 + k * 1000:760 + k * 1000] = cv2.resize(cv2.imread(str(name)), (160, 160))
    assert detect_faces(photo, ModelStore(REPO_MODELS)) == []               # what 640 px saw
    path = tmp_path / "group.jpg"
    cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
    result = Analyzer(Settings(home=tmp_path / "home")).analyze({"path": str(path)}, tmp_path)
    assert len(result["faces"]) == 4, result["summary"]
    for face in result["faces"]:                                              # boxes in the photo's pixels
        x, y, w, h = face["box"]
        assert 1380 <= y <= 1440 and 120 <= min(w, h) <= 200, face
    assert result["label"] != "not_applicable"


def test_a_face_cut_by_the_pictures_edge_is_measured_whole():
    """A 108 px face with part of it beyond the picture's left edge has a box 62 px wide (the part shown),
    and was held back as "the face is small (62 px)". Its size comes from its landmarks; an uncut face's
    is its box's."""
    chip = cv2.imread(str(need_shared("faces-real", "utkface", "100_1_0_20170110183726390.jpg.chip.jpg")))
    face = cv2.resize(cv2.copyMakeBorder(chip, 60, 60, 60, 60, cv2.BORDER_REPLICATE), (160, 160))
    models = ModelStore(REPO_MODELS)
    whole = np.full((400, 600, 3), 100, np.uint8)
    whole[100:260, 200:360] = face
    uncut = detect_faces(whole, models, photo=True)[0]
    assert uncut.side == min(uncut.box[2:])
    cut = np.full((400, 600, 3), 100, np.uint8)
    cut[100:260, 0:105] = face[:, 55:]
    found = detect_faces(cut, models, photo=True)[0]
    assert found.box[2] < 70 and abs(found.side - uncut.side) <= 0.12 * uncut.side, (found.box, found.side, uncut.side)


def test_small_faces_of_a_1920_px_photo_and_a_close_up_in_a_large_one_are_found():
    """A photo up to 1,920 px was searched at 640 px: the 80 px faces of a 1,920 px group photo (27 px
    there) were never found ("no face"), though scored from 32 px. And a 6,000 px close-up, searched at
    1,920, was missed or read as dozens of faces. A photo is searched at its own size and at 640."""
    names = sorted(need_shared("faces-real", "utkface").iterdir())[:12]
    models = ModelStore(REPO_MODELS)
    group = np.full((1280, 1920, 3), 110, np.uint8)
    for k, name in enumerate(names):
        x, y = 100 + (k % 6) * 286, 200 + (k // 6) * 440
        group[y:y + 80, x:x + 80] = cv2.resize(cv2.imread(str(name)), (80, 80), interpolation=cv2.INTER_AREA)
    found = detect_faces(group, models, photo=True)
    assert len(found) == 12 and all(50 <= min(f.box[2:]) <= 90 for f in found), [f.box for f in found]
    assert len(detect_faces(group, models)) <= 1   # what 640 px saw (a video frame is still searched there)
    close_up = cv2.resize(cv2.imread(str(names[0])), (6000, 6000), interpolation=cv2.INTER_CUBIC)
    found = detect_faces(close_up, models, photo=True)
    # (this face, filling the picture, is read twice, shifted, at 640 px too: no more)
    assert 1 <= len(found) <= 2 and all(min(f.box[2:]) > 3000 for f in found), [f.box for f in found]


def test_an_animated_image_says_only_its_first_frame_was_checked(tmp_path, face_jpeg):
    from PIL import Image

    from fakelens.analyze import Analyzer

    face = Image.open(face_jpeg).convert("RGB").resize((480, 270))
    blank = Image.new("RGB", face.size, (200, 200, 200))
    blank.save(tmp_path / "anim.gif", save_all=True, append_images=[face, face], duration=100, loop=0)
    face.save(tmp_path / "still.gif")
    analyzer = Analyzer(Settings(home=tmp_path / "home"))
    animated = analyzer.analyze({"path": str(tmp_path / "anim.gif")}, tmp_path)
    assert animated["media"]["animated"] is True and animated["label"] == "not_applicable"
    assert animated["summary"].endswith("Only the first frame of this animated image was checked.")
    still = analyzer.analyze({"path": str(tmp_path / "still.gif")}, tmp_path)
    assert "animated" not in still["media"] and "first frame" not in still["summary"]
    assert len(still["faces"]) == 1
    # a camera JPEG with embedded previews (MPO, as Nikon and many phones write) is one picture
    face.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[face.resize((160, 90))])
    assert Image.open(tmp_path / "camera.jpg").format == "MPO"
    camera = analyzer.analyze({"path": str(tmp_path / "camera.jpg")}, tmp_path)
    assert "animated" not in camera["media"] and "first frame" not in camera["summary"]
    assert len(camera["faces"]) == 1


def test_an_apng_with_a_hidden_default_image_is_read_as_browsers_show_it(tmp_path, face_jpeg):
    """An APNG's default image is shown only where PNGs do not animate; browsers show the animation.
    A blank default image before face frames read "no face found"."""
    from PIL import Image

    face = Image.open(face_jpeg).convert("RGB").resize((480, 270))
    blank = Image.new("RGB", face.size, (200, 200, 200))
    blank.save(tmp_path / "hidden.png", save_all=True, append_images=[face, face], default_image=True, duration=100)
    with Image.open(tmp_path / "hidden.png") as im:
        assert im.info.get("default_image") and im.n_frames >= 2
    pixels = read_image(tmp_path / "hidden.png", "image/png", 10**8)
    assert np.abs(pixels[:, :, ::-1].astype(int) - np.asarray(face).astype(int)).mean() < 2
    assert len(detect_faces(pixels, ModelStore(REPO_MODELS))) == 1


def test_a_transparent_picture_is_read_as_shown_on_a_white_page(tmp_path, face_jpeg):
    """Transparent pixels show the page behind them, not the colours stored under them: a face hidden
    that way is not there to judge, and a cut-out's surroundings read as white."""
    from PIL import Image

    face = Image.open(face_jpeg).convert("RGBA").resize((480, 270))
    hidden = face.copy()
    hidden.putalpha(0)
    hidden.save(tmp_path / "hidden.png")
    assert (read_image(tmp_path / "hidden.png", "image/png", 10**8) == 255).all()
    hidden.save(tmp_path / "hidden.webp", lossless=True)
    assert (read_image(tmp_path / "hidden.webp", "image/webp", 10**8) == 255).all()
    half = np.asarray(face).copy()
    half[:, :240, 3] = 0
    Image.fromarray(half).save(tmp_path / "half.png")
    pixels = read_image(tmp_path / "half.png", "image/png", 10**8)
    assert (pixels[:, :240] == 255).all()
    assert np.abs(pixels[:, 240:, ::-1].astype(int) - half[:, 240:, :3].astype(int)).max() == 0
    # a palette picture with a transparent colour, as GIFs are
    still = Image.open(face_jpeg).convert("RGB").resize((120, 90)).quantize(64)
    still.info["transparency"] = int(np.asarray(still)[0, 0])
    still.save(tmp_path / "t.gif", transparency=still.info["transparency"])
    pixels = read_image(tmp_path / "t.gif", "image/gif", 10**8)
    assert (pixels[0, 0] == 255).all()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import zlib
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, i = [], 8
    while i < len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        chunks.append((data[i + 4:i + 8], data[i + 8:i + 8 + length]))
        i += 12 + length
    return chunks


def test_a_png_is_turned_by_its_exif_chunk_after_its_pixels_too_transparent_or_not(tmp_path):
    """PNG allows eXIf after the pixel data: read there without decoding the picture, the same way
    whether the picture is transparent or not."""
    from PIL import Image

    for mode in ("RGB", "RGBA"):
        exif = Image.Exif()
        exif[0x0112] = 6   # shown turned a quarter clockwise
        Image.new(mode, (80, 40), (200, 30, 30, 255)[:len(mode)]).save(tmp_path / "p.png", exif=exif)
        chunks = _png_chunks((tmp_path / "p.png").read_bytes())
        exif_chunk = next(c for c in chunks if c[0] == b"eXIf")
        rest = [c for c in chunks if c[0] != b"eXIf"]
        moved = rest[:-1] + [exif_chunk, rest[-1]]   # just before IEND, after IDAT
        (tmp_path / "after.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(_png_chunk(k, d) for k, d in moved))
        assert read_image(tmp_path / "after.png", "image/png", 10**8).shape[:2] == (80, 40), mode


def test_a_16_bit_grey_png_with_a_transparent_grey_is_not_read_as_white(tmp_path):
    """Pillow's 16-bit grey to RGBA clips to white: such a picture is read as OpenCV reads it."""
    ramp = (np.arange(200 * 300, dtype=np.uint32).reshape(200, 300) * 65535 // (200 * 300)).astype(np.uint16)
    ok, buf = cv2.imencode(".png", ramp)
    chunks = _png_chunks(buf.tobytes())
    with_trns = [chunks[0], (b"tRNS", (12345).to_bytes(2, "big"))] + chunks[1:]
    (tmp_path / "g16.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(_png_chunk(k, d) for k, d in with_trns))
    pixels = read_image(tmp_path / "g16.png", "image/png", 10**8)
    assert abs(float(pixels.mean()) - ramp.mean() / 257) < 2, pixels.mean()


def test_a_32_bit_bmp_whose_alpha_bytes_are_all_zero_is_read_opaque(tmp_path):
    """Writers of 32-bit BMPs leave the alpha bytes 0, and browsers show such a picture opaque; FakeLens
    judged it as a blank white page. A BMP with some transparency is still shown on white."""
    import struct

    def bmp(bgra: np.ndarray) -> bytes:
        h, w = bgra.shape[:2]
        header = struct.pack("<IiiHHIIiiII", 108, w, -h, 1, 32, 3, w * h * 4, 2835, 2835, 0, 0)   # top-down rows
        header += struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000) + b"BGRs" + bytes(48)
        return b"BM" + struct.pack("<IHHI", 14 + 108 + bgra.size, 0, 0, 14 + 108) + header + bgra.tobytes()

    pixels = np.zeros((30, 40, 4), np.uint8)
    pixels[..., :3] = (20, 50, 200)
    path = tmp_path / "zero-alpha.bmp"
    path.write_bytes(bmp(pixels))
    assert read_image(path, "image/bmp", 10**7)[5, 5].tolist() == [20, 50, 200]
    pixels[:15, :, 3] = 255   # the top half opaque, the rest transparent
    path.write_bytes(bmp(pixels))
    read = read_image(path, "image/bmp", 10**7)
    assert read[5, 5].tolist() == [20, 50, 200] and read[25, 5].tolist() == [255, 255, 255]


def test_an_opaque_picture_with_an_alpha_channel_reads_as_its_colours(tmp_path, face_jpeg):
    from PIL import Image

    face = Image.open(face_jpeg).convert("RGB").resize((480, 270))
    face.convert("RGBA").save(tmp_path / "opaque.png")
    pixels = read_image(tmp_path / "opaque.png", "image/png", 10**8)
    assert np.array_equal(pixels[:, :, ::-1], np.asarray(face))


def test_a_multi_page_tiff_says_only_its_first_page_was_checked(tmp_path, face_jpeg):
    from PIL import Image

    from fakelens.analyze import Analyzer

    face = Image.open(face_jpeg).convert("RGB").resize((480, 270))
    Image.new("RGB", face.size, (200, 200, 200)).save(tmp_path / "pages.tif", save_all=True, append_images=[face])
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "pages.tif")}, tmp_path)
    assert result["media"]["animated"] is True and result["label"] == "not_applicable"
    assert result["summary"].endswith("Only the first page of this multi-page TIFF was checked."), result["summary"]


def test_few_colours_is_about_the_pixels_not_the_file():
    """A GIF's dithering saved as RGB, or a 1-bit picture as grey, still has few colours; photos do not."""
    from fakelens.media.image import few_colours

    photo = cv2.imread(str(need_shared("faces-real", "utkface", "11_1_4_20170109201611941.jpg.chip.jpg")))
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert not few_colours(photo) and not few_colours(grey)
    dull = (grey.astype(np.float32) * 24 / 255 + 100).astype(np.uint8)   # a grey photo of 24 levels
    assert len(np.unique(dull)) > 16 and not few_colours(dull)
    levels = np.array([0, 60, 130, 255], np.uint8)
    dithered = levels[np.random.default_rng(0).integers(0, 4, (300, 400, 3))]   # 64 colours
    assert few_colours(dithered) and few_colours((grey > 128).astype(np.uint8) * 255)
    assert few_colours(cv2.resize(dithered, (4000, 3000), interpolation=cv2.INTER_NEAREST))   # sampled, still few


def test_no_face_in_plain_image(plain_jpeg):
    assert detect_faces(cv2.imread(str(plain_jpeg)), ModelStore(REPO_MODELS)) == []


def test_large_video_frames_shrunk_but_boxes_in_media_pixels(tmp_path, face_jpeg):
    from fakelens.analyze import Analyzer

    face = cv2.imread(str(face_jpeg))                     # 1920×1080, face centred
    big = cv2.resize(face, (2560, 1440))
    path = tmp_path / "big.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (2560, 1440))
    for _ in range(5):
        writer.write(big)
    writer.release()
    analyzer = Analyzer(Settings(home=tmp_path / "home", video_frames=2))
    result = analyzer.analyze({"path": str(path)}, tmp_path)
    assert result["media"]["width"] == 2560 and result["media"]["kind"] == "video"
    x, y, w, h = result["faces"][0]["box"]
    assert 1000 < x + w / 2 < 1560 and 500 < y + h / 2 < 940   # the centre of 2560×1440, not of 1920×1080


def test_faces_in_a_long_screenshot_are_found():
    """A 1080×20000 page (a phone's long screenshot) with three 400 px faces was searched 104 px wide,
    its faces shrunk to 38 px; searched by its area, all three are found."""
    from fakelens.media.faces import detect_upright_faces

    names = sorted(need_shared("faces-real", "utkface").iterdir())[300:303]
    page = np.full((20000, 1080, 3), 235, np.uint8)
    for i, name in enumerate(names):
        page[2000 + i * 6000:2400 + i * 6000, 340:740] = cv2.resize(cv2.imread(str(name)), (400, 400))
    faces = detect_upright_faces(page, ModelStore(REPO_MODELS))
    assert sorted(f.box[1] // 6000 for f in faces) == [0, 1, 2], [f.box for f in faces]


def test_a_long_video_is_sampled_by_seeking_to_the_same_frames_a_walk_finds(tmp_path, monkeypatch):
    """A long video was walked frame by frame (a 30-minute 720p one took about 130 s, past decode_wall_s):
    samples far apart are now reached by seeking, and they are the frames a walk reaches; the last
    one a second before the stated end."""
    from fakelens.media import video
    path = tmp_path / "long.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (160, 120))
    for i in range(4000):   # every frame its own picture
        writer.write(np.random.default_rng(i).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    writer.release()
    settings, deadline = Settings(home=tmp_path / "h"), time.monotonic() + 60
    walked, _, _ = video._read(path, 4000, 30.0, 8, settings, deadline, lambda: False, lambda f: None, seek=False)
    calls = _Counting(video.cv2.VideoCapture)
    monkeypatch.setattr(video.cv2, "VideoCapture", calls)
    sought, more, ended = video._read(path, 4000, 30.0, 8, settings, deadline, lambda: False, lambda f: None)
    assert len(calls.seeks) == 7 and calls.opened == 1 and not more and ended is None   # every sample after the first
    assert [f.t for f in sought] == pytest.approx([t / 30 for t in [0, 571, 1143, 1714, 2285, 2856, 3428, 3969]],
                                                  abs=0.001)
    assert [f.t for f in sought[:-1]] == [f.t for f in walked[:-1]]
    for a, b in zip(sought[:-1], walked[:-1]):
        assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() < 1   # the same picture
    # a seek slower than SLOW_SEEK_S (rare keyframes): the rest is walked, to the same frames
    monkeypatch.setattr(video, "SLOW_SEEK_S", -1.0)
    calls = _Counting(calls.real)
    monkeypatch.setattr(video.cv2, "VideoCapture", calls)
    slow, more, ended = video._read(path, 4000, 30.0, 8, settings, deadline, lambda: False, lambda f: None)
    assert len(calls.seeks) == 1 and calls.opened == 1 and not more and ended is None
    assert [f.t for f in slow] == [f.t for f in sought]
    for a, b in zip(slow, sought):
        assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() < 1


def test_a_long_video_whose_header_is_a_frame_long_is_not_walked_whole(tmp_path, monkeypatch):
    """The seek to the stated last frame failed and the whole video was walked again."""
    from fakelens.media import video
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(6000):   # 16 samples 400 frames apart: sought
        writer.write(np.full((48, 64, 3), i % 256, np.uint8))
    writer.release()
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: data.rfind(b"00dc", 0, data.rfind(b"idx1"))])   # the index and the last frame gone
    calls = _Counting(video.cv2.VideoCapture)
    monkeypatch.setattr(video.cv2, "VideoCapture", calls)
    frames, info = sample_frames(cut, 16, Settings(home=tmp_path / "h"))   # its header says 6000 frames, 5999 are there
    # the header, the frames' own headers (Motion JPEG: read undecoded, media/structure.py), then one pass
    assert len(frames) == 16 and calls.seeks and calls.opened == 3, (calls.opened, info)
    assert info["declared_duration"] is None


class _Counting:
    """cv2.VideoCapture, counting the captures opened and the seeks asked of them (real captures do
    the work)."""

    def __init__(self, real):
        self.real, self.seeks, self.opened = real, [], 0

    def __call__(self, *args):
        cap, seeks = self.real(*args), self.seeks
        self.opened += 1

        class Capture:
            def __getattr__(self, name):
                return getattr(cap, name)

            def set(self, prop, value):
                if prop == cv2.CAP_PROP_POS_FRAMES:
                    seeks.append(value)
                return cap.set(prop, value)
        return Capture()
