"""Backend speed on this machine, printed as numbers (never asserted):

1. images per second for `fakelens check --json` on a folder (one process, start-up included and excluded);
2. p50 / p95 latency of POST /api/v1/checks for a 1080p JPEG with one face, cache off, real server;
3. seconds of processing per minute of 720p video;
4. the long-video frame sampling, by seeking and by walking;
5. what running yt-dlp in a process of its own (fetch/isolated.py) costs a video page's download.
   (3. includes sampling the frames in a process of their own: media/isolated.py.)

Needs ../shared/data (faces and clips). Run: .venv/bin/python bench/bench_backend.py [--quick]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
import requests

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "tests"))


def machine_info() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return (f"{cpu}; {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"onnxruntime {onnxruntime.__version__}; OpenCV {cv2.__version__}")


def face_1080p(path: Path, face_file: Path):
    face = cv2.imread(str(face_file))
    canvas = np.full((1080, 1920, 3), 200, np.uint8)
    canvas[240:840, 660:1260] = cv2.resize(face, (600, 600), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])


def bench_cli_folder(work: Path, n: int, home: Path):
    folder = work / "folder"
    folder.mkdir()
    faces = sorted((DATA / "faces-real" / "utkface").iterdir())[:n]
    for i, f in enumerate(faces):   # 1080p-ish photos, as on the web
        face_1080p(folder / f"{i:03d}.jpg", f)
    files = sorted(str(p) for p in folder.iterdir())
    env = {**os.environ, "FAKELENS_HOME": str(home)}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "fakelens.cli", "check", "--json", *files], env=env,
                         capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    busy = sum(line.get("elapsed_ms", 0) for line in lines) / 1000
    print(f"fakelens check on {len(files)} 1080p JPEGs named in one command (one face each): {wall:.1f} s wall, "
          f"{len(files) / wall:.1f} images/s including start-up, {len(files) / busy:.1f} images/s of check time")


def bench_api_latency(work: Path, runs: int, home: Path):
    from support.live_backend import start_backend

    image = work / "face-1080p.jpg"
    face_1080p(image, DATA / "faces-real" / "utkface" / "100_1_0_20170110183726390.jpg.chip.jpg")
    backend = start_backend(home, FAKELENS_CACHE=0)
    try:
        data = image.read_bytes()
        times = []
        for _ in range(runs + 2):
            started = time.monotonic()
            r = requests.post(f"{backend.url}/api/v1/checks", params={"wait": 30}, headers=backend.headers,
                              files={"media": ("face.jpg", data)}, timeout=60)
            times.append((time.monotonic() - started) * 1000)
            assert r.status_code == 200 and not r.json()["cached"], r.text
        times = times[2:]   # the first calls load the models
        q = statistics.quantiles(times, n=20)
        print(f"POST /api/v1/checks, 1080p JPEG with one face, cache off, {runs} runs: "
              f"p50 {statistics.median(times):.0f} ms, p95 {q[18]:.0f} ms")
    finally:
        backend.stop()


def make_720p_clip(path: Path, seconds: float):
    source = cv2.VideoCapture(str(DATA / "deepfake-clips" / "ff_real.mp4"))
    fps = source.get(cv2.CAP_PROP_FPS) or 25
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1280, 720))
    written, frames = 0, []
    while written < seconds * fps:
        ok, frame = source.read()
        if ok:
            frames.append(frame)
        elif not frames:
            raise RuntimeError("cannot read ff_real.mp4")
        frame = frame if ok else frames[written % len(frames)]
        writer.write(cv2.resize(frame, (1280, 720)))
        written += 1
    writer.release()
    return written / fps


def bench_video(work: Path, seconds: float, home: Path):
    from fakelens.analyze import Analyzer
    from fakelens.config import load_settings

    clip = work / "clip-720p.mp4"
    duration = make_720p_clip(clip, seconds)
    analyzer = Analyzer(load_settings(home=home))
    started = time.monotonic()
    result = analyzer.analyze({"path": str(clip)}, work)
    took = time.monotonic() - started
    # (the result's frames are those with faces: the face-swap signal says how many were sampled)
    sampled = next((s["detail"].get("frames_sampled") for s in result["signals"] if s["detector"] == "face_swap"),
                   None) or analyzer.settings.video_frames
    print(f"720p video, {duration:.0f} s, {sampled} frames sampled: "
          f"{took:.2f} s of processing for the {duration:.0f} s clip (a fixed number of frames is sampled "
          "whatever the length: a longer clip adds only decoding time, so this does not scale per minute)")


def bench_long_video_sampling(work: Path, minutes: float):
    """16 frames of a long clip reached by seeking (as shipped) against a walk through every frame."""
    from fakelens.config import Settings
    from fakelens.media import video

    source = cv2.VideoCapture(str(DATA / "deepfake-clips" / "ff_real.mp4"))
    frames = []
    while len(frames) < 300:
        ok, frame = source.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (640, 360)))
    path, fps = work / "long-360p.mp4", 30.0
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 360))
    total = int(minutes * 60 * fps)
    for i in range(total):
        writer.write(frames[i % len(frames)])
    writer.release()
    settings = Settings(home=work / "home-long")
    times = {True: [], False: []}
    for seek in (True, False, True, False):   # alternated: a busy machine weighs on both alike
        started = time.monotonic()
        video._read(path, total, fps, 16, settings, time.monotonic() + 600, lambda: False, lambda f: None, seek=seek)
        times[seek].append(time.monotonic() - started)
    best = {k: min(v) for k, v in times.items()}
    print(f"16 frames of a {minutes:g}-minute 640x360 clip: seeking {best[True]:.2f} s, walking every frame "
          f"{best[False]:.2f} s ({best[False] / best[True]:.0f}x; best of two each)")


def bench_ytdlp_process(work: Path, runs: int):
    """A page with one video, downloaded by yt-dlp in this process and in its own, alternated."""
    import shutil

    from support.httpd import MediaServer

    from fakelens.config import Settings
    from fakelens.fetch.isolated import run_download
    from fakelens.fetch.netguard import guarded
    from fakelens.fetch.ytdlp import Download

    (work / "site").mkdir()
    shutil.copy(DATA / "deepfake-clips" / "ff_real.mp4", work / "site" / "clip.mp4")
    settings = Settings(home=work / "home-ytdlp", allow_loopback=True)
    times = {"this process": [], "its own process": []}
    with MediaServer(work / "site") as server:
        for n in range(runs):
            for how in times:
                out = work / f"ytdlp-{n}-{len(times[how])}-{how[0]}"
                out.mkdir()
                started = time.monotonic()
                if how == "this process":
                    with guarded(settings, time.monotonic() + 60) as guard:
                        Download(server.url("/page/video.html"), settings, guard, out, lambda f: None,
                                 lambda: False).run()
                else:
                    run_download(server.url("/page/video.html"), settings, out, time.monotonic() + 60,
                                 lambda f: None, lambda: False)
                times[how].append(time.monotonic() - started)
    print("a page's video (%s) downloaded by yt-dlp, median of %d: %s" % (
        f"{(work / 'site' / 'clip.mp4').stat().st_size / 1e6:.1f} MB", runs,
        ", ".join(f"in {how} {statistics.median(v):.2f} s" for how, v in times.items())))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: the benchmark needs the development data")
    print(machine_info())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_cli_folder(work, 10 if args.quick else 40, work / "home-cli")
        bench_api_latency(work, 10 if args.quick else 40, work / "home-api")
        bench_video(work, 20 if args.quick else 60, work / "home-video")
        bench_long_video_sampling(work, 2 if args.quick else 5)
        bench_ytdlp_process(work, 3 if args.quick else 9)


if __name__ == "__main__":
    main()
