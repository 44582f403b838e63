"""The model manifest (models/manifest.json) and one onnxruntime session per model for the server's life.

Every file is checked against the sha256 the manifest names before its session is made.
Sessions use one intra-op thread on purpose: the job pool already runs `workers` checks side by
side on a small CPU, and one thread per session gives the best throughput there
(two threads barely helped the face detector in FINDINGS.md).
"""

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort

from .errors import FakeLensError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    file: str
    sha256: str
    version: str
    input_size: int = 0
    colour: str = "RGB"               # channel order the model expects
    mean: tuple = (0.0, 0.0, 0.0)     # normalisation: (pixel/255 - mean) / std
    std: tuple = (1.0, 1.0, 1.0)
    crop: dict = field(default_factory=dict)   # e.g. {"mode": "box", "margin": 0.3}
    threshold: float = 0.5
    extra: dict = field(default_factory=dict)  # everything else in the entry (licence, metrics, ...)

    @classmethod
    def from_entry(cls, entry: dict) -> "ModelSpec":
        known = {"name", "task", "file", "sha256", "version", "input_size", "colour", "mean", "std",
                 "crop", "threshold"}
        kwargs = {k: entry[k] for k in known if k in entry}
        for k in ("mean", "std"):
            if k in kwargs:
                kwargs[k] = tuple(kwargs[k])
        return cls(**kwargs, extra={k: v for k, v in entry.items() if k not in known})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


REQUIRED_KEYS = ("name", "task", "file", "sha256", "version")


class ModelStore:
    """Reads the manifest once; makes each model's session on first use and keeps it."""

    def __init__(self, models_dir: Path):
        self.dir = Path(models_dir)
        manifest_path = self.dir / "manifest.json"
        if not manifest_path.is_file():
            raise FakeLensError("model_broken", f"no model manifest at {manifest_path}: run FakeLens from its "
                                "folder (`make serve`), or set FAKELENS_MODELS_DIR to its models/ folder")
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except ValueError as exc:
            raise FakeLensError("model_broken", f"{manifest_path} is not valid JSON ({exc})") from None
        self.specs = [ModelSpec.from_entry(e) for e in self._entries(manifest_path)]
        self._sessions = {}
        self._lock = threading.Lock()

    def _entries(self, manifest_path: Path) -> list[dict]:
        """The manifest's entries, each with the keys a model needs (a hand-edited one can lack them)."""
        entries = self.manifest.get("models") if isinstance(self.manifest, dict) else None
        if not isinstance(entries, list):
            raise FakeLensError("model_broken", f'{manifest_path} has no list of models ({{"models": [...]}})')
        for n, entry in enumerate(entries, 1):
            missing = [k for k in REQUIRED_KEYS if not isinstance(entry, dict) or k not in entry]
            if missing:
                name = entry.get("name", f"number {n}") if isinstance(entry, dict) else f"number {n}"
                raise FakeLensError("model_broken", f"{manifest_path}: the entry of model {name} lacks "
                                    f"{', '.join(missing)}")
        return entries

    def for_task(self, task: str) -> list[ModelSpec]:
        return [s for s in self.specs if s.task == task]

    def first(self, task: str) -> ModelSpec | None:
        found = self.for_task(task)
        return found[0] if found else None

    def problem(self, spec: ModelSpec) -> str | None:
        """What is wrong with a model's file (missing, or not the bytes the manifest names), or None."""
        path = self.dir / spec.file
        if not path.is_file():
            return f"model {spec.name}: {path} is missing; reinstall FakeLens or restore models/"
        actual = file_sha256(path)
        if actual != spec.sha256:
            return (f"model {spec.name}: {path.name} has sha256 {actual[:12]}…, the manifest says "
                    f"{spec.sha256[:12]}… (changed or corrupt); refusing to load it")
        return None

    def session(self, spec: ModelSpec) -> ort.InferenceSession:
        with self._lock:
            if spec.name not in self._sessions:
                path = self.dir / spec.file
                problem = self.problem(spec)
                if problem:
                    raise FakeLensError("model_broken", problem)
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                self._sessions[spec.name] = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"])
            return self._sessions[spec.name]

    def summary(self) -> list[dict]:
        return [{"name": s.name, "version": s.version, "task": s.task} for s in self.specs]

    @property
    def fingerprint(self) -> str:
        """Changes whenever a model or its manifest entry changes (a new threshold with the same file
        too), so cached verdicts of older models are not reused."""
        return hashlib.sha256(json.dumps(self.manifest, sort_keys=True).encode()).hexdigest()[:16]
