"""GET /checks/<id>/report: one self-contained HTML page (no outside resources) for a check."""

import base64
import math
import time
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, render_template

from ..analyze import thumbnail_frame, thumbnail_name
from ..errors import FakeLensError, next_step_for
from ..detectors.base import shown_score
from ..provenance.text import plain, source_type_words
from ..verdict import UNCERTAIN_MARGIN, label_words, score_text

bp = Blueprint("report", __name__, template_folder="templates")

# what the report may load: nothing but its own inline styles and data: pictures. Said in the page too,
# for the extension shows it through srcdoc, where the header does not come along
REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
bp.add_app_template_filter(score_text, "score")
bp.add_app_template_filter(plain, "plain")   # an address a page or an upload named: one plain line, cut
bp.add_app_template_global(shown_score, "shown_score")   # the tables' three decimals (four across a threshold)

def _timeline(frames: list[dict], duration: float | None, width: int = 600, height: int = 80) -> list[dict]:
    """Points of the per-frame score line, in SVG pixels."""
    if not frames:
        return []
    end = duration or max(f["t"] for f in frames) or 1.0
    return [{"x": round(f["t"] / end * width, 1), "y": round((1 - f["score"]) * height, 1),
             "t": f["t"], "score": f["score"]} for f in frames]


def _threshold_y(threshold: float | None, height: int = 80) -> float | None:
    """The threshold's line across the per-frame chart, in SVG pixels."""
    return None if threshold is None else round((1 - threshold) * height, 1)


def _older_picture(faces: list[dict]) -> dict:
    """The frame pictured by a check stored before its result named it ("picture"): the first with a face,
    else the first."""
    shown = thumbnail_frame(f["frame"] for f in faces)
    return {"frame": shown, "t": next((f["t"] for f in faces if f["frame"] == shown), 0.0)}


def _picture_why(picture: dict) -> str:
    """Why the report shows this frame, in words: "the highest-scoring of the 16 sampled frames with faces";
    "" when no face was scored, or one frame was."""
    if "run" in picture:   # the segment an "Uncertain" names, in its words
        return (f"the highest-scoring of the {picture['highest_of']} consecutive sampled frames that scored high "
                f"({picture['run'][0]:.1f}–{picture['run'][1]:.1f} s)")
    # (of the frames with faces scored, not of every sampled frame; one such frame is no choice)
    return (f"the highest-scoring of the {picture['highest_of']} sampled frames with faces"
            if picture.get("highest_of", 0) > 1 else "")


def _face_threshold(result: dict | None) -> float | None:
    """The face-swap detector's threshold, which every face's score is read against."""
    return next((s.get("threshold") for s in (result or {}).get("signals", []) if s.get("detector") == "face_swap"),
                None)


def _against_threshold(result: dict | None):
    """score -> "above" (at or above the face-swap threshold), "near" (within the uncertain margin
    below it) or "" (lower, unscored, or no face-swap signal)."""
    threshold = _face_threshold(result)

    def side(score):
        if score is None or threshold is None:
            return ""
        return "above" if score >= threshold else "near" if score >= threshold - UNCERTAIN_MARGIN else ""
    return side


def _box_tone(result: dict | None):
    """A face box's colour class from its score against the face-swap threshold (red at or above,
    amber within the uncertain margin, neutral below): not red on a "No signs…" verdict."""
    side = _against_threshold(result)
    # a video's verdict is its frames' mean: one frame's face may score high under "No signs…" or
    # "Uncertain", shown amber there (worth a look), never red beside a verdict that flags nothing
    cap = " near" if (result or {}).get("label") in ("no_evidence", "uncertain") else " high"
    return lambda score: {"above": cap, "near": " near"}.get(side(score), "")   # the extra class, with its space


def _box_words(result: dict | None):
    """A face box's label, in words as well as colour: "score 0.87, at or above the threshold"."""
    side, threshold = _against_threshold(result), _face_threshold(result)
    where = {"above": ", at or above the threshold", "near": ", just under the threshold"}

    def words(score):
        if score is None:
            return "face, not scored"
        # three decimals, as the table below: 0.685 is not "0.69"
        return f"score {shown_score(score, threshold)}{where.get(side(score), '')}"
    return words


# faces listed in the report's table before a crowd's unscored ones are left out (a crowd video listed 1,324)
FACE_ROWS = 20


def _drawing_order(faces: list[dict]) -> list[dict]:
    """Faces in the order their boxes are drawn, each over those before: the unscored first, then by
    score, so the highest's label is on top (a crowd's unscored labels hid the deciding face's)."""
    return sorted(faces, key=lambda f: (f["score"] is not None, f["score"] or 0.0))


def _face_rows(faces: list[dict]) -> tuple[list[dict], int]:
    """The faces the table lists, and how many unscored ones it leaves out: every face when there are
    few, else the scored ones (the first few when none is)."""
    if len(faces) <= FACE_ROWS:
        return faces, 0
    rows = [f for f in faces if f["score"] is not None] or faces[:FACE_ROWS]
    return rows, len(faces) - len(rows)


def status_words(check: dict) -> str:
    """An unfinished or failed check in the extension's words (wording.js describe)."""
    error = check.get("error") or {}
    if check["status"] == "queued":
        return "Waiting to be checked…"
    if check["status"] == "running":
        fraction = min(max((check.get("progress") or {}).get("fraction") or 0, 0), 1)
        return f"Checking… {math.floor(100 * fraction + 0.5)}%"   # halves up, as wording.js
    if check["status"] == "cancelled":
        return "Check cancelled" + (" (the history was cleared)" if error.get("code") == "not_found" else "")
    return f"Check failed: {error.get('message') or 'unknown error'}"


def next_step(check: dict) -> str:
    """What to do about a check that failed, or ""."""
    return next_step_for(check.get("error") or {}) if check["status"] == "failed" else ""


# where an IPTC source type token is listed (the block's, an action's, the metadata's field): said in words
SOURCE_TYPE_KEYS = ("digital_source_type", "XMP DigitalSourceType")


def shown_items(detail: dict) -> list[tuple[str, object]]:
    """A signal's detail (or the provenance summary) as the report lists it: each key in words
    ("faces_scored": "faces scored"), in its order, without the empty ones (null, [], {}; the
    provenance summary is mostly these) and without a "reason" its "reasons" repeats. It was one
    line of raw JSON per signal, nulls and braces included. An IPTC source type is in words, its token
    after them ("camera capture (digitalCapture)"), not the token alone."""
    reasons = detail.get("reasons") if isinstance(detail.get("reasons"), list) else []
    return [(str(k).replace("_", " "), source_type_words(v) if k in SOURCE_TYPE_KEYS else v) for k, v in detail.items()
            if v is not None and v != [] and v != {} and not (k == "reason" and v in reasons)]



def one_line(values: list) -> bool:
    """Whether a list reads as one line: a few short words or numbers, not sentences or records."""
    return all(not isinstance(v, (dict, list)) for v in values) and sum(len(str(v)) for v in values) <= 80


bp.add_app_template_filter(shown_items, "shown_items")
bp.add_app_template_test(one_line, "one_line")


def media_names(check: dict) -> tuple[str, str, bool]:
    """What a check was about, in full (the address asked for or an upload came from, or the uploaded
    file's name) and short, for the page's title: a file name, else the address without its scheme
    (several report tabs are told apart by it, and a browser cuts a title from its end); and whether
    it is an address."""
    req = check.get("request") or {}
    full = plain(req.get("source_url") or req.get("url") or req.get("filename") or "an uploaded file", 500)
    try:
        parts = urlsplit(full)
    except ValueError:   # an upload's source_url is the sender's word ("http://[bad/x.png"): not read as an address
        return full, plain(full, 60), False
    if parts.scheme not in ("http", "https"):
        return full, plain(full, 60), False
    last = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    short = last if "." in last else parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")
    return full, plain(short, 60), True


@bp.get("/checks/<check_id>/report")
def report(check_id: str):
    store = current_app.extensions["fakelens"]["store"]
    check = store.get(check_id)
    if check is None:
        raise FakeLensError("not_found", f"no check with id '{check_id}'")
    result = check["result"]
    media = (result or {}).get("media") or {}
    faces = (result or {}).get("faces", [])
    picture = (result or {}).get("picture") or _older_picture(faces)   # the frame the thumbnail was taken from
    shown_faces = [f for f in faces if f["frame"] == picture["frame"]]
    thumb, thumb_alt, caption = None, "", ""
    name, short_name, address = media_names(check)
    if result:
        thumbs, sha, t = current_app.config["SETTINGS"].thumbs_dir, media["sha256"], picture["t"]
        # a check made before pictures were named by their frame's time has only "<sha256>.jpg"
        path = next((p for p in (thumbs / thumbnail_name(sha, t), thumbs / f"{sha}.jpg") if p.is_file()), None)
        if path is not None and media.get("kind") != "video":
            thumb_alt = f"The checked image, {short_name}"
        elif path is not None and path.name != thumbnail_name(sha, t):   # an older check's picture does not say
            thumb_alt = f"A frame of the checked video, {short_name}"
        elif path is not None:
            # what the picture is, for a screen reader and under it: which frame, and why that one
            why = _picture_why(picture)
            frame = f"The sampled frame at {t:g} s" if why else f"The frame at {t:g} s"
            thumb_alt = f"{frame} of the checked video, {short_name}" + (f": {why}" if why else "")
            caption = f"{frame}, {why}." if why else ""
        if path is not None:
            thumb = "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()
    face_rows, faces_left_out = _face_rows(faces)
    label_text = label_words(result) if result else status_words(check)
    html = render_template("report.html", check=check, result=result, thumb=thumb, thumb_alt=thumb_alt, media=media,
                           caption=caption,
                           policy=REPORT_POLICY,
                           name=name, short_name=short_name, address=address,
                           asked_at=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(check["created"])),
                           # the title names the verdict as well (a screen reader reads it first), a failed
                           # check's without its message: "Check failed"
                           label_text=label_text, next_step=next_step(check), title_label=label_text if result else label_text.split(": ", 1)[0],
                           boxes=_drawing_order(shown_faces), box_tone=_box_tone(result), box_words=_box_words(result),
                           face_rows=face_rows, faces_left_out=faces_left_out,
                           face_threshold=_face_threshold(result), threshold_y=_threshold_y(_face_threshold(result)),
                           timeline=_timeline((result or {}).get("frames", []), media.get("duration")))
    # the page carries no script and loads nothing: a strict policy keeps it so
    return html, 200, {"Content-Type": "text/html; charset=utf-8",
                       "Content-Security-Policy": REPORT_POLICY}
