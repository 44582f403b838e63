"""GET /health (no token) and GET /models."""

from flask import Blueprint, current_app, jsonify

from .. import __version__

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    analyzer = current_app.extensions["fakelens"]["analyzer"]
    # the models a check runs: face detection and each detector's (not face_mesh, used in training only)
    used = {"face_detect"} | {d.task for d in analyzer.detectors if d.task}
    return jsonify({"status": "ok", "version": __version__,
                    "models": [{"name": s.name, "version": s.version} for s in analyzer.models.specs
                               if s.task in used]})


@bp.get("/models")
def models():
    return jsonify(current_app.extensions["fakelens"]["analyzer"].models.manifest)
