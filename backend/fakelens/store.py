"""SQLite: checks (the job queue's persistent state and the history), and the result cache
by content sha256 and by URL. One connection for writes and one for reads, each guarded by a lock
(the load is a few writes a second): in WAL mode a read need not wait while a write waits out a
lock another program holds (a status poll stalled 5 s behind each such write)."""

import json
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from .config import make_data_folder
from .errors import FakeLensError

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- queued | running | done | failed | cancelled
    created REAL NOT NULL,
    updated REAL NOT NULL,
    request TEXT NOT NULL,           -- JSON: url, kind, page_url, source_url, upload (file path)
    stage TEXT, fraction REAL DEFAULT 0,
    result TEXT, error TEXT, media TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    cached INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS checks_created ON checks (created);
CREATE INDEX IF NOT EXISTS checks_status ON checks (status);   -- the queue's count, run for every check made
CREATE TABLE IF NOT EXISTS cache_hash (
    sha256 TEXT NOT NULL, models TEXT NOT NULL, result TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (sha256, models));
CREATE TABLE IF NOT EXISTS cache_url (
    url TEXT NOT NULL, models TEXT NOT NULL, sha256 TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (url, models));
"""

ACTIVE = ("queued", "running")
# How long a write made for a request (a new check, a cancel, a priority change) may wait for SQLite to
# get the file: with another program holding it, such a request answers 503 after about this long, not 5 s
# (SQLite's busy timeout, which the workers' writes keep, and retry) after every request before it (the
# server's threads all taken, health too)
REQUEST_WAIT_S = 1.0
# and for its turn on FakeLens's own connection, which FakeLens's own work holds a while (the hourly
# clean-up, "clear history", a worker waiting out a lock): longer, so that work is not answered 503
REQUEST_TURN_S = 5.0
# The schema's version, kept in the file (PRAGMA user_version; files from before it say 0, with this
# schema): a newer FakeLens's file is refused, not misread, by an older one.
SCHEMA_VERSION = 1

# the tables a FakeLens file from before the schema version holds (SCHEMA): another file is not adopted
FAKELENS_TABLES = {"checks", "cache_hash", "cache_url"}

_MOVE_ASIDE = "move it aside to start fresh (FakeLens makes a new one; its history is lost)"
# SQLite's words for a file or disk it cannot use, and what the user can do about each
_REMEDIES = (
    ("database or disk is full", "free some disk space"),
    ("readonly", "make it and its folder writable"),
    ("locked", "another program holds it open: close that (or stop the other FakeLens) and try again"),
    ("disk i/o error", "check the disk"),
    ("unable to open", "make sure its folder exists and is writable"),
    ("not a database", _MOVE_ASIDE),
    ("malformed", _MOVE_ASIDE),
)


class StoreUnavailable(FakeLensError):
    """The history database cannot be read or written: disk full, read-only, locked, not a database.
    The API answers 503 storage_unavailable; `fakelens serve` says it in one line at start."""

    def __init__(self, message: str):
        super().__init__("storage_unavailable", message)


def _loads(text):
    return None if text is None else json.loads(text)


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = None   # the file's identity once open: a write to a replaced one is refused
        make_data_folder(self.path.parent)   # the history is the user's browsing: their folder and file only
        try:
            # made here first so that it is 0600; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the history database {self.path} ({exc.strerror}): "
                                   "make sure its folder exists and is writable") from None
        self._lock = threading.Lock()
        with self._locked("open"):
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            # what the file is, before anything is written to it (WAL mode changes its header)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(f"the history database {self.path} was written by a newer FakeLens "
                                       f"(its schema {version}, this one knows {SCHEMA_VERSION}): upgrade "
                                       f"FakeLens, or {_MOVE_ASIDE}")
            if version == 0:   # new, a FakeLens file from before the version was kept, or another program's
                self._refuse_a_foreign_database()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA secure_delete=ON")   # deleted history is overwritten, not left in free pages
            self._db.executescript(SCHEMA)
            # written every time: a file SQLite could open only to read passes everything above, and
            # a read-only history then stops the start with one line, not the first check later
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._file = self._identity()
        self._read_lock = threading.Lock()
        with self._locked("open", self._read_lock):
            self._reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._reader.row_factory = sqlite3.Row

    def _refuse_a_foreign_database(self):
        """A file without a schema version is taken (and upgraded) only when it is empty or holds
        FakeLens's tables: another program's database under this name is never altered."""
        tables = {row[0] for row in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")}
        if not tables:
            return
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(checks)")}
        if tables <= FAKELENS_TABLES and {"id", "status", "created", "request"} <= columns:
            return
        raise StoreUnavailable(f"cannot open the history database {self.path} (its tables are "
                               f"{', '.join(sorted(tables))}): it is not a FakeLens history; {_MOVE_ASIDE}")

    def busy(self) -> StoreUnavailable:
        """A write a request could not make in its turn: FakeLens's own work held the database all that time
        (a clean-up, or a write waiting for another program that holds the file)."""
        return StoreUnavailable(f"FakeLens is busy with its history database {self.path} (a clean-up, or a write "
                                f"waiting for another program that holds it): try again in a moment")

    @contextmanager
    def _locked(self, doing: str = "use", lock=None, wait_s: float | None = None):
        """One thread at a time on a connection (the writer's unless `lock` names the reader's); a
        database the disk or another program will not let us use becomes StoreUnavailable (a 503
        naming the file and the reason, not an opaque 500). With wait_s (a request's write), SQLite waits
        for the file at most that long, and the turn on the connection at most REQUEST_TURN_S."""
        with self._turn(lock or self._lock, None if wait_s is None else REQUEST_TURN_S):
            # an open connection goes on writing into a file deleted or moved aside, and what it writes
            # is lost at the next start: every write is refused instead (a stat each)
            if lock is None and self._file and self._identity() != self._file:
                raise StoreUnavailable(f"the history database {self.path} was removed or replaced while FakeLens "
                                       f"ran: restart FakeLens (it makes a new one)")
            busy_ms = None
            try:
                if wait_s is not None and lock is None:   # SQLite waits out a lock that long (at most its own timeout)
                    busy_ms = self._db.execute("PRAGMA busy_timeout").fetchone()[0]
                    self._db.execute(f"PRAGMA busy_timeout = {min(busy_ms, max(1, int(wait_s * 1000)))}")
                yield
            except sqlite3.DatabaseError as exc:
                reason = str(exc)
                remedy = next((r for words, r in _REMEDIES if words in reason.lower()), None)
                if remedy is None and doing == "open":   # another program's database under our name
                    remedy = "it is not a FakeLens history; " + _MOVE_ASIDE
                if remedy is None:
                    raise   # a bug in FakeLens's SQL, not the disk
                raise StoreUnavailable(f"cannot {doing} the history database {self.path} ({reason}): "
                                       f"{remedy}") from exc
            finally:
                if busy_ms is not None:
                    self._db.execute(f"PRAGMA busy_timeout = {busy_ms}")

    @contextmanager
    def _turn(self, lock, wait_s: float | None):
        if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise self.busy()
        try:
            yield
        finally:
            lock.release()

    def _identity(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _run(self, sql: str, args=(), wait_s: float | None = None):
        with self._locked(wait_s=wait_s):
            return self._db.execute(sql, args).fetchall()

    def _read(self, sql: str, args=()):
        with self._locked("read", self._read_lock):
            return self._reader.execute(sql, args).fetchall()

    # --- checks -------------------------------------------------------------
    def create(self, request: dict, status="queued", result=None, media=None, cached=False,
               wait_s: float | None = None) -> str:
        check_id = uuid.uuid4().hex[:16]
        now = time.time()
        self._run("INSERT INTO checks (id, status, created, updated, request, result, media, cached, "
                  "stage, fraction) VALUES (?,?,?,?,?,?,?,?,?,?)",
                  (check_id, status, now, now, json.dumps(request),
                   None if result is None else json.dumps(result),
                   None if media is None else json.dumps(media), int(cached),
                   "done" if status == "done" else "queued", 1.0 if status == "done" else 0.0), wait_s)
        return check_id

    def get(self, check_id: str) -> dict | None:
        rows = self._read("SELECT * FROM checks WHERE id = ?", (check_id,))
        return self._row(rows[0]) if rows else None

    def _row(self, row) -> dict:
        return {"id": row["id"], "status": row["status"], "created": row["created"],
                "updated": row["updated"], "request": json.loads(row["request"]),
                "progress": {"stage": row["stage"], "fraction": round(row["fraction"] or 0, 3)},
                "result": _loads(row["result"]), "error": _loads(row["error"]),
                "media": _loads(row["media"]), "attempts": row["attempts"], "cached": bool(row["cached"])}

    def history(self, limit: int) -> list[dict]:
        rows = self._read("SELECT * FROM checks ORDER BY created DESC LIMIT ?", (limit,))
        return [self._row(r) for r in rows]

    def with_status(self, *statuses) -> list[dict]:
        marks = ",".join("?" * len(statuses))
        rows = self._read(f"SELECT * FROM checks WHERE status IN ({marks}) ORDER BY created", statuses)
        return [self._row(r) for r in rows]

    def queued_pages(self) -> list[tuple[str | None, str | None]]:
        """(priority, page_url) of each waiting check: the queue's shares (jobs.JobPool.submit)."""
        return [tuple(row) for row in self._read("SELECT json_extract(request, '$.priority'), "
                                                 "json_extract(request, '$.page_url') FROM checks "
                                                 "WHERE status = 'queued'")]

    def oldest_active(self) -> float | None:
        """When the oldest queued or running check was created (None when nothing is active)."""
        return self._read("SELECT MIN(created) FROM checks WHERE status IN (?, ?)", ACTIVE)[0][0]

    def start(self, check_id: str) -> bool:
        """queued → running; False if it is no longer queued (cancelled meanwhile)."""
        with self._locked():
            cur = self._db.execute("UPDATE checks SET status='running', attempts=attempts+1, updated=?, "
                                   "stage='starting', fraction=0 WHERE id=? AND status='queued'",
                                   (time.time(), check_id))
            return cur.rowcount == 1

    def progress(self, check_id: str, stage: str, fraction: float):
        self._run("UPDATE checks SET stage=?, fraction=?, updated=? WHERE id=? AND status='running'",
                  (stage, fraction, time.time(), check_id))

    def finish(self, check_id: str, result: dict, cached: bool = False) -> bool:
        """running → done; a check cancelled meanwhile (by a stop, or with no worker left) stays cancelled
        (False)."""
        with self._locked():
            return self._db.execute(
                "UPDATE checks SET status='done', stage='done', fraction=1, result=?, media=?, cached=?, "
                "updated=? WHERE id=? AND status='running'",
                (json.dumps(result), json.dumps(result["media"]), int(cached), time.time(), check_id)).rowcount == 1

    def fail(self, check_id: str, status: str, error: dict, wait_s: float | None = None) -> bool:
        """status is 'failed' or 'cancelled'; only an active check changes (False: it had ended)."""
        with self._locked(wait_s=wait_s):
            return self._db.execute("UPDATE checks SET status=?, error=?, updated=? WHERE id=? AND status IN (?, ?)",
                                    (status, json.dumps(error), time.time(), check_id, *ACTIVE)).rowcount == 1

    def set_priority(self, check_id: str, priority: str, wait_s: float | None = None) -> bool:
        """A queued check's priority, kept in its request (a restart queues it so); False once it has
        started (or ended)."""
        with self._locked(wait_s=wait_s):
            row = self._db.execute("SELECT request FROM checks WHERE id=? AND status='queued'", (check_id,)).fetchone()
            if row is None:
                return False
            req = {**json.loads(row[0]), "priority": priority}
            return self._db.execute("UPDATE checks SET request=?, updated=? WHERE id=? AND status='queued'",
                                    (json.dumps(req), time.time(), check_id)).rowcount == 1

    def cancel_queued(self, check_id: str, error: dict, wait_s: float | None = None) -> bool:
        """queued → cancelled; False if a worker has started it meanwhile (or it has ended)."""
        with self._locked(wait_s=wait_s):
            return self._db.execute("UPDATE checks SET status='cancelled', error=?, updated=? WHERE id=? AND "
                                    "status='queued'", (json.dumps(error), time.time(), check_id)).rowcount == 1

    def drop_cached(self, sha256: str | None, url: str | None):
        """Forget the cached results of one medium (a check cleared from the history while it ran)."""
        with self._locked():
            if sha256:
                self._db.execute("DELETE FROM cache_hash WHERE sha256=?", (sha256,))
                self._db.execute("DELETE FROM cache_url WHERE sha256=?", (sha256,))
            if url:
                self._db.execute("DELETE FROM cache_url WHERE url=?", (url,))

    def requeue(self, check_id: str, count_attempt: bool = True):
        """running → queued; count_attempt=False when the server stopped in good order (not the check's fault)."""
        self._run("UPDATE checks SET status='queued', stage='queued', fraction=0, "
                  "attempts=attempts - ?, updated=? WHERE id=? AND status='running'",
                  (0 if count_attempt else 1, time.time(), check_id))

    def delete(self, check_id: str):
        self._run("DELETE FROM checks WHERE id = ?", (check_id,))

    def forget(self, before: float) -> list[str]:
        """Delete finished checks and cached results made before `before` (time.time()); active
        checks stay. Returns the ids of the checks that went."""
        with self._locked():
            where = "FROM checks WHERE status NOT IN (?, ?) AND created < ?"
            ids = [row[0] for row in self._db.execute(f"SELECT id {where}", (*ACTIVE, before)).fetchall()]
            self._db.execute(f"DELETE {where}", (*ACTIVE, before))
            self._db.execute("DELETE FROM cache_hash WHERE created < ?", (before,))
            self._db.execute("DELETE FROM cache_url WHERE created < ?", (before,))
            return ids

    def scrub(self):
        """Copy the write-ahead log into the database and empty it: after "clear history" the rows
        deleted would otherwise stay readable in fakelens.db-wal until the next checkpoint. When most
        of the file is then free pages, it is rebuilt smaller (a cleared history of 100,000 checks
        kept its 836 MB)."""
        with self._locked():
            free, pages = (self._db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("freelist_count", "page_count"))
            if pages and free * 2 > pages:
                try:
                    self._db.execute("VACUUM")
                except sqlite3.OperationalError:   # a reader in another program: smaller another time
                    pass
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:   # said as a result row, not an error: another program is reading the database
            raise StoreUnavailable(f"the cleared history is still readable in {self.path}-wal because another "
                                   f"program is reading the database: close it and clear the history again")

    def media_hashes(self) -> set[str]:
        """The sha256 of every medium a remaining check reports on."""
        rows = self._read("SELECT json_extract(media, '$.sha256') FROM checks WHERE media IS NOT NULL")
        return {row[0] for row in rows if row[0]}

    # --- cache --------------------------------------------------------------
    def cached_by_hash(self, sha256: str, models: str) -> dict | None:
        rows = self._read("SELECT result FROM cache_hash WHERE sha256=? AND models=?", (sha256, models))
        return json.loads(rows[0][0]) if rows else None

    def cached_by_url(self, url: str, models: str, ttl_s: float) -> dict | None:
        rows = self._read("SELECT sha256 FROM cache_url WHERE url=? AND models=? AND created>?",
                         (url, models, time.time() - ttl_s))
        return self.cached_by_hash(rows[0][0], models) if rows else None

    def remember(self, result: dict, models: str, url: str | None):
        sha = result["media"]["sha256"]
        now = time.time()
        self._run("INSERT OR REPLACE INTO cache_hash VALUES (?,?,?,?)", (sha, models, json.dumps(result), now))
        if url:
            self._run("INSERT OR REPLACE INTO cache_url VALUES (?,?,?,?)", (url, models, sha, now))

    def close(self):
        with self._read_lock:
            self._reader.close()
        with self._lock:
            self._db.close()
