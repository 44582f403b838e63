"""FakeLens: local checks for manipulated faces, AI-generated images and provenance."""

import os

__version__ = "0.1.0"

# FFmpeg (inside OpenCV) would print its own lines ("moov atom not found") before FakeLens's clear
# error on a broken video; quiet unless someone asks for them (read when OpenCV first opens a video)
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
