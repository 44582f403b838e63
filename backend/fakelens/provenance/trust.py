"""Trust anchors for C2PA signers, and the c2pa-python reading context built from them.

The anchors that ship with FakeLens are the PEM files in trust_anchors/ (see its README);
settings.trust_anchors adds a PEM file, or a folder of them, of your own. A signer that
chains to none of them is reported as "intact, untrusted": unknown, not tampered.
"""

import logging
import threading
from pathlib import Path

import c2pa

BUNDLED = Path(__file__).with_name("trust_anchors")
log = logging.getLogger(__name__)

_lock = threading.Lock()
_contexts: dict = {}


def _pem_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".pem", ".crt") and p.is_file())
    return [path] if path.is_file() else []


def anchors_problem(settings) -> str | None:
    """What is wrong with settings.trust_anchors, for `fakelens serve` to say at start."""
    extra = getattr(settings, "trust_anchors", None)
    if extra and not _pem_files(Path(extra)):
        return (f"trust_anchors {extra}: no PEM file there (a .pem or .crt file, or a folder of them); "
                f"fix the setting or remove it")
    return None


def anchor_files(settings) -> list[Path]:
    files = _pem_files(BUNDLED)
    extra = getattr(settings, "trust_anchors", None)
    if extra:
        found = _pem_files(Path(extra))
        if not found:
            log.warning("trust_anchors %s: no PEM file there; using the bundled anchors only", extra)
        files += found
    return files


def anchors_pem(settings) -> str:
    """All anchors as one PEM text (only the certificate blocks, comments dropped)."""
    blocks = []
    for path in anchor_files(settings):
        text = path.read_text("ascii", "ignore")
        start = 0
        while (begin := text.find("-----BEGIN CERTIFICATE-----", start)) >= 0:
            end = text.find("-----END CERTIFICATE-----", begin)
            if end < 0:
                break
            end += len("-----END CERTIFICATE-----")
            blocks.append(text[begin:end])
            start = end
    return "\n".join(blocks) + ("\n" if blocks else "")


def reader_context(settings) -> c2pa.Context:
    """A shared c2pa Context: trust list loaded, and no network at all (no OCSP, no remote
    manifests: remote manifests are fetched by us, through the netguard, when enabled)."""
    key = tuple((str(p), p.stat().st_mtime_ns) for p in anchor_files(settings))
    with _lock:
        ctx = _contexts.get(key)
        if ctx is None:
            config = {"verify": {"verify_trust": True, "ocsp_fetch": False, "remote_manifest_fetch": False},
                      "core": {"allowed_network_hosts": []}}
            pem = anchors_pem(settings)
            try:
                ctx = c2pa.Context(c2pa.Settings.from_dict({**config, "trust": {"trust_anchors": pem}} if pem else config))
            except c2pa.C2paError:     # e.g. a broken user PEM: fall back to the bundled list
                log.warning("could not load the trust anchors (%s); using the bundled ones only", settings.trust_anchors)
                bundled = "\n".join(p.read_text("ascii", "ignore") for p in _pem_files(BUNDLED))
                ctx = c2pa.Context(c2pa.Settings.from_dict({**config, "trust": {"trust_anchors": bundled}}))
            _contexts.clear()
            _contexts[key] = ctx
        return ctx
