"""GET /health (no token) and GET /models."""

from flask import Blueprint, current_app, jsonify

from .. import __version__

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    analyzer = current_app.extensions["fakelens"]["analyzer"]
    return jsonify({"status": "ok", "version": __version__,
                    "models": [{"name": s.name, "version": s.version} for s in analyzer.used_models()]})


@bp.get("/models")
def models():
    return jsonify(current_app.extensions["fakelens"]["analyzer"].models.manifest)
