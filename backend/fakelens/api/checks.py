"""The checks routes: start (one or a batch), read, change priority, cancel, history, clear."""

import time

from flask import Blueprint, current_app, jsonify, request

from ..analyze import sniff_file
from ..config import MAX_SYNC_WAIT_S
from ..errors import FakeLensError, storage_unavailable
from ..fetch.http import mb
from ..fetch.netguard import check_url
from ..jobs import PRIORITIES
from ..models import file_sha256
from ..retention import forget
from ..store import REQUEST_WAIT_S, StoreUnavailable
from .errors import JSON_TOO_LARGE, MAX_JSON_BYTES, error_response

bp = Blueprint("checks", __name__)

KINDS = ("image", "video", "auto")
MAX_WAIT_S = MAX_SYNC_WAIT_S
MAX_WAITING = 8          # POSTs waiting for their result at once (waitress has 16 threads; cli.py)
MAX_FILENAME_CHARS = 255
MAX_BATCH = 100
MAX_URL_CHARS = 4096
BATCH_LOOKUPS_S = 10.0   # name lookups a batch may spend before the rest are left to the downloads


def _ctx():
    return current_app.extensions["fakelens"]


def public(check: dict) -> dict:
    """A check as the API shows it (never the server's file paths)."""
    req = check["request"]
    out = {"id": check["id"], "status": check["status"], "created": check["created"],
           "progress": check["progress"], "cached": check["cached"],
           "input": {k: req.get(k) for k in ("url", "source_url", "page_url", "kind", "filename", "priority")},
           "media": check["media"], "report_url": f"/api/v1/checks/{check['id']}/report"}
    if check["result"] is not None:
        out["result"] = check["result"]
    if check["error"] is not None:
        out["error"] = check["error"]
    return out


def _text(value, name: str, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise FakeLensError("bad_request", f"'{name}' is required")
        return None
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise FakeLensError("bad_request", f"'{name}' must be a string of at most {MAX_URL_CHARS} characters")
    if not _unicode(value):
        raise FakeLensError("bad_request", f"'{name}' is not valid text (it holds a lone UTF-16 surrogate)")
    return value


def _unicode(value: str) -> bool:
    """JSON can spell a lone surrogate ("\\ud800"), which no URL, SQLite text or log line can carry."""
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _note(value) -> str | None:
    """An informational field (page_url, source_url): kept when usable, dropped (never the whole
    check refused) when it is not a string, too long to keep or not valid text."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_URL_CHARS and _unicode(value) else None


def _priority(value, default: str) -> str:
    """Which checks a worker takes first (jobs.PRIORITIES): "high" for what the user asked for there
    and then (a right-click, a hover), "low" for what they did not wait on (automatic checks, a page
    scan); first come, first served within each."""
    if value is None or value == "":
        return default
    if value not in PRIORITIES:
        raise FakeLensError("bad_request", f"'priority' must be one of {', '.join(PRIORITIES)}")
    return value


def _url_request(item: dict, page_url: str | None, seen_hosts: dict | None = None,
                 lookups_until: float | None = None, priority: str = "high") -> dict:
    url = _text(item.get("url"), "url", required=True).strip()
    kind = item.get("kind") or "auto"
    if kind not in KINDS:
        raise FakeLensError("bad_request", f"'kind' must be one of {', '.join(KINDS)}")
    priority = _priority(item.get("priority"), priority)
    check_url(url, current_app.config["SETTINGS"], seen_hosts, lookups_until)   # bad URLs and private addresses: refused now
    return {"url": url, "kind": kind, "page_url": _note(page_url), "priority": priority}


def _start(req: dict) -> dict:
    """The check made for `req` (see _create), as it stands."""
    return _made(_create(req))


def _made(check_id: str) -> dict:
    """A check just made, as it stands; the history may have been cleared in between."""
    check = _ctx()["store"].get(check_id)
    if check is None:
        raise FakeLensError("cancelled", "the check was cancelled: the history was cleared as it was made")
    return check


def _create(req: dict) -> str:
    """A cached result becomes a finished check at once; otherwise the check is queued. Its id."""
    ctx = _ctx()
    result = ctx["pool"].from_cache(req)
    if result is None:
        return ctx["pool"].submit(req)
    if req.get("path"):
        ctx["pool"].discard_upload(req)
    return ctx["store"].create({k: v for k, v in req.items() if k not in ("path", "sha256")}, status="done",
                               result=result, media=result["media"], cached=True, wait_s=REQUEST_WAIT_S)


def _wait_seconds() -> float:
    """?wait= (default sync_wait_s), read before a check starts: a bad one must not leave a check behind."""
    try:
        wait = float(request.args.get("wait", current_app.config["SETTINGS"].sync_wait_s))
    except ValueError:
        raise FakeLensError("bad_request", "'wait' must be a number of seconds") from None
    return max(0.0, min(wait, MAX_WAIT_S)) if wait == wait else 0.0   # NaN waits not at all


def _answer(check: dict, wait: float):
    """Wait up to `wait` seconds so quick checks answer in one round trip."""
    waiting = _ctx()["waiting"]
    # each waiting POST holds a server thread: beyond MAX_WAITING it answers 202 at once (as after
    # its wait) so that health, status and cancel always find a thread
    if check["status"] in ("queued", "running") and wait > 0 and waiting.acquire(blocking=False):
        try:
            check = _ctx()["pool"].wait(check["id"], wait)
        finally:
            waiting.release()
    body = public(check)
    if check["status"] == "done":
        return jsonify(body), 200
    if check["status"] in ("failed", "cancelled"):   # cancelled as it waited: an end, 409 cancelled (not 202)
        error = check["error"]
        status = FakeLensError(error["code"], error["message"]).status
        return error_response(error["code"], error["message"], status,
                              **{k: v for k, v in body.items() if k != "error"})
    return jsonify(body), 202


@bp.post("/checks")
def create_check():
    wait = _wait_seconds()
    files, form = ({}, {}) if request.is_json else _form()
    if files or form:
        upload = files.get("media")
        if upload is None:
            raise FakeLensError("bad_request", "a multipart check needs a file field named 'media'")
        settings = current_app.config["SETTINGS"]
        priority = _priority(form.get("priority"), "high")   # refused before the file is read
        path = _ctx()["pool"].save_upload(upload.stream, settings.max_video_bytes)
        try:
            kind, _ = sniff_file(path)
            if kind == "image" and path.stat().st_size > settings.max_image_bytes:
                raise FakeLensError("too_large", f"images are limited to {mb(settings.max_image_bytes)}")
            # the base name only, capped: it is stored and sent back in every history answer
            filename = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:MAX_FILENAME_CHARS]
            req = {"path": str(path), "kind": kind, "filename": filename or None,
                   "source_url": _note(form.get("source_url")),
                   "page_url": _note(form.get("page_url")), "priority": priority}
            req["sha256"] = file_sha256(path)
            check_id = _create(req)
        except BaseException:   # refused, or the database would not take it: the file must not stay
            path.unlink(missing_ok=True)
            raise
        return _answer(_made(check_id), wait)   # made: its file is the queued check's now
    body = _json_body()
    if not isinstance(body, dict):
        raise FakeLensError("bad_request", "send JSON {\"url\": ...} or a multipart form with a 'media' file")
    return _answer(_start(_url_request(body, body.get("page_url"))), wait)


def _form():
    """The multipart form's files and fields (reading them reads the body). Werkzeug copies a file over
    500 kB to a temporary file as it parses (`fakelens serve` keeps those in the data folder): a disk
    that cannot take it is the data folder's problem, as for the upload itself (503), not a bug (500)."""
    try:
        return request.files, request.form
    except OSError as exc:
        raise storage_unavailable(current_app.config["SETTINGS"].home, exc) from None


def _json_body():
    """The request's JSON, None when it is not JSON; nesting deep enough to exhaust Python's parser is
    bad input (a few kB of brackets), not an internal error. A JSON body is parsed in memory, so it is
    held to MAX_JSON_BYTES, not to the upload limit a video needs (300 MB of JSON took gigabytes)."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise FakeLensError("too_large", JSON_TOO_LARGE)
    request.max_content_length = MAX_JSON_BYTES   # a body sent without its length is read no further
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise FakeLensError("bad_request", "the JSON is nested too deeply") from None
    if body is None and request.is_json and len(request.get_data()) >= MAX_JSON_BYTES:   # cut at the limit
        raise FakeLensError("too_large", JSON_TOO_LARGE)
    return body


@bp.post("/checks/batch")
def create_batch():
    body = _json_body()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise FakeLensError("bad_request", "send JSON {\"items\": [{\"url\": ...}, ...]}")
    if len(items) > MAX_BATCH:
        raise FakeLensError("bad_request", f"a batch holds at most {MAX_BATCH} items")
    priority = _priority(body.get("priority"), "low")   # a page scan: after checks asked for one by one
    checks, seen_hosts = [], {}   # each host looked up once per batch, for BATCH_LOOKUPS_S at most
    lookups_until = time.monotonic() + BATCH_LOOKUPS_S
    unavailable = None   # the history database refused one item: the rest are not tried (a second each)
    for item in items:
        try:
            if unavailable:
                raise unavailable
            if not isinstance(item, dict):
                raise FakeLensError("bad_request", "each item must be an object with a 'url'")
            checks.append(public(_start(_url_request(item, body.get("page_url"), seen_hosts, lookups_until,
                                                     priority))))
        except FakeLensError as exc:   # one bad item does not sink the page scan
            if isinstance(exc, StoreUnavailable):
                unavailable = exc
            checks.append({"id": None, "status": "failed", "input": {"url": item.get("url") if isinstance(item, dict) else None},
                           "error": exc.to_dict()})
    return jsonify({"checks": checks}), 202


def _check_or_404(check_id: str) -> dict:
    check = _ctx()["store"].get(check_id)
    if check is None:
        raise FakeLensError("not_found", f"no check with id '{check_id}'")
    return check


@bp.get("/checks/<check_id>")
def get_check(check_id: str):
    return jsonify(public(_check_or_404(check_id)))


@bp.patch("/checks/<check_id>")
def change_check(check_id: str):
    """{"priority": "high"}: the user now waits on a check sent as "low" (an automatic check of the image
    they hover). A check already started or ended stays as it is (the answer shows it)."""
    body = _json_body()
    if not isinstance(body, dict) or set(body) != {"priority"} or body["priority"] in (None, ""):
        raise FakeLensError("bad_request", "send JSON {\"priority\": \"high\"} (or \"low\"): only a waiting "
                            "check's priority can be changed")
    priority = _priority(body["priority"], "high")
    _check_or_404(check_id)
    _ctx()["pool"].set_priority(check_id, priority)
    return jsonify(public(_check_or_404(check_id)))


@bp.delete("/checks/<check_id>")
def cancel_check(check_id: str):
    return jsonify(public(_ctx()["pool"].cancel(check_id)))   # not_found when it is not there (or no longer)


@bp.get("/checks")
def history():
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise FakeLensError("bad_request", "'limit' must be a whole number") from None
    limit = max(1, min(limit, 500))
    checks = _ctx()["store"].history(limit)
    return jsonify({"checks": [{k: v for k, v in public(c).items() if k in
                                ("id", "status", "created", "media", "result", "error", "input", "report_url")}
                               for c in checks]})


@bp.delete("/checks")
def clear():
    # waiting and running checks are cancelled first: the waiting ones go now, each running one as
    # soon as its worker stops (a fraction of a second for a download; a decode finishes its step)
    cancelled = _ctx()["pool"].cancel_all()   # each ends at once, so the forget() below deletes it
    gone = forget(_ctx()["store"], current_app.config["SETTINGS"].thumbs_dir, before=time.time(), clearing=True)
    deleted = len(cancelled | set(gone))   # (a cancelled check's worker may have deleted it first)
    try:
        _ctx()["store"].scrub()   # what was cleared must not stay readable in the write-ahead log
    except StoreUnavailable as exc:   # cleared all the same, but the user is told where it still lies
        current_app.logger.warning("could not checkpoint the history after clearing it: %s", exc.message)
        return jsonify({"deleted": deleted, "warning": exc.message})
    return jsonify({"deleted": deleted})
