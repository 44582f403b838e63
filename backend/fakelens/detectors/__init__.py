"""Every module in this package that defines a `@register`ed Detector is a signal.

`load_detectors` makes one instance per manifest model whose task a detector handles, and one
instance of each detector that needs no model file (task None).
"""

import importlib
import pkgutil

from .base import DETECTORS, Detector, Signal, register

__all__ = ["DETECTORS", "Detector", "Signal", "register", "load_detectors"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base",):
        importlib.import_module(f"{__name__}.{_module.name}")


def load_detectors(models, settings) -> list[Detector]:
    found = []
    for cls in DETECTORS.values():
        if cls.task is None:
            found.append(cls(None, models, settings))
        else:
            found.extend(cls(spec, models, settings) for spec in models.for_task(cls.task))
    return found
