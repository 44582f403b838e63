"""Settings: defaults < config file (FAKELENS_HOME/config.toml) < env FAKELENS_* < command-line flags."""

import contextlib
import logging
import math
import os
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import FakeLensError

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"


def default_home() -> Path:
    """The platform's per-user data folder: ~/.local/share/fakelens ($XDG_DATA_HOME) on Linux."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "FakeLens"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "FakeLens"
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "fakelens"


@dataclass(frozen=True)
class Settings:
    home: Path = None                  # data folder: token, SQLite, uploads; FAKELENS_HOME
    models_dir: Path = REPO_MODELS
    host: str = "127.0.0.1"
    port: int = 8731
    workers: int = 2                   # concurrent checks; each ONNX session uses one thread
    max_queue: int = 200               # queued checks before POST answers 429
    sync_wait_s: float = 5.0           # POST /checks waits this long for a result before answering 202
    # netguard: only the tests turn this on, to fetch from their own local servers
    allow_loopback: bool = False
    # limits on every download and decode
    max_image_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 300 * 1024 * 1024
    max_pixels: int = 60_000_000       # refused before decoding (decompression bombs)
    max_duration_s: float = 1800.0     # longest video accepted
    max_video_height: int = 720        # yt-dlp format cap on the shorter side (a stream offered only above it: its smallest)
    video_frames: int = 16             # frames sampled evenly from a video
    max_frames: int = 64
    max_faces: int = 8                 # largest faces judged per frame (the others are listed, and said)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 15.0       # a server silent this long is given up
    fetch_wall_s: float = 120.0        # whole download, all hops and fragments
    decode_wall_s: float = 120.0
    cache_ttl_s: float = 24 * 3600     # URL cache; the content-hash cache lasts keep_days
    cache: bool = True
    keep_days: float = 30.0            # finished checks, cached results, report pictures; 0: keep all
    remote_manifests: bool = False     # C2PA remote manifest fetching (through the netguard)
    trust_anchors: Path = None         # extra PEM trust anchors for C2PA signers

    @property
    def thumbs_dir(self) -> Path:
        """The small pictures of checked media that reports show (pruned with the history)."""
        return self.home / "thumbs"

    def __post_init__(self):
        if self.home is None:
            object.__setattr__(self, "home", default_home())
        object.__setattr__(self, "home", Path(self.home))
        object.__setattr__(self, "models_dir", Path(self.models_dir))
        for f in fields(self):
            _check_value(f.name, getattr(self, f.name))
        # the one check that needs two settings: made on the values in force, whichever layer gave them
        if self.video_frames > self.max_frames:
            raise ValueError(f"video_frames must be at most max_frames ({self.max_frames}; got {self.video_frames}): "
                             "raise max_frames too")

MAX_WORKERS = 64
MAX_FRAMES = 128   # 1080p frames of 6 MB each, all held while the faces are scored
MAX_SYNC_WAIT_S = 30.0
_PATHS = ("home", "models_dir", "trust_anchors")
_AT_LEAST_ONE = ("workers", "max_queue", "max_image_bytes", "max_video_bytes", "max_pixels", "max_video_height",
                 "video_frames", "max_frames", "max_faces")
_NOT_NEGATIVE = ("sync_wait_s", "cache_ttl_s", "keep_days")
_ABOVE_ZERO = ("max_duration_s", "connect_timeout_s", "read_timeout_s", "fetch_wall_s", "decode_wall_s")
_TIME_LIMITS = ("connect_timeout_s", "read_timeout_s", "fetch_wall_s", "decode_wall_s")
MAX_TIME_LIMIT_S = 86400
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number"}


def _check_value(name: str, value):
    """One setting's own range, wherever it was given (config.toml, FAKELENS_*, a flag)."""
    # a value out of range would start a server that never checks anything (workers = 0)
    # or refuses every request (port 99999 wraps around): say so at start instead
    if name == "port" and not 1 <= value <= 65535:
        raise ValueError(f"port must be 1-65535 (got {value})")
    if name in _AT_LEAST_ONE and value < 1:
        raise ValueError(f"{name} must be at least 1 (got {value})")
    if name in _NOT_NEGATIVE and value < 0:
        raise ValueError(f"{name} must not be negative (got {value})")
    if name in _ABOVE_ZERO and value <= 0:   # a time limit of 0 would fail every check, later and less clearly
        raise ValueError(f"{name} must be more than 0 (got {value})")
    if name in _TIME_LIMITS and value > MAX_TIME_LIMIT_S:   # past about 9e9 s a socket's timeout overflows
        raise ValueError(f"{name} must be at most {MAX_TIME_LIMIT_S} seconds, a day (got {value:g})")
    if name == "workers" and value > MAX_WORKERS:   # each is a thread running checks: thousands would exhaust the machine
        raise ValueError(f"workers must be at most {MAX_WORKERS} (got {value})")
    # a value past its cap was cut back without a word: say it instead
    if name == "max_frames" and value > MAX_FRAMES:
        raise ValueError(f"max_frames must be at most {MAX_FRAMES} (got {value})")
    if name == "sync_wait_s" and value > MAX_SYNC_WAIT_S:   # the API's own cap on ?wait=
        raise ValueError(f"sync_wait_s must be at most {MAX_SYNC_WAIT_S:g} (got {value:g})")


def _coerce(f, value):
    """A value from TOML, the environment or a flag, as the field's type; a wrong one names the setting."""
    kind = Path if f.name in _PATHS else type(f.default)
    if kind is Path:
        # an empty value would be "." (the current folder): a data folder there would be swept at start
        if not str(value).strip():
            raise ValueError(f"{f.name} must be a folder or file path, not empty")
        return Path(os.path.expanduser(str(value)))
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE + _FALSE:
            return text in _TRUE
    elif kind in (int, float):
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)   # 8791.0 from TOML; 8791.5 is refused below (int() would make it 8791)
        try:
            if (isinstance(value, (int, float, str)) and not isinstance(value, bool)
                    and not (kind is int and isinstance(value, float))):
                number = kind(value)
                if math.isfinite(number):   # a NaN passes every range check, infinity overflows timeouts
                    return number
        except ValueError:
            pass
    else:
        return value
    raise ValueError(f"{f.name} must be {_KIND_WORDS[kind]}, got {value!r}")


def make_data_folder(path: Path):
    """The data folder (or the folder of one of its files): a new one is the user's only (0700: it
    holds their browsing history and the token); an existing one keeps the mode the user gave it."""
    path = Path(path)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):   # said "File exists" / "Not a directory"
        blocking = next((p for p in (path, *path.parents) if p.is_file() or p.is_symlink() and not p.exists()), None)
        if blocking is None:   # a device, a pipe: the OSError says it
            raise
        where = "it" if blocking == path else str(blocking)
        what = (f"is a link to {os.readlink(blocking)}, which is not there" if blocking.is_symlink()
                and not blocking.exists() else "is a file, not a folder")
        raise FakeLensError("storage_unavailable", f"cannot use the data folder {path}: {where} {what} "
                            "(name another with --home or FAKELENS_HOME)") from None


DATA_SUBFOLDERS = ("thumbs", "uploads", "work", "work/spool")   # spool: request bodies being received (spool.py)


def refuse_files_in_place_of_folders(home: Path):
    """A file where FakeLens keeps one of its folders (a stray file named "work") is said at start,
    in one line: the server would start and fail every check ("internal error: FileExistsError")."""
    for name in DATA_SUBFOLDERS:
        path = Path(home) / name
        if path.exists() and not path.is_dir():
            raise FakeLensError("storage_unavailable", f"{path} is a file, not a folder: move it aside "
                                "(FakeLens makes the folder)")


def make_private(home: Path):
    """FakeLens's own files in the data folder made the user's only (folders 0700, files 0600),
    whatever mode an earlier version left them in: those before 2026-11-26 made the folder 0755 and
    fakelens.db 0644, and kept that over an upgrade, so every account on the computer could read the
    history and the report pictures. The default folder is FakeLens's own too; a folder the user
    named keeps its mode (its files are tightened all the same)."""
    if os.name != "posix":
        return
    home = Path(home)
    folders = [home / name for name in DATA_SUBFOLDERS]
    if home.resolve() == default_home().resolve():
        folders.append(home)
    files = [home / f"fakelens.db{end}" for end in ("", "-wal", "-shm")] + [home / "token"]
    for folder in folders:
        # the pictures are looked at only in a folder that was open: behind a closed one they are
        # private whatever their own mode (a walk of every thumbnail at each start is not needed)
        if folder.is_dir() and _tighten(folder, 0o700) and folder.name == "thumbs":
            with contextlib.suppress(OSError):
                files += list(folder.iterdir())
    for f in files:
        if f.is_file():   # a stray file named "work" is not made executable, nor a folder named "token" closed
            _tighten(f, 0o600)


def _tighten(path: Path, mode: int) -> bool:
    """`path` given `mode` when others may read it; whether they could. One that cannot be changed
    (another account's file, a file system without modes, gone meanwhile) is said in the log and
    left: the server still starts."""
    try:
        if path.is_symlink() or not path.exists() or not path.stat().st_mode & 0o077:
            return False
        path.chmod(mode)
    except OSError as exc:
        logging.getLogger("fakelens").warning("could not make %s private (%s)", path, exc.strerror or exc)
    return True


class SettingsError(ValueError):
    """A bad config.toml, FAKELENS_* value or flag (the CLI says "error in the settings")."""


def load_settings(**overrides) -> Settings:
    """Build settings from all layers; `overrides` are command-line flags (None means not given)."""
    try:
        return _load_settings(overrides)
    except ValueError as exc:   # TOML syntax, a wrong type, a value out of range
        raise SettingsError(str(exc)) from None


def _load_settings(overrides: dict) -> Settings:
    values = []   # (name, value, where it was given), file < environment < flags
    env = os.environ
    home = overrides.get("home") or env.get("FAKELENS_HOME") or default_home()
    config_file = Path(os.path.expanduser(str(home))) / "config.toml"   # "~/x" from a quoted flag too
    if config_file.is_file():
        with open(config_file, "rb") as fh:
            try:
                values += [(k, v, str(config_file)) for k, v in tomllib.load(fh).items()]
            except ValueError as exc:   # TOML syntax, or not UTF-8: the file is named, with the line
                raise ValueError(f"{config_file} is not valid TOML: {exc}") from None
    known = {f.name: f for f in fields(Settings)}
    unknown = {name for name, _, _ in values} - set(known)
    if unknown:   # only the file can name one (FAKELENS_* and flags are looked up by known names)
        raise ValueError(f"unknown setting(s) in {config_file}: {', '.join(sorted(unknown))}")
    values += [(f.name, env["FAKELENS_" + f.name.upper()], "FAKELENS_" + f.name.upper())
               for f in fields(Settings) if "FAKELENS_" + f.name.upper() in env]
    values += [(k, v, f"--{k.replace('_', '-')}") for k, v in overrides.items() if v is not None]
    coerced = {}
    for name, value, where in values:
        # each layer's value checked before a later one replaces it: port = "abc" in config.toml is
        # said with `serve --port 8814` too, not only the day the flag is left off
        try:
            coerced[name] = _coerce(known[name], value)
            _check_value(name, coerced[name])
        except ValueError as exc:
            raise ValueError(f"{exc}, in {where}") from None
    coerced.setdefault("home", Path(home))
    return Settings(**coerced)
