"""The one error type the backend raises for anything a caller can get wrong.

Each error has a stable `code`, a plain `message` and the HTTP status the API answers with.
Bad input is always a 4xx; only a bug in FakeLens itself may become a 500.
"""

import errno
import re

STATUS_BY_CODE = {
    "bad_request": 400,
    "bad_url": 400,
    "unauthorized": 401,
    "forbidden_host": 403,
    "forbidden_origin": 403,
    "blocked_address": 403,
    "not_found": 404,
    "too_large": 413,
    "unsupported_media": 415,
    "undecodable": 422,
    "fetch_failed": 422,
    "fetch_timeout": 422,
    "too_long": 422,
    "cancelled": 409,
    "queue_full": 429,
    "interrupted": 409,
    "upload_missing": 410,   # a queued upload's file left the data folder before it was checked (send it again)
    "model_broken": 503,   # a model file missing or changed: the install needs repair, not the input
    "storage_unavailable": 503,   # the data folder cannot be written (disk full, read-only, database locked)
    "internal": 500,
}


# What a user can do about a check that failed, said after why (the report, `fakelens check`): a
# failure that only said "the image file is truncated" left them to guess.
NEXT_STEP = {
    "not_found": "Check the file's name and folder: nothing is there.",
    "bad_url": "Check the address: only http and https addresses can be checked.",
    "blocked_address": "FakeLens does not fetch from this computer or the local network: save the file and "
                       "check the file instead.",
    "too_large": "Check a smaller copy (the limits are max_image_bytes, max_video_bytes and max_pixels in "
                 "config.toml).",
    "unsupported_media": "Convert it to a format FakeLens reads (JPEG, PNG, WebP; H.264 MP4 for video), or check "
                         "another copy.",
    "undecodable": "The file is damaged or incomplete: download it again, or check the original.",
    "fetch_failed": "If the address opens in a browser (a file behind a login cannot be fetched), save the media "
                    "there and check the file instead.",
    "fetch_timeout": "The server was too slow: try again later, or save the file and check the file instead.",
    "too_long": "Check a shorter excerpt (the limits are max_duration_s and decode_wall_s in config.toml).",
    "cancelled": "Check it again if you still want its verdict.",
    "interrupted": "Check it again.",
    "upload_missing": "Send the file again.",
    "queue_full": "Too many checks are waiting: try again once they are done.",
    "model_broken": "FakeLens's install needs repair: `fakelens models` says what is wrong; reinstall it or "
                    "restore models/.",
    "storage_unavailable": "Free some space in the data folder, or make it writable, then try again.",
    "internal": "This is a fault in FakeLens itself: the server's log has the details.",
}


# a download the server said is not there: "If the address opens in a browser (a file behind a login…)"
# fitted a refusal, not a file that is missing (fetch.http and fetch.ytdlp both word it so)
_GONE = re.compile(r"the server answered HTTP (404|410) ")
GONE_STEP = ("Nothing is at that address: check it for a typing mistake, or open the page that showed the media "
             "and check it from there (it may have moved or been deleted).")


def next_step_for(error: dict) -> str:
    """What to do about a failed check's error ({code, message}), or ""."""
    if error.get("code") == "fetch_failed" and _GONE.match(error.get("message") or ""):
        return GONE_STEP
    return NEXT_STEP.get(error.get("code"), "")


class FakeLensError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code if code in STATUS_BY_CODE else "internal"
        self.message = message

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class WrongArgument(FakeLensError):
    """A command-line argument that cannot be used (a folder that is not there, the same folder twice):
    the CLI exits 2 for it, as argparse does for its own refusals, not 1 as for a run that failed."""

    def __init__(self, message: str):
        super().__init__("bad_request", message)


class BadSettings(FakeLensError):
    """The settings (config.toml, FAKELENS_*) cannot be used: the CLI's own code, `bad_settings` (a server
    with bad settings does not start, so the API never answers with it)."""

    def __init__(self, message: str):
        super().__init__("bad_request", message)
        self.code = "bad_settings"

    @property
    def status(self) -> int:
        return 400


# What fills or locks the data folder, and the one remedy that fits each (both when the cause is unknown)
STORAGE_REMEDIES = {errno.ENOSPC: "free some disk space there", errno.EDQUOT: "free some disk space there",
                    errno.EROFS: "make it writable", errno.EACCES: "make it writable", errno.EPERM: "make it writable"}


# errors of a check's own writes (a download, its work folder) that are the data folder's, not the media's
FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def storage_unavailable(home, exc: OSError, what: str = "the upload") -> FakeLensError:
    """The data folder `home` cannot take `what`: a 503 naming the folder, the cause and its remedy."""
    remedy = STORAGE_REMEDIES.get(exc.errno, "free some disk space there or make it writable")
    return FakeLensError("storage_unavailable", f"cannot store {what} in the data folder {home} "
                         f"({exc.strerror or exc}): {remedy}")
