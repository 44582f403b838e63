"""Provenance as a signal: C2PA Content Credentials, AI metadata and invisible watermarks.

Needs no model file. The score is the probability of "AI-generated" from provenance alone
(see fakelens/provenance/__init__.py for how each kind of evidence is weighted); None when
the file carries no provenance either way, which is the common case: most sites strip it.
"""

from .. import provenance
from .base import Detector, Signal, register


@register
class ProvenanceDetector(Detector):
    name = "provenance"
    task = None
    kinds = ("image", "video")

    @property
    def version(self) -> str:
        return provenance.VERSION

    def run(self, media) -> Signal:
        frame = media.frames[0].image if media.kind == "image" and media.frames else None
        result = provenance.check(media.path, media.mime, media.kind, self.settings, frame=frame)
        return Signal(detector=self.name, version=self.version, score=result["score"],
                      flags="ai_generated", detail=result["detail"], provenance=result["provenance"])
