"""Every error leaves as {"error": {"code", "message"}}; bad input is a 4xx, never a 500."""

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ..errors import FakeLensError

log = logging.getLogger("fakelens.api")

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
              415: "unsupported_media"}


def error_response(code: str, message: str, http_status: int, **extra):
    response = jsonify({"error": {"code": code, "message": message}, **extra})
    response.status_code = http_status
    return response


def register(app):
    @app.errorhandler(FakeLensError)
    def fakelens_error(exc: FakeLensError):
        return error_response(exc.code, exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            return error_response("too_large", "the request body is larger than the upload limit", 413)
        return error_response(HTTP_CODES.get(exc.code, "http_error"), exc.description or exc.name, exc.code)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response("internal", f"FakeLens hit an internal error ({exc.__class__.__name__})", 500)
