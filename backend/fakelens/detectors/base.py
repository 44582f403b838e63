"""The one small interface every signal implements.

A detector says what it applies to and turns a decoded `Media` into one `Signal`.
Adding a detector touches one file: subclass `Detector`, decorate it with `@register`.
"""

import math
from dataclasses import dataclass, field

from ..media.types import Media
from ..models import ModelSpec, ModelStore


def stored_score(score: float, places: int = 4, threshold: float | None = None) -> float:
    """A score rounded for the result, never to exactly 0 or 1 unless it is that: 0.99996 would be
    stored as 1.0 and read as certainty ("score 1.00") where verdict.score_text says "> 0.99". Nor
    across its threshold: 0.69307 under a threshold of 0.6931 is stored 0.6930, not 0.6931 ("at or
    above the threshold" in the report, of a score the verdict found under it)."""
    rounded = round(float(score), places)
    if rounded >= 1 and score < 1:
        return round(1 - 10 ** -places, places)
    if rounded <= 0 and score > 0:
        return 10 ** -places
    if threshold is not None and (rounded >= threshold) != (score >= threshold):
        unit = 10 ** places
        return (math.floor(score * unit) if score < threshold else math.ceil(score * unit)) / unit
    return rounded


def score_text(score: float) -> str:
    """"0.87": a model's score read against its threshold, not a chance (the face-swap score is not
    calibrated), so never a percentage. Two decimals as the extension writes them (Math.round: halves
    up; Python's round() takes halves to even); a score short of 1 or above 0 never reads as exactly
    that ("> 0.99", "< 0.01"), since the end points would say certainty."""
    if 0.995 <= score < 1:
        return "> 0.99"
    if 0 < score < 0.005:
        return "< 0.01"
    return f"{math.floor(score * 100 + 0.5) / 100:.2f}"


def shown_score(score: float, threshold: float | None, places: int = 3) -> str:
    """A score in a table beside its threshold: `places` decimals, or four where fewer would put it on the
    other side of the threshold (a flag's 0.6933 read "0.693 (threshold 0.6931)")."""
    if threshold is not None and (stored_score(score, places) >= threshold) != (score >= threshold):
        places = 4
    if 0 < score < 0.5 * 10 ** -places:   # (stored_score's least non-zero value: 0.0001 read "0.001", ten times it)
        return f"< {10 ** -places:.{places}f}"
    return f"{stored_score(score, places, threshold):.{places}f}"


@dataclass
class Signal:
    detector: str
    version: str
    score: float | None            # probability the media is manipulated / AI-made; None = not applicable
    weight: float = 1.0
    threshold: float = 0.5         # operating point: score >= threshold flags the media
    flags: str = "manipulated"     # the label a flag gives: "manipulated" or "ai_generated"
    detail: dict = field(default_factory=dict)
    faces: list = field(default_factory=list)    # [{"frame", "t", "box", "score"}]
    frames: list = field(default_factory=list)   # [{"t", "score"}]
    provenance: dict | None = None               # only the provenance detector sets this

    def to_dict(self, decisive: bool) -> dict:
        return {"detector": self.detector, "version": self.version,
                "score": None if self.score is None else stored_score(self.score, threshold=self.threshold),
                "weight": self.weight, "threshold": self.threshold, "decisive": decisive,
                "detail": self.detail}


class Detector:
    name = ""                      # signal name in the verdict
    task = None                    # manifest task whose model it runs; None = no model file
    kinds = ("image", "video")

    def __init__(self, spec: ModelSpec | None, models: ModelStore, settings):
        self.spec = spec
        self.models = models
        self.settings = settings

    @property
    def version(self) -> str:
        return self.spec.version if self.spec else "1"

    def applies_to(self, media: Media) -> bool:
        return media.kind in self.kinds

    def run(self, media: Media) -> Signal:
        raise NotImplementedError


DETECTORS: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    DETECTORS[cls.name] = cls
    return cls
