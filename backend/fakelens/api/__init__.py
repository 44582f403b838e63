"""The Flask app factory: settings, token, store, job pool and the v1 blueprints."""

import logging
import threading

from flask import Flask, request

from ..analyze import Analyzer
from ..config import Settings, load_settings, make_data_folder, make_private, refuse_files_in_place_of_folders
from ..jobs import JobPool
from ..store import Store
from . import auth, errors
from .checks import MAX_WAITING, bp as checks_bp
from .health import bp as health_bp
from .report import bp as report_bp


def create_app(settings: Settings | None = None, start_jobs: bool = True) -> Flask:
    settings = settings or load_settings()
    make_data_folder(settings.home)
    refuse_files_in_place_of_folders(settings.home)
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["TOKEN"] = auth.PairingToken(settings.home)
    # the multipart body may hold a video; anything bigger is refused before it is read
    app.config["MAX_CONTENT_LENGTH"] = settings.max_video_bytes + (1 << 20)
    store = Store(settings.home / "fakelens.db")
    make_private(settings.home)
    analyzer = Analyzer(settings, thumbs_dir=settings.thumbs_dir)
    pool = JobPool(settings, store, analyzer)
    app.extensions["fakelens"] = {"store": store, "pool": pool, "analyzer": analyzer,
                                  "waiting": threading.Semaphore(MAX_WAITING)}
    if start_jobs:
        pool.start()

    app.before_request(auth.check_request)
    app.after_request(auth.add_cors)
    app.after_request(no_store)
    errors.register(app)
    for bp in (health_bp, checks_bp, report_bp):
        app.register_blueprint(bp, url_prefix="/api/v1")
    logging.getLogger("fakelens").setLevel(logging.INFO)
    return app


def no_store(response):
    """The API's answers (a check and its result, the history, a report) are never kept in the browser's
    HTTP cache: a copy there would outlive "Clear FakeLens history"."""
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response
