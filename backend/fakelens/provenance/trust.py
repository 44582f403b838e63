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
_checked: dict = {}   # (path, mtime) of a user's anchor file: why it cannot be read, or None


def _pem_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".pem", ".crt") and p.is_file())
    return [path] if path.is_file() else []


def anchors_problem(settings) -> str | None:
    """What is wrong with settings.trust_anchors, for `fakelens serve` to say at start: no PEM file
    there, or a file the SDK cannot read (one such file made it drop every anchor of the user's)."""
    extra = getattr(settings, "trust_anchors", None)
    if not extra:
        return None
    if not _pem_files(Path(extra)):
        return (f"trust_anchors {extra}: no PEM file there (a .pem or .crt file, or a folder of them); "
                f"fix the setting or remove it")
    bad = _unreadable_files(settings)
    if bad:
        return "; ".join(f"trust_anchors {path}: {why}" for path, why in bad) + "; fix or remove it"
    return None


def anchor_files(settings) -> list[Path]:
    """The PEM files whose certificates are loaded: the bundled ones, then the user's that the SDK can
    read (an unreadable one is left out, named in the log when the reading context is built: the
    others still count)."""
    return _files_and_left_out(settings)[0]


def _files_and_left_out(settings) -> tuple[list[Path], list[tuple[Path, str]]]:
    """anchor_files, and the user's files left out with why (each listed and tried once per call)."""
    files, bad = _pem_files(BUNDLED), []
    extra = getattr(settings, "trust_anchors", None)
    if extra:
        found = _pem_files(Path(extra))
        if not found:
            log.warning("trust_anchors %s: no PEM file there; using the bundled anchors only", extra)
        bad = _unreadable_files(settings)
        files += [p for p in found if p not in {path for path, _ in bad}]
    return files, bad


def anchors_pem(settings) -> str:
    """All anchors as one PEM text (only the certificate blocks, comments dropped)."""
    return _pem_text(anchor_files(settings))


def _pem_text(files: list[Path]) -> str:
    blocks = [b for path in files for b in _certificate_blocks(path)]
    return "\n".join(blocks) + ("\n" if blocks else "")


def _certificate_blocks(path: Path) -> list[str]:
    text = path.read_text("ascii", "ignore")
    blocks, start = [], 0
    while (begin := text.find("-----BEGIN CERTIFICATE-----", start)) >= 0:
        end = text.find("-----END CERTIFICATE-----", begin)
        if end < 0:
            break
        end += len("-----END CERTIFICATE-----")
        blocks.append(text[begin:end])
        start = end
    return blocks


def _unreadable_files(settings) -> list[tuple[Path, str]]:
    """The user's anchor files that hold no certificate, or one the SDK refuses, with why: each is
    tried alone, as the SDK refuses the whole list for one bad block (every anchor of the user's was
    dropped for one stale file). Tried once per version of the file."""
    extra = getattr(settings, "trust_anchors", None)
    bad = []
    for path in _pem_files(Path(extra)) if extra else []:
        try:
            key = (str(path), path.stat().st_mtime_ns)
        except OSError as exc:   # removed since it was listed
            bad.append((path, f"cannot be read ({exc.strerror})"))
            continue
        with _lock:
            known = key in _checked
            why = _checked.get(key)
        if not known:
            why = _why_unreadable(path)
            with _lock:
                _checked[key] = why
        if why:
            bad.append((path, why))
    return bad


def _why_unreadable(path: Path) -> str | None:
    try:
        pem = _pem_text([path])
    except OSError as exc:   # not the server's to read (its permissions)
        return f"cannot be read ({exc.strerror})"
    if not pem:
        return "no certificate in it (no -----BEGIN CERTIFICATE----- block)"
    try:
        c2pa.Context(c2pa.Settings.from_dict({"trust": {"trust_anchors": pem}}))
    except c2pa.C2paError as e:
        return f"a certificate in it cannot be read ({str(e)[:200]})"
    return None


def reader_context(settings) -> c2pa.Context:
    """A shared c2pa Context: trust list loaded, and no network at all (no OCSP, no remote
    manifests: remote manifests are fetched by us, through the netguard, when enabled)."""
    files, bad = _files_and_left_out(settings)   # each user file was tried alone: the unreadable ones left out
    key = tuple((str(p), p.stat().st_mtime_ns) for p in files)
    with _lock:
        ctx = _contexts.get(key)
        if ctx is None:
            config = {"verify": {"verify_trust": True, "ocsp_fetch": False, "remote_manifest_fetch": False},
                      "core": {"allowed_network_hosts": []}}
            pem = _pem_text(files)
            for path, why in bad:
                log.warning("trust_anchors %s: %s; left out", path, why)
            try:
                ctx = c2pa.Context(c2pa.Settings.from_dict({**config, "trust": {"trust_anchors": pem}} if pem else config))
            except c2pa.C2paError:   # each file read alone, not all together: the bundled list, said
                log.warning("could not load the trust anchors %s together; using the bundled ones only",
                            settings.trust_anchors)
                ctx = c2pa.Context(c2pa.Settings.from_dict({**config, "trust": {
                    "trust_anchors": _pem_text(_pem_files(BUNDLED))}}))
            _contexts.clear()
            _contexts[key] = ctx
        return ctx
