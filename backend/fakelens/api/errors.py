"""Every error leaves as {"error": {"code", "message"}}; bad input is a 4xx, never a 500."""

import logging

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import FakeLensError

log = logging.getLogger("fakelens.api")

MAX_JSON_BYTES = 1 << 20   # a batch of 100 addresses of 4,096 characters is about 0.4 MB
JSON_TOO_LARGE = "a JSON request is at most 1 MB"

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
              415: "unsupported_media"}


def error_response(code: str, message: str, http_status: int, **extra):
    response = jsonify({"error": {"code": code, "message": message}, **extra})
    response.status_code = http_status
    return response


def _too_large() -> str:
    """Which limit a 413 met: the upload's, JSON's, or one of the form's own (Werkzeug's defaults)."""
    if request.is_json:
        return JSON_TOO_LARGE
    length, limit = request.content_length, current_app.config["MAX_CONTENT_LENGTH"]
    if length is not None and limit and length <= limit and request.mimetype == "multipart/form-data":
        return (f"a form field other than the file is longer than {request.max_form_memory_size // 1000} kB, "
                f"or the form has more than {request.max_form_parts} parts")
    return "the request body is larger than the upload limit"


def register(app):
    @app.errorhandler(FakeLensError)
    def fakelens_error(exc: FakeLensError):
        return error_response(exc.code, exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            return error_response("too_large", _too_large(), 413)
        return error_response(HTTP_CODES.get(exc.code, "http_error"), exc.description or exc.name, exc.code)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response("internal", f"FakeLens hit an internal error ({exc.__class__.__name__})", 500)
