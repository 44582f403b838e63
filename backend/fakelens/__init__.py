"""FakeLens: local checks for manipulated faces, AI-generated images and provenance."""

import os

__version__ = "0.1.0"

# FFmpeg (inside OpenCV) would print its own lines ("moov atom not found") before FakeLens's clear
# error on a broken video; quiet unless someone asks for them (read when OpenCV first opens a video)
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
# onnxruntime's wheel carries Microsoft's telemetry client: on a model's first session it looked up
# mobile.events.data.microsoft.com, kept a device id in ~/.cache/Microsoft and queued events to send.
# FakeLens sends nothing anywhere; this must be set before onnxruntime is imported (its
# disable_telemetry_events() after the import did not stop the lookups), and child processes inherit it.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
