"""What the media stage hands to the detectors."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    index: int
    t: float                  # seconds from the start (0 for images)
    image: np.ndarray         # BGR, uint8, as OpenCV decodes it


@dataclass
class Face:
    frame: int                # index into Media.frames
    t: float
    box: tuple                # (x, y, w, h) in frame pixels
    score: float              # detector confidence
    landmarks: np.ndarray     # (5, 2) pixels: eye, eye (image left to right), nose tip, mouth corner, mouth corner
    side: int = 0             # the box's shorter side as found, before the frame's edge cut the box (0: the box's)


@dataclass
class Media:
    kind: str                 # "image" | "video"
    path: str                 # the file on disk (provenance reads the bytes)
    sha256: str
    width: int
    height: int
    duration: float | None = None
    source_url: str | None = None
    mime: str | None = None
    frames: list[Frame] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    scale: float = 1.0        # frame pixels per media pixel (video frames above 1920 px are shrunk)
    animated: bool = False    # an animated image, of which only the first frame is checked
    palette: bool = False     # an image of at most 256 colours (GIF, palette PNG, 1-bit): dithered
    media_url: str | None = None   # where the file itself came from, when not source_url (a page's video)
    declared_duration: float | None = None   # a video that ends well before the length its header states
    page_videos: int = 1      # videos on the page asked for, of which the one at media_url was checked
    interlaced: bool = False  # a video whose faces showed combing: one field of each frame was checked

    def describe(self) -> dict:
        described = {"kind": self.kind, "sha256": self.sha256, "width": self.width, "height": self.height,
                     "duration": self.duration, "source_url": self.source_url}
        if self.media_url:
            described["media_url"] = self.media_url
        if self.declared_duration:
            described["declared_duration"] = self.declared_duration
        if self.page_videos > 1:
            described["page_videos"] = self.page_videos
        if self.interlaced:
            described["interlaced"] = True
        return {**described, "animated": True} if self.animated else described
