"""C2PA Content Credentials through c2pa-python: validation, signer, trust, actions, AI markers.

Status: "none" (no manifest), "intact" (validates; the signer may still be unknown) or
"tampered" (a validation failure other than trust: hashes, signature, missing claims, a
signing certificate outside its validity: expired or not valid yet). "signingCredential.untrusted"
alone is never tampering: it only means the signer is not on our trust list.
"""

import base64
import datetime
import hashlib
import io
import json
import re
import time

import c2pa

from .embedded import c2pa_bytes, pieces_left
from .generators import match_generator
from .metadata import AI_SOURCE_TYPES, source_type_name
from .text import plain, signer_words
from .trust import reader_context

# Codes about trust or revocation checks we skip, not about the content or the signature.
TRUST_CODES = {"signingCredential.untrusted", "timeStamp.untrusted", "signingCredential.ocsp.skipped",
               "signingCredential.ocsp.inaccessible", "signingCredential.ocsp.unknown"}

# Failures that mean the signature does not vouch for the claim. The certificate is public (anyone can
# attach a real organisation's chain to a garbage signature): then it names nobody, and what the claim
# says is anyone's word.
SIGNATURE_CODES = {"claimSignature.mismatch", "claimSignature.missing", "signingCredential.invalid",
                   "signingCredential.revoked", "algorithm.unsupported"}

# Failures that mean a statement (assertion) the claim lists is not the one signed: its hash no longer
# matches, or it is gone. Where that statement is a manifest's actions, what they say (an AI marker)
# is not its signer's word, whoever signed the claim: anyone could have edited them.
STATEMENT_CODES = {"assertion.hashedURI.mismatch", "assertion.missing"}

# Failures that mean the file's own bytes changed after its credentials were signed: they no longer
# describe these pixels (the verdict is then at least "Uncertain", whatever the detectors say).
DATA_CHANGED_CODES = {"assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch"}

PLAIN = {  # failure codes in plain words, for the report
    "assertion.dataHash.mismatch": "the image data no longer matches the signed hash (edited after signing)",
    "assertion.bmffHash.mismatch": "the video data no longer matches the signed hash (edited after signing)",
    "assertion.boxesHash.mismatch": "the file's data no longer matches the signed hash (edited after signing)",
    "assertion.hashedURI.mismatch": "a statement inside the credentials was changed after signing",
    "claimSignature.mismatch": "the signature does not match the claim",
    "claimSignature.missing": "the claim has no signature",
    # time-stamped; the SDK says "expired" for a certificate not valid yet too (_validity_words)
    "signingCredential.expired": "the signing certificate had expired when it signed",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.invalid": "the signing certificate is not valid for signing",
    "claim.missing": "a claim the credentials refer to is missing",
    "ingredient.manifest.missing": "the credentials of an ingredient are missing",
    "assertion.missing": "a statement the claim refers to is missing",
    "timeStamp.mismatch": "the time-stamp does not match the signature",
}


def _validity(reader) -> dict:
    """{manifest label: (notBefore, notAfter)} of each signing certificate, from the SDK's crJSON; {}
    where it cannot be read."""
    try:
        manifests = json.loads(reader.crjson()).get("manifests") or []
    except Exception:
        return {}
    out = {}
    for manifest in manifests:
        try:
            dates = manifest["signature"]["certificateInfo"]["validity"]
            out[manifest["label"]] = (datetime.datetime.fromisoformat(dates["notBefore"]),
                                      datetime.datetime.fromisoformat(dates["notAfter"]))
        except Exception:
            continue
    return out


def _validity_words(failure: dict, active_label, manifests: dict, validity: dict) -> str:
    """signingCredential.expired in plain words: the SDK reports a certificate whose validity has not
    started yet with that code too. Checked, as the SDK does, at the time-stamp's time, or now."""
    found = re.search(r"/c2pa/([^/]+)/", failure.get("url") or "")
    label = found.group(1) if found else active_label if failure["where"] == "active manifest" else None
    stamped = ((manifests.get(label) or {}).get("signature_info") or {}).get("time")
    try:
        at = datetime.datetime.fromisoformat(stamped) if stamped else datetime.datetime.now(datetime.timezone.utc)
        not_before, not_after = validity[label]
        early, late = at < not_before, at > not_after
    except Exception:                   # no dates, or a time that cannot be compared
        early = late = False
    if early:
        return ("the signing certificate was not valid yet when it signed" if stamped else
                f"the signing certificate is not valid yet (valid from {not_before:%Y-%m-%d})")
    if late:
        return PLAIN["signingCredential.expired"] if stamped else (
            "the signing certificate has expired, and no time-stamp shows it was valid when it signed")
    return ("the signing certificate was not valid when it signed (expired or not yet valid)" if stamped else
            "the signing certificate is not valid at this time (expired or not yet valid), and no time-stamp "
            "shows it was valid when it signed")


MAX_REMOTE_BYTES = 16 * 1024 * 1024
MAX_STORE_BYTES = MAX_REMOTE_BYTES   # an embedded store, as a remote one (a few kB, a thumbnail's MB at most)
_REMOTE_URL = re.compile(r"https?://[\x21-\x7e]{1,2000}")   # printable ASCII: no escape sequences or blanks


def _remote_url(text: str) -> str | None:
    """The remote manifest's address in the SDK's error text: up to a space or quote, without the
    closing brackets and stops of the sentence around it (a ")" inside the address stays)."""
    found = _REMOTE_URL.search(text)
    if found is None:
        return None
    url = re.split(r"['\"]", found.group(0))[0]
    while url and (url[-1] in ".,;:" or (url[-1] == ")" and url.count(")") > url.count("("))):
        url = url[:-1]
    return url or None


def _unreadable(out: dict, exc: Exception | str) -> dict:
    """Garbled JUMBF, truncated file, ...: said in plain words, never raised."""
    out["reasons"].append(f"Content Credentials were found but could not be read ({exc})"[:300])
    out["unreadable"] = True
    return out


def _codes(store: dict) -> tuple[list[dict], list[dict]]:
    """(failures, informational) entries from the whole store: active manifest and ingredients."""
    failures, seen = [], set()

    def add(entry, where):
        key = (entry.get("code"), entry.get("url"))
        if key not in seen:
            seen.add(key)
            failures.append({"code": entry.get("code"), "where": where,
                             "explanation": entry.get("explanation"), "url": entry.get("url")})

    results = store.get("validation_results") or {}
    active = results.get("activeManifest") or {}
    for entry in active.get("failure") or []:
        add(entry, "active manifest")
    for delta in results.get("ingredientDeltas") or []:
        for entry in (delta.get("validationDeltas") or {}).get("failure") or []:
            add(entry, "ingredient")
    for entry in store.get("validation_status") or []:      # the flat list: anything not seen above
        add(entry, "manifest store")
    return failures, active.get("informational") or []


def _agent_name(agent) -> str | None:
    if isinstance(agent, dict):
        agent = agent.get("name")
    return plain(agent) if agent else None


def _generator(manifest: dict) -> str | None:
    info = manifest.get("claim_generator_info") or []
    if info and isinstance(info[0], dict) and info[0].get("name"):
        version = info[0].get("version")
        return plain(f"{info[0]['name']} {version}" if version else info[0]["name"])
    return plain(manifest.get("claim_generator"))


def _actions(manifest: dict) -> list[dict]:
    out = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for act in (assertion.get("data") or {}).get("actions") or []:
            if not isinstance(act, dict):
                continue
            params = act.get("parameters") if isinstance(act.get("parameters"), dict) else {}
            dst = act.get("digitalSourceType") or params.get("digitalSourceType")
            item = {"action": plain(act.get("action")),   # a name the signer wrote: one plain line, cut
                    "software_agent": _agent_name(act.get("softwareAgent") or params.get("softwareAgent")),
                    "digital_source_type": source_type_name(dst)}
            if act.get("description") or params.get("description"):
                item["description"] = plain(act.get("description") or params.get("description"), 200)
            out.append({k: v for k, v in item.items() if v})
    return out


def _ai_markers(manifest: dict, actions: list[dict]) -> list[dict]:
    """[{"generator", "evidence"}] for each AI marker in one manifest."""
    generator = _generator(manifest)
    markers = []
    for act in actions:
        dst = act.get("digital_source_type")
        tool = match_generator(act.get("software_agent")) or match_generator(generator)
        if dst in AI_SOURCE_TYPES:
            # "named": a generator FakeLens knows, by its own name; else the file's words, said as such
            markers.append({"generator": tool or act.get("software_agent") or generator, "named": bool(tool),
                            "action": act.get("action"), "source_type": dst,
                            "evidence": f"action {act.get('action')} with digitalSourceType {dst}: {AI_SOURCE_TYPES[dst]}"})
        elif act.get("action") == "c2pa.created" and tool and not dst:
            # a tool's name counts only where the action says nothing of its source: a signed
            # digitalCapture is not overruled by a claim generator's name that looks like an AI tool's
            markers.append({"generator": tool, "named": True, "action": "c2pa.created", "source_type": None,
                            "evidence": f"c2pa.created by a generative AI tool ({tool})"})
    return markers


def _verify_wide_exclusion(fh, reader, active_label: str) -> bool:
    """True when a JPEG's data hash, whose exclusion also covers the header and EXIF (older
    signers such as Truepic libc2pa 2.5 did this), still matches every byte from the first
    non-metadata segment on. The current C2PA SDK rejects such exclusions by placement alone
    ("data hash exclusion does not match the manifest location"), not because bytes changed."""
    try:
        detailed = json.loads(reader.detailed_json())
        binding = detailed["manifests"][active_label]["assertion_store"]["c2pa.hash.data"]
        algo = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}[binding.get("alg", "sha256")]
        exclusions = sorted((int(e["start"]), int(e["length"])) for e in binding["exclusions"])
        expected = base64.b64decode(binding["hash"]) if isinstance(binding["hash"], str) else bytes(binding["hash"])
    except Exception:
        return False
    fh.seek(0)
    data = fh.read()
    if not data.startswith(b"\xff\xd8"):
        return False
    # where the coded image starts: the first segment that is not APPn (E0-EF) or COM (FE)
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and (0xE0 <= data[pos + 1] <= 0xEF or data[pos + 1] == 0xFE):
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    if any(start + length > pos for start, length in exclusions):
        return False                       # an exclusion reaches into the image data: not ours to excuse
    digest, cursor = algo(), 0
    for start, length in exclusions:
        digest.update(data[cursor:start])
        cursor = max(cursor, start + length)
    digest.update(data[cursor:])
    return digest.digest() == expected


def _fetch_remote(url: str, settings) -> bytes:
    """A remote manifest store, fetched only through the netguard (settings.remote_manifests)."""
    import requests

    from ..errors import FakeLensError
    from ..fetch import netguard

    netguard.check_url(url, settings)
    # the whole fetch within fetch_wall_s (a server trickling a byte every few seconds is cut off),
    # and no proxy or .netrc from the environment, as for media downloads (fetch/http.py)
    with netguard.guarded(settings, time.monotonic() + settings.fetch_wall_s) as guard, requests.Session() as session:
        session.trust_env = False
        try:
            with session.get(url, timeout=(settings.connect_timeout_s, settings.read_timeout_s),
                             stream=True, allow_redirects=False) as resp:
                resp.raise_for_status()
                body = bytearray()
                for chunk in resp.iter_content(65536):
                    body += chunk
                    if len(body) > MAX_REMOTE_BYTES:
                        raise FakeLensError("too_large", "the remote manifest is larger than 16 MB")
        except requests.RequestException:
            if guard.remaining() is not None and guard.remaining() <= 0:
                raise FakeLensError("timeout", f"gave up after {settings.fetch_wall_s:.0f} s") from None
            raise
    return bytes(body)


def read_c2pa(path: str, mime: str | None, settings) -> dict:
    """The C2PA part of the provenance block, with plain reasons. Never raises for bad input."""
    out = {"status": "none", "trusted": False, "signer": None, "issuer": None, "generator": None,
           "actions": [], "codes": [], "ai": [], "reasons": [], "remote_manifest": None}
    try:
        fh = open(path, "rb")
    except OSError as exc:
        out["reasons"].append(f"could not read the file for Content Credentials ({exc.__class__.__name__})")
        return out
    with fh:                                # a stream: a large video is never read into memory whole
        size = c2pa_bytes(fh)
        if size > MAX_STORE_BYTES:          # the SDK reads a store whole, several times over in memory
            return _unreadable(out, f"they take {size / 2**20:.0f} MB, more than the "
                                    f"{MAX_STORE_BYTES >> 20} MB FakeLens reads")
        reader = _open_reader(fh, mime or None, settings, out)
        if reader is None:
            return out
        _read_store(reader, fh, out, settings)
    return out


def _open_reader(fh, fmt, settings, out):
    """A c2pa Reader for the file, or None with the reason in out["reasons"]."""
    ctx = reader_context(settings)
    try:
        return c2pa.Reader(fmt, fh, context=ctx)
    except c2pa.C2paError.ManifestNotFound:
        if pieces_left(fh):   # e.g. a JPEG's first APP11 segment lost: "none" would say there are none
            _unreadable(out, "parts of them are in the file, but their start is missing")
        return None
    except c2pa.C2paError.NotSupported:
        return None                         # a format C2PA does not cover: no credentials possible
    except Exception as exc:
        url = _remote_url(str(exc)) if "remote" in str(exc).lower() else None
        if url is None:
            _unreadable(out, exc)
            return None
        out["remote_manifest"] = url
        shown = plain(url)   # up to 2,000 characters the file wrote: the field keeps them, a sentence not
        if not getattr(settings, "remote_manifests", False):
            out["reasons"].append(f"the Content Credentials are stored remotely ({shown}); fetching remote "
                                  "manifests is off (setting remote_manifests)")
            return None
        try:
            manifest_bytes = _fetch_remote(url, settings)
            fh.seek(0)
            return c2pa.Reader(fmt, fh, manifest_data=manifest_bytes, context=ctx)
        except Exception as exc2:
            out["reasons"].append(f"the remote Content Credentials at {shown} could not be fetched or read "
                                  f"({getattr(exc2, 'message', None) or exc2.__class__.__name__})")
            return None


def _read_store(reader, fh, out, settings) -> None:
    """Fill `out` from the manifest store the reader validated."""
    with reader:
        try:
            store = json.loads(reader.json())
        except Exception as exc:
            out["reasons"].append(f"Content Credentials could not be parsed ({exc.__class__.__name__})")
            out["unreadable"] = True
            return
        label = store.get("active_manifest")
        manifests = store.get("manifests") or {}
        active = manifests.get(label) or {}
        failures, _ = _codes(store)
        content_failures = [f for f in failures if f["code"] not in TRUST_CODES]
        excused = [f for f in content_failures if f["code"] == "assertion.dataHash.mismatch"
                   and "manifest location" in (f.get("explanation") or "")
                   and f["where"] == "active manifest"]
        if excused and _verify_wide_exclusion(fh, reader, label):
            content_failures = [f for f in content_failures if f not in excused]
            out["reasons"].append("the signed hash of this older credential also excludes the file header and "
                                  "EXIF, which the current C2PA SDK rejects by placement; FakeLens re-hashed "
                                  "the image data and it matches the signature (EXIF is not covered)")
            out["wide_exclusion_verified"] = True
        expired = any(f["code"] == "signingCredential.expired" for f in content_failures)
        validity = _validity(reader) if expired else {}
        ingredient_trust = _ingredient_trust(reader, manifests, label, settings)

    sig = active.get("signature_info") or {}
    # the certificate's names count only when the signature over the claim verifies
    unsigned = any(f["code"] in SIGNATURE_CODES and (f["where"] == "active manifest" or f"/{label}/" in (f["url"] or ""))
                   for f in failures)
    out["unsigned"] = unsigned
    out["signer"] = None if unsigned else plain(sig.get("common_name") or sig.get("issuer"))
    # the SDK's "issuer" is the signing certificate's own organisation (its O=), not the authority that
    # issued it: said as its organisation (the field keeps its documented name)
    out["issuer"] = None if unsigned else plain(sig.get("issuer"))
    out["signed_at"] = sig.get("time")
    out["generator"] = _generator(active)
    out["actions"] = _actions(active)[:20]
    # trusted: the signer chains to one of our anchors (said by the SDK as signingCredential.trusted)
    success = ((store.get("validation_results") or {}).get("activeManifest") or {}).get("success") or []
    out["trusted"] = not unsigned and (store.get("validation_state") == "Trusted" or any(
        entry.get("code") == "signingCredential.trusted" for entry in success))
    out["codes"] = sorted({f["code"] for f in content_failures})
    out["status"] = "tampered" if content_failures else "intact"
    out["failures"] = [{k: f[k] for k in ("code", "where", "explanation")} for f in content_failures][:20]
    out["data_changed"] = any(f["code"] in DATA_CHANGED_CODES and f["where"] == "active manifest"
                              for f in content_failures)
    if content_failures:
        def said(f):
            if f["code"] == "signingCredential.expired":
                return _validity_words(f, label, manifests, validity)
            return PLAIN.get(f["code"], f["code"])
        words = sorted({said(f) + (" (in an ingredient)" if f["where"] == "ingredient" else "")
                        for f in content_failures})
        out["failure_words"] = words   # the extension's tooltip says these, not a table of its own
        out["reasons"].append("the Content Credentials do not validate: " + "; ".join(words))
    who = signer_words(out["signer"])
    if unsigned:
        named = plain(sig.get("common_name") or sig.get("issuer"))
        out["reasons"].append("the signature does not verify, so who wrote the Content Credentials is not known"
                              + (f" (the certificate attached names {signer_words(named)}, but a certificate is public: anyone "
                                 "can attach one)" if named else ""))
    else:
        out["reasons"].append(f"Content Credentials signed by {who}" + (f" (organisation {signer_words(out['issuer'])})" if out["issuer"] and out["issuer"] != out["signer"] else "")
                              + (", on FakeLens's trust list" if out["trusted"] else ", not on FakeLens's trust list (unknown signer, not a sign of tampering)"))

    # AI markers: the active manifest first, then any earlier manifest (ingredients) in the store,
    # with how that ingredient went into this file
    for manifest_label, manifest in [(label, active)] + [(k, v) for k, v in manifests.items() if k != label]:
        for marker in _ai_markers(manifest, _actions(manifest)):
            marker["where"] = "active manifest" if manifest_label == label else "ingredient"
            marker["unsigned"] = unsigned   # a broken signature vouches for no claim in the file
            # the signature verifies, but not over these words
            marker["actions_changed"] = _actions_changed(manifests, failures, manifest_label)
            if manifest_label != label:
                marker["relationship"] = _relationship(manifests, label, manifest_label)
                # its data (or a version it went in through) no longer matched its signed hash when it was
                # taken in: what its credentials say is about other pixels, a hint at most
                marker["changed_when_added"] = _changed_when_added(manifests, label, manifest_label)
                marker["unsigned"] = unsigned or _ingredient_unsigned(manifests, failures, manifest_label)
                signed = manifest.get("signature_info") or {}
                marker["signer"] = None if marker["unsigned"] else plain(signed.get("common_name") or signed.get("issuer"))
                marker["trusted"] = not marker["unsigned"] and ingredient_trust.get(manifest_label, False)
                marker["trust_checked"] = manifest_label in ingredient_trust
            out["ai"].append(marker)


MAX_TRUST_READS = 8   # ingredients' manifest stores read again for their signer's trust (_ingredient_trust)


def _ingredient_trust(reader, manifests: dict, active_label, settings) -> dict:
    """{ingredient manifest label: whether its signer chains to FakeLens's trust list} for the ingredients
    that carry an AI marker. The SDK checks only the active manifest's signer against our list, and the
    status recorded with an ingredient is the trust list of the tool that took it in, not ours: the
    ingredient's own manifest store is read again here with our trust list (its data hash cannot match
    without its pixels; only the signer's trust is taken from it). At most MAX_TRUST_READS, the active
    manifest's own ingredients first: each store holds all its ancestors, so reading every one of a
    long chain took the square of its length (120 links: 9 s). One not read again is not in the dict
    (its trust not checked)."""
    trust = {}
    direct = (manifests.get(active_label) or {}).get("ingredients") or []
    others = [ing for lbl, m in manifests.items() if lbl != active_label for ing in m.get("ingredients") or []]
    for ing in [*direct, *others]:
        if len(trust) >= MAX_TRUST_READS:
            break
        ing_label = isinstance(ing, dict) and (ing.get("active_manifest") or ing.get("manifest"))
        resource = isinstance(ing_label, str) and isinstance(ing.get("manifest_data"), dict) \
            and ing["manifest_data"].get("identifier")
        if not isinstance(resource, str) or ing_label == active_label or ing_label in trust \
                or ing_label not in manifests or not _ai_markers(manifests[ing_label], _actions(manifests[ing_label])):
            continue
        trust[ing_label] = False   # (read again, and not found trusted, unless the read below says so)
        try:
            data = io.BytesIO()
            reader.resource_to_stream(resource, data)
            data.seek(0)
            with c2pa.Reader("application/c2pa", data, context=reader_context(settings)) as again:
                store = json.loads(again.json())
            success = ((store.get("validation_results") or {}).get("activeManifest") or {}).get("success") or []
            trust[ing_label] = store.get("active_manifest") == ing_label and any(
                isinstance(e, dict) and e.get("code") == "signingCredential.trusted" for e in success)
        except Exception:   # not read again: not known to be trusted
            pass
    return trust


def _recorded(ingredient: dict) -> list[dict]:
    """The failures recorded with an ingredient by the manifest that took it in (its validation status,
    kept with it: the SDK does not validate an ingredient's claim or data hash again)."""
    results = (ingredient.get("validation_results") or {}).get("activeManifest") or {}
    return [e for e in list(ingredient.get("validation_status") or []) + list(results.get("failure") or [])
            if isinstance(e, dict)]


def _recorded_for(manifests: dict, label) -> list[dict]:
    """The failures recorded with the manifest `label` by every manifest that took it in (_recorded)."""
    return [e for manifest in manifests.values() for ing in manifest.get("ingredients") or []
            if isinstance(ing, dict) and label in (ing.get("active_manifest"), ing.get("manifest"))
            for e in _recorded(ing)]


def _actions_changed(manifests: dict, failures: list[dict], manifest_label) -> bool:
    """Whether a manifest's actions statement (where its AI markers come from) is not the one its
    claim signed, as this file's validation found it or as a manifest that took it in recorded it."""
    def about_its_actions(entry):
        url = entry.get("url") or ""
        return entry.get("code") in STATEMENT_CODES and f"/{manifest_label}/" in url and "/c2pa.actions" in url

    return any(about_its_actions(e) for e in [*failures, *_recorded_for(manifests, manifest_label)])


def _ingredient_unsigned(manifests: dict, failures: list[dict], ingredient_label) -> bool:
    """Whether an ingredient's own signature failed, as this file's validation found it or as the
    manifest that took it in recorded it."""
    if any(f["code"] in SIGNATURE_CODES and f"/{ingredient_label}/" in (f["url"] or "") for f in failures):
        return True
    return any(e.get("code") in SIGNATURE_CODES for e in _recorded_for(manifests, ingredient_label))


def _path(manifests: dict, active_label, ingredient_label) -> list[dict] | None:
    """The ingredient assertions that took an ingredient's manifest into the active one, the one naming
    it first and the active manifest's own last; None if no ingredient names it (or they loop)."""
    up = {}                                        # manifest label -> (the manifest using it, its ingredient assertion)
    for user_label, manifest in sorted(manifests.items(), key=lambda kv: kv[0] != active_label):
        for ing in manifest.get("ingredients") or []:
            if isinstance(ing, dict) and (ing.get("active_manifest") or ing.get("manifest")):
                up.setdefault(ing.get("active_manifest") or ing.get("manifest"), (user_label, ing))
    steps, at = [], ingredient_label
    while at != active_label:
        if at not in up or len(steps) > len(manifests):   # not named by any ingredient, or a loop
            return None
        at, ing = up[at]
        steps.append(ing)
    return steps


def _relationship(manifests: dict, active_label, ingredient_label) -> str | None:
    """How an ingredient's manifest went into the active one, from the ingredient assertions along
    the way: "parentOf" (an earlier version of this file) only if every step is; "componentOf"
    (placed into it) or "inputTo" (used to make it) if any step is; None if no ingredient names it."""
    steps = _path(manifests, active_label, ingredient_label)
    if steps is None:
        return None
    relationships = [ing.get("relationship") or "componentOf" for ing in steps]   # the assertion's default
    return next((r for r in ("inputTo", "componentOf") if r in relationships), "parentOf")


def _changed_when_added(manifests: dict, active_label, ingredient_label) -> str | None:
    """Whether an ingredient's data no longer matched its own signed hash when it was taken in, as the
    validation status recorded with it says: "own" (its own credentials did not validate then), "chain"
    (it came in through a version whose credentials did not), None (neither, or not known)."""
    for n, ing in enumerate(_path(manifests, active_label, ingredient_label) or []):
        if any(e.get("code") in DATA_CHANGED_CODES for e in _recorded(ing)):
            return "own" if n == 0 else "chain"
    return None
