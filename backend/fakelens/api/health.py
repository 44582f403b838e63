"""GET /health (no token) and GET /models."""

from flask import Blueprint, current_app, jsonify

from .. import __version__

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    analyzer = current_app.extensions["fakelens"]["analyzer"]
    answer = {"status": "ok", "version": __version__,
              "models": [{"name": s.name, "version": s.version} for s in analyzer.used_models()]}
    # only where downloads may reach this computer (allow_loopback, for tests): the extension then reads
    # images served on 127.0.0.1 itself too; everywhere else it refuses bytes from a loopback address, as
    # netguard refuses the URL
    if current_app.config["SETTINGS"].allow_loopback:
        answer["fetch"] = {"loopback": True}
    return jsonify(answer)


@bp.get("/models")
def models():
    return jsonify(current_app.extensions["fakelens"]["analyzer"].models.manifest)
