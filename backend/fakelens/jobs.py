"""A bounded pool of worker threads running checks, with progress, cancel and persistence.

Every check is a row in SQLite before it is queued, so none is lost on a restart: queued checks run
again. A check running when the server is stopped in good order (Ctrl+C, SIGTERM) is put back in
the queue as it was; one running when the server died is re-queued once (a second interruption
marks it failed with the reason, so a file that crashes the server cannot loop forever). Uploaded
files no waiting check names, and working folders a dead server left, are removed at start; a
waiting upload whose file was removed meanwhile fails as "upload_missing" when its turn comes. A check's
end the database will not take (a full disk, a locked file) is kept and stored as soon as it can be (see
_end), its upload kept until then, so a restart meanwhile runs the check again.
History older than settings.keep_days is pruned at start and then at most hourly (retention.py).
One data folder has one job pool: a second server on it is refused rather than let it re-queue
and cancel the first one's checks.
"""

import fcntl
import itertools
import logging
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from . import retention, spool
from .config import make_data_folder
from .errors import FULL_DISK, FakeLensError, storage_unavailable
from .fetch.http import mb
from .store import REQUEST_TURN_S, REQUEST_WAIT_S, Store, StoreUnavailable
from .verdict import page_videos_note

log = logging.getLogger("fakelens.jobs")

MAX_ATTEMPTS = 2
PRIORITIES = ("high", "low")   # a request's "priority": low ones (automatic checks, page scans) wait
                               # until no high one (what the user asked for there and then) is waiting
# Of max_queue: the places "low" checks may take together, and those of one page host (its page_url's), so
# that a page (a scan of its 400 pictures, a feed's automatic checks) refuses neither what the user asks
# for nor other sites' automatic checks; "high" checks may take every place
LOW_SHARE = 0.75
PAGE_SHARE = 0.5
PROGRESS_EVERY_S = 0.2   # progress rows are written at most this often
RECORD_RETRIES_S = (0.1, 0.5, 2.0, 5.0)   # pauses between tries to store a check's end (a locked or full database)
UNSTORED_RETRY_S = 2.0   # then an idle worker tries an end still not stored again this often, until it lands
UPLOAD_MISSING = ("the uploaded file is no longer in the data folder (it was removed before it could be "
                  "checked): check it again")
# a check found running at start (its end never stored) whose upload is gone: an older FakeLens removed it
# when the data folder would not take the check's end, not the user's file's fault
INTERRUPTED_UPLOAD_GONE = ("FakeLens stopped before this check's result could be stored (the data folder was "
                           "full or its database locked, or the server stopped), and the uploaded file is no "
                           "longer in the data folder: send it again")


def page_host(page_url: str | None) -> str:
    """The host of the page that asked for a check ("" when none is known)."""
    try:
        return urlsplit(page_url or "").hostname or ""
    except ValueError:
        return ""


def _upload_gone(request: dict) -> bool:
    """Whether the file a check of an upload was to read is gone."""
    return bool(request.get("path")) and not Path(request["path"]).is_file()


class DataFolderInUse(Exception):
    """Another running server holds this data folder's job pool."""


class JobPool:
    def __init__(self, settings, store: Store, analyzer):
        self.settings = settings
        self.store = store
        self.analyzer = analyzer
        self.uploads = Path(settings.home) / "uploads"
        make_data_folder(self.uploads)   # new subfolders are the user's only, as the data folder
        self.work = Path(settings.home) / "work"   # each running check's downloads, one folder each
        self._lock_file = None
        self._pruned_at = None   # time.monotonic() of the last prune
        self._prune_lock = threading.Lock()
        self._queue: queue.PriorityQueue = queue.PriorityQueue()   # (rank, order, check id)
        self._order = itertools.count()   # first in, first out within a rank
        self._rank: dict[str, int] = {}   # queued (and parked) checks' ranks, 0 = high
        # check id -> the order of its entry in the queue now; an entry a priority change replaced is
        # skipped when a worker takes it (a PriorityQueue cannot move an entry)
        self._ticket: dict[str, int] = {}
        self._ticket_lock = threading.Lock()
        # Low checks take turns by page host (fair queueing): each host's next low check gets the round
        # after its last one, never one before the round a worker last took, so a page that queued 100
        # does not make another site's automatic check wait behind all of them
        self._host: dict[str, str] = {}       # queued (and parked) checks' page hosts
        self._host_round: dict[str, int] = {}   # host -> the round its next low check gets
        self._round = 0                         # the round of the last low check a worker took
        self._cancel: dict[str, threading.Event] = {}
        self._running: set[str] = set()   # checks a worker is on now
        self._forget_when_done: set[str] = set()   # running checks a "clear history" cancelled
        self._unstored: dict[str, tuple] = {}   # check id -> (write, args, kwargs, request): ends not stored yet
        self._unstored_lock = threading.Lock()
        self._submitting = threading.Lock()
        self._analysing: set[str] = set()   # _same_media() keys a worker is analysing now
        self._parked: dict[str, list[str]] = {}   # key -> checks for the same media, back in line after it
        self._analysing_lock = threading.Lock()
        self._finished = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # --- life ------------------------------------------------------------------
    def start(self):
        self._lock_data_folder()
        self._recover()
        for n in range(self.settings.workers):
            thread = threading.Thread(target=self._work, name=f"fakelens-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0):
        """Running checks stop at their next step and go back in the queue for the next start."""
        self._stopping.set()
        for _ in self._threads:
            self._queue.put((-1, 0, next(self._order), None))   # ahead of every check
        for thread in self._threads:
            thread.join(timeout)
        # a last try; an end still not stored leaves its check "running", with its upload: the next start
        # runs it again
        self._store_unstored()
        # A worker still blocked (a silent server, a long decode) dies with the process: its check goes
        # back as it was too, not counted as a crash at the next start.
        for check_id in list(self._running):
            if self._cancel.get(check_id, threading.Event()).is_set():   # the user cancelled it: it stays so
                self.store.fail(check_id, "cancelled", {"code": "cancelled", "message": "the check was cancelled"})
            else:
                self.store.requeue(check_id, count_attempt=False)
        if self._lock_file:
            self._lock_file.close()   # releases the lock
            self._lock_file = None

    def _lock_data_folder(self):
        lock = open(Path(self.settings.home) / "jobs.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DataFolderInUse(f"another FakeLens server is using the data folder {self.settings.home}; "
                                  "stop it first (or give this one another --home)") from None
        self._lock_file = lock

    def _recover(self):
        for check in self.store.with_status("running"):
            if _upload_gone(check["request"]):   # its end was never stored, and its file went all the same
                self.store.fail(check["id"], "failed", {"code": "interrupted", "message": INTERRUPTED_UPLOAD_GONE})
            elif check["attempts"] >= MAX_ATTEMPTS:
                self.store.fail(check["id"], "failed", {
                    "code": "interrupted",
                    "message": f"the server stopped {check['attempts']} times while checking this (or before the data "
                               f"folder took its result); given up"})
            else:
                self.store.requeue(check["id"])
        waiting = self.store.with_status("queued")
        for check in waiting:
            self._enqueue(check["id"], check["request"].get("priority"), page_host(check["request"].get("page_url")))
        self._remove_orphan_uploads({Path(check["request"]["path"]).name for check in waiting
                                     if check["request"].get("path")})
        # no check runs yet: what is there, a dead server left (only the folders FakeLens makes, so a
        # --home given an existing folder with its own work/ loses nothing)
        for left in self.work.glob("check-*"):
            shutil.rmtree(left, ignore_errors=True)
        spool.remove_leftovers(self.settings.home)   # request bodies being received (spool.py)
        self._prune()

    def _prune(self):
        """Forget history older than keep_days, at most once an hour (at start, after checks, and by each
        idle worker once an hour)."""
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < retention.PRUNE_EVERY_S:
            return
        if not self._prune_lock.acquire(blocking=False):
            return   # another worker is at it
        try:
            self._pruned_at = time.monotonic()
            deleted = retention.prune(self.store, self.settings.thumbs_dir, self.settings.keep_days)
            if deleted:
                log.info("forgot %d checks older than %g days", deleted, self.settings.keep_days)
            if self.settings.keep_days > 0:
                # the rows forgotten would stay readable in fakelens.db until a checkpoint: after every prune,
                # not only one that forgot checks (a check's cached result, made after it, goes an hour later)
                try:
                    self.store.scrub()
                except StoreUnavailable as exc:
                    log.warning("%s", exc.message)
        except Exception:   # pruning must never stop the checks
            log.exception("pruning the history failed")
        finally:
            self._prune_lock.release()

    def _remove_orphan_uploads(self, kept: set):
        """A server killed between finishing a check and removing its file leaves the file behind;
        at start no request is in flight, so a file no waiting check names is an orphan (this also
        clears the files of checks just failed above). Compared by name: every upload lies in this
        folder, and a data folder given once relative, once absolute spells its paths two ways."""
        for path in self.uploads.glob("*.upload"):
            if path.name not in kept:
                log.info("removing %s: no waiting check uses it", path.name)
                path.unlink(missing_ok=True)

    # --- requests ----------------------------------------------------------------
    def save_upload(self, stream, max_bytes: int) -> Path:
        """Copy an uploaded file into the data folder (it must outlive a restart), capped at max_bytes."""
        try:
            make_data_folder(self.uploads)
            fd, name = tempfile.mkstemp(dir=self.uploads, suffix=".upload")
        except OSError as exc:
            raise self._storage_error(exc) from None
        path = Path(name)
        total = 0
        try:
            with open(fd, "wb") as out:
                while block := stream.read(1 << 20):
                    total += len(block)
                    if total > max_bytes:
                        raise FakeLensError("too_large", f"the upload is larger than the "
                                            f"{mb(max_bytes)} limit")
                    out.write(block)
        except BaseException as exc:
            path.unlink(missing_ok=True)
            if isinstance(exc, OSError):   # disk full, read-only: the data folder's problem, not the upload's
                raise self._storage_error(exc) from None
            raise
        return path

    def _storage_error(self, exc: OSError) -> FakeLensError:
        return storage_unavailable(self.settings.home, exc)

    def submit(self, request: dict) -> str:
        # counted and added as one step (concurrent requests overshot the limit), waiting REQUEST_TURN_S at
        # most for the turn and REQUEST_WAIT_S for the file: with another program holding the database, the
        # POSTs are answered 503 within a few seconds, not each 5 s after all those before it (the server's
        # threads all taken, health too)
        if not self._submitting.acquire(timeout=REQUEST_TURN_S):
            raise self.store.busy()
        try:
            full = self._no_room(request)
            if full:
                self.discard_upload(request)
                raise FakeLensError("queue_full", full)
            check_id = self.store.create(request, wait_s=REQUEST_WAIT_S)
        finally:
            self._submitting.release()
        self._enqueue(check_id, request.get("priority"), page_host(request.get("page_url")))
        return check_id

    def _no_room(self, request: dict) -> str | None:
        """Why the queue takes no more of `request`'s kind (None: it does): max_queue checks wait, or its
        priority's share (LOW_SHARE) or its page host's (PAGE_SHARE) is taken."""
        waiting = self.store.queued_pages()
        n = self.settings.max_queue
        if len(waiting) >= n:
            return f"{n} {'check is' if n == 1 else 'checks are'} already waiting; try again when some have finished"
        if request.get("priority") != "low":   # what the user asks for (a request saying none is high)
            return None
        low = [page for priority, page in waiting if priority == "low"]
        share = max(1, int(n * LOW_SHARE))
        if len(low) >= share:
            return (f"{len(low)} automatic and page-scan checks are already waiting, the most that may wait ("
                    f"{share} of the queue's {n} places: the others are kept for the checks you ask for); try again "
                    "when some have finished")
        host = page_host(request.get("page_url"))
        same = sum(page_host(page) == host for page in low)
        share = max(1, int(n * PAGE_SHARE))
        if same >= share:
            where = f"from pages on {host}" if host else "sent without a page"
            return (f"{same} automatic and page-scan checks {where} are already waiting, the most one site may "
                    f"have waiting ({share} of the queue's {n} places: other sites' checks still go in); try again "
                    "when some have finished")
        return None

    def _enqueue(self, check_id: str, priority: str | None = None, host: str = ""):
        self._cancel[check_id] = threading.Event()
        self._rank[check_id] = PRIORITIES.index(priority) if priority in PRIORITIES else 0
        self._host[check_id] = host
        self._put(check_id)

    def _put(self, check_id: str):
        with self._ticket_lock:
            self._put_locked(check_id)

    def _put_locked(self, check_id: str):
        order = next(self._order)
        self._ticket[check_id] = order
        rank, turn = self._rank.get(check_id, 0), 0
        if rank:   # a low check: its page host's next round
            host = self._host.get(check_id, "")
            turn = max(self._host_round.get(host, 0), self._round)
            self._host_round[host] = turn + 1
        self._queue.put((rank, turn, order, check_id))

    def _take(self, rank: int, turn: int, order: int, check_id: str) -> bool:
        """Whether a worker may run the entry it took: not one a priority change replaced."""
        with self._ticket_lock:
            if self._ticket.get(check_id) != order:
                return False
            del self._ticket[check_id]
            if rank:
                self._round = max(self._round, turn)
                # hosts with nothing left waiting past this round: forgotten (a feed visits many)
                self._host_round = {h: r for h, r in self._host_round.items() if r > self._round}
            return True

    def set_priority(self, check_id: str, priority: str) -> bool:
        """A waiting check moved to another priority (the user now waits on what an automatic check
        sent): its place is taken again in that rank, behind the checks already there. False when it is
        no longer waiting (a worker has it, or it has ended)."""
        if not self.store.set_priority(check_id, priority, wait_s=REQUEST_WAIT_S):
            return False
        with self._ticket_lock:
            if check_id not in self._rank or self._rank[check_id] == PRIORITIES.index(priority):
                return True
            self._rank[check_id] = PRIORITIES.index(priority)   # a parked check goes back with its new rank
            if check_id in self._ticket:   # in the queue, not taken by a worker yet
                self._put_locked(check_id)
        return True

    def cancel(self, check_id: str) -> dict:
        check = self.store.get(check_id)
        if check is not None and check["status"] in ("queued", "running"):
            # the worker is told (the event) only once the cancel is stored: a write the database refuses
            # answers 503 and the check goes on as if never cancelled, not cancelled after all
            if check["status"] == "queued" and self.store.cancel_queued(
                    check_id, {"code": "cancelled", "message": "cancelled before it started"}, wait_s=REQUEST_WAIT_S):
                self._stop_worker(check_id)
                self.discard_upload(check["request"])   # no worker has it
            else:
                # running (or started just now): ended in the database at once, so a server stopped before
                # its worker notices does not run it again at the next start; the worker, seeing the event,
                # stores nothing more and removes its files. One no worker is on (its end could not be
                # stored) has its upload removed here (the worker adds itself to _running before it starts)
                self.store.fail(check_id, "cancelled", {"code": "cancelled", "message": "the check was cancelled"},
                                wait_s=REQUEST_WAIT_S)
                self._stop_worker(check_id)
                if check_id not in self._running:
                    self.discard_upload(check["request"])
            self._notify()
            check = self.store.get(check_id)
        if check is None:   # never there, or the history was cleared meanwhile
            raise FakeLensError("not_found", f"no check with id '{check_id}'")
        return check

    def _stop_worker(self, check_id: str):
        event = self._cancel.get(check_id)
        if event:
            event.set()

    def cancel_all(self) -> set[str]:
        """Cancel every waiting and running check ("clear history": nothing checked so far stays): each
        ends at once (the caller's forget() then deletes it), and each check a worker is on (whatever its
        row says: one cancelled earlier is still running) is deleted again, with what it wrote since
        (its pictures, a result it cached), once the worker has stopped. Returns the ids cancelled."""
        cancelled, on_before = set(), set(self._running)
        for check in self.store.with_status("queued", "running"):
            try:
                self.cancel(check["id"])
                cancelled.add(check["id"])
            except FakeLensError:   # it finished and was cleared meanwhile
                pass
        # after the cancels: one a worker took meanwhile too; not one made after the clear began
        for check_id in (on_before | cancelled) & set(self._running):
            self._forget_when_done.add(check_id)
            if check_id not in self._running:   # its worker left meanwhile: the caller's forget() takes it
                self._forget_when_done.discard(check_id)
        return cancelled

    def wait(self, check_id: str, timeout: float) -> dict:
        """The check once it has finished, or as it stands after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = None
        with self._finished:
            while True:
                check = self.store.get(check_id)
                if check is None:   # finished, then cleared from the history meanwhile: the last we saw
                    if last is None:
                        raise FakeLensError("not_found", f"no check with id '{check_id}'")
                    return last
                left = deadline - time.monotonic()
                if check["status"] not in ("queued", "running") or left <= 0:
                    return check
                last = check
                self._finished.wait(min(left, 0.5))

    def _notify(self):
        with self._finished:
            self._finished.notify_all()

    # --- the cache -------------------------------------------------------------
    def cache_scope(self, request: dict) -> str:
        """The cache's key beside the media: the models' fingerprint and the host of the page that asked.
        A page times how fast its badge turns: a verdict answered at once from the cache would tell it
        that its visitor checked the same picture on another site (automatic checks are most of them)."""
        site = page_host(request.get("page_url"))
        return f"{self.analyzer.fingerprint}|{site}" if site else self.analyzer.fingerprint

    def from_cache(self, request: dict) -> dict | None:
        """A stored verdict on the same bytes (an upload) or address, told as this request's; None when
        there is none or the cache is off."""
        if not self.settings.cache:
            return None
        fingerprint = self.cache_scope(request)
        if request.get("sha256"):
            result = self.store.cached_by_hash(request["sha256"], fingerprint)
        elif request.get("url"):
            result = self.store.cached_by_url(request["url"], fingerprint, self.settings.cache_ttl_s)
        else:
            return None
        if result is None:
            return None
        # the same bytes may come from another address: the result names where this check's came from
        # (and the file's own address only where this check asked for the same one)
        media = {**result["media"], "source_url": request.get("source_url") or request.get("url")}
        summary = result["summary"]
        if media.get("media_url") and result["media"].get("source_url") != media["source_url"]:
            del media["media_url"]
            if media.pop("page_videos", None):   # the page's other videos are not this request's
                summary = summary.replace(page_videos_note(result["media"]["page_videos"],
                                                           result["media"]["media_url"]), "")
        return {**result, "media": media, "summary": summary}

    def _same_media(self, request: dict) -> str | None:
        """What two checks share when one can take the other's verdict from the cache."""
        if not self.settings.cache:
            return None
        media = f"sha256:{request['sha256']}" if request.get("sha256") else \
            f"url:{request['url']}" if request.get("url") else None
        return media and f"{media} {self.cache_scope(request)}"

    def _claim(self, check_id: str):
        """The check's _same_media() key, now claimed for it (None: nothing to share), or False when
        another worker is analysing the same media (a page asking for one picture twice at once): the
        check is parked, still queued, and goes back in line once that analysis ends, to take its
        verdict from the cache instead of doing it all again. A parked check holds no worker."""
        try:
            check = self.store.get(check_id)
        except StoreUnavailable:
            return None   # _run waits the database out and says so
        key = self._same_media(check["request"]) if check and check["status"] == "queued" else None
        if key is None:
            return None
        with self._analysing_lock:
            if key in self._analysing:
                self._parked.setdefault(key, []).append(check_id)
                return False
            self._analysing.add(key)
        return key

    def _unclaim(self, key: str | None):
        if not key:
            return
        with self._analysing_lock:
            self._analysing.discard(key)
            waiting = self._parked.pop(key, [])
        for check_id in waiting:   # their cancel events and ranks stay: cancel() still finds them
            self._put(check_id)

    # --- work ------------------------------------------------------------------
    def _work(self):
        while not self._stopping.is_set():
            self._store_unstored()
            try:   # an idle server forgets old history too, not only one that keeps checking
                rank, turn, order, check_id = self._queue.get(
                    timeout=UNSTORED_RETRY_S if self._unstored else retention.PRUNE_EVERY_S)
            except queue.Empty:
                self._prune()
                continue
            if check_id is None:
                return
            if not self._take(rank, turn, order, check_id):
                continue
            claimed = self._claim(check_id)
            if claimed is False:   # parked behind the same media's analysis
                continue
            again = False
            try:
                again = self._run(check_id)
            except Exception:   # never let one check kill the worker
                log.exception("check %s crashed the worker loop", check_id)
            finally:
                self._unclaim(claimed)
                self._cancel.pop(check_id, None)
                self._notify()
            rank, host = self._rank.pop(check_id, 0), self._host.pop(check_id, "")
            if again:   # back in line after its cancel event went above, or cancel() would not find it
                self._enqueue(check_id, PRIORITIES[rank], host)
            self._prune()

    def _run(self, check_id: str) -> bool:
        """Run one check; True when it could not start (a locked database) and must go back in line."""
        # in _running before the row says "running": cancel() takes a running check that is not in
        # _running for one no worker is on
        self._running.add(check_id)
        started = False
        try:   # the request read before the check starts: a clear may delete the row right after
            request = (self.store.get(check_id) or {}).get("request") or {}
        except StoreUnavailable:
            request = {}
        try:
            # a locked database is waited out as for a check's end (False: cancelled while queued)
            started = self._record(self.store.start, check_id)
        finally:
            if not started:
                self._running.discard(check_id)
                self._forget_when_done.discard(check_id)
        if started is None and not self._stopping.is_set():
            # the row still says "queued": back in line, or it would wait for the next start
            log.warning("could not start check %s (the database is unavailable); it stays queued", check_id)
            return True
        if not started:
            return False
        event = self._cancel.setdefault(check_id, threading.Event())
        workdir, result = None, None
        last = [0.0]

        def progress(stage: str, fraction: float):
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                try:
                    self.store.progress(check_id, stage, fraction)
                except StoreUnavailable:   # progress is a courtesy: a locked database must not end the check
                    log.warning("could not store the progress of check %s", check_id)

        put_back, pictures = False, []
        try:   # from here on every way out stores the check's end (else it would stay "running")
            request = self.store.get(check_id)["request"]
            cached = self.from_cache(request)   # another worker may have just checked the same media
            if cached is not None:
                self._end(self.store.finish, check_id, cached, request, cached=True)
                return False
            if _upload_gone(request):   # removed while it waited (a cleaner, an older fakelens.db put back)
                raise FakeLensError("upload_missing", UPLOAD_MISSING)
            # work/ (this check's folder goes there) and its spool (`fakelens serve`'s tempfile folder: a decode uses it)
            spool.make_spool_folder(self.settings.home)
            workdir = Path(tempfile.mkdtemp(prefix="check-", dir=self.work))
            result = self.analyzer.analyze(request, workdir, progress,
                                           lambda: event.is_set() or self._stopping.is_set(),
                                           lambda path: pictures.append((path, path.stat().st_mtime_ns)))
            def cache_it():
                # a result the user cancelled (or cleared) is not cached, nor any with the cache off (a cancel
                # is stored before its event is set: finish() then says the check was no longer running)
                if not event.is_set() and self.settings.cache:
                    # a video cut off is kept by its bytes only: the address may give all of it next time
                    url = None if result["media"].get("declared_duration") else request.get("url")
                    self.store.remember(result, self.cache_scope(request), url)

            # a locked database must not lose the result; one stored later is cached then
            if self._end(self.store.finish, check_id, result, request, then=cache_it):
                cache_it()
        except FakeLensError as exc:
            if exc.code == "cancelled" and not event.is_set():
                put_back = True   # the server is stopping, nobody cancelled it: run it at the next start
                self._record(self.store.requeue, check_id, count_attempt=False)
            elif event.is_set():   # cancelled, whatever ended it (a silent server's timeout, say)
                self._end(self.store.fail, check_id, "cancelled",
                          {"code": "cancelled", "message": "the check was cancelled"}, request)
            else:
                self._end(self.store.fail, check_id, "failed", exc.to_dict(), request)
        except Exception as exc:
            if event.is_set():   # cancelled as it started (its upload removed under it): not a bug
                error = {"code": "cancelled", "message": "the check was cancelled"}
            elif isinstance(exc, OSError) and exc.errno in FULL_DISK:   # a download filled the disk
                error = storage_unavailable(self.settings.home, exc, "the media being checked").to_dict()
            elif isinstance(exc, FileNotFoundError) and _upload_gone(request):   # removed as it was read
                error = {"code": "upload_missing", "message": UPLOAD_MISSING}
            else:
                log.exception("check %s failed unexpectedly", check_id)
                error = {"code": "internal", "message": f"FakeLens hit an internal error: {exc.__class__.__name__}"}
            self._end(self.store.fail, check_id, "cancelled" if event.is_set() else "failed", error, request)
        finally:
            if check_id in self._forget_when_done:   # cleared from the history while it ran
                self._forget_when_done.discard(check_id)
                self._record(self.store.delete, check_id)
                retention.drop_pictures(self.store, pictures)
                # a result cached between the cancel and the clear's own forget()
                self._record(self.store.drop_cached, (result or {}).get("media", {}).get("sha256"),
                             request.get("url"))
                try:
                    self.store.scrub()
                except StoreUnavailable:   # the rows are gone; the log keeps them until the next checkpoint
                    log.warning("could not checkpoint the history after clearing check %s", check_id)
            self._running.discard(check_id)
            if workdir:
                shutil.rmtree(workdir, ignore_errors=True)
            # a worker stop() gave up waiting for has had its check put back in the queue: its upload
            # must stay for the next start (which removes those no waiting check names); so must the
            # upload of a check whose end is not stored yet (_end)
            if not put_back and not self._stopping.is_set() and check_id not in self._unstored:
                self.discard_upload(request)
        return False

    def _record(self, write, *args, **kwargs):
        """Store a check's start or end, trying again a few times when the database is locked or the disk
        full; None when given up (a start given up leaves the check queued; an end given up, _end keeps
        and tries again until it lands)."""
        for pause in (*RECORD_RETRIES_S, None):
            try:
                return write(*args, **kwargs)
            except StoreUnavailable:   # the disk or the database, not a bug: those go on up
                if pause is None or self._stopping.is_set():
                    log.exception("could not store check %s (%s); given up", args[0], write.__name__)
                    return
                log.warning("could not store check %s (%s); trying again in %g s", args[0], write.__name__, pause)
                time.sleep(pause)

    def _end(self, write, check_id: str, *args, **kwargs) -> bool:
        """Store a check's end (finish or fail: args, then the check's request); whether it ended the check.
        An end the database will not take even after _record's tries (a disk full for minutes) is not
        thrown away: it is kept in _unstored and the workers try it again every UNSTORED_RETRY_S
        (_store_unstored) until it lands, the check's upload kept until then. Meanwhile the check's row says
        "running" (its end is not stored: the one design that needs nothing written), a cancel that can be
        stored ends it, and a server stopped before the end lands re-queues the check at the next start,
        which runs it again from its upload."""
        *args, request = args
        then = kwargs.pop("then", None)   # what follows an end stored later (caching its result)
        stored = self._record(write, check_id, *args, **kwargs)
        if stored is None:
            log.warning("keeping the end of check %s to store it once the data folder takes it", check_id)
            self._unstored[check_id] = (write, args, kwargs, request, then)
            return False
        return stored

    def _store_unstored(self):
        """Try once more to store each end _end kept (one worker at a time); each that lands lets its upload go."""
        if not self._unstored or not self._unstored_lock.acquire(blocking=False):
            return
        try:
            for check_id, (write, args, kwargs, request, then) in list(self._unstored.items()):
                try:
                    if write(check_id, *args, **kwargs) and then:
                        then()
                    log.info("stored the end of check %s", check_id)
                except StoreUnavailable:
                    return   # still full or locked: the next round
                except Exception:   # a bug: logged, not tried for ever
                    log.exception("could not store the end of check %s", check_id)
                del self._unstored[check_id]
                self.discard_upload(request)
                self._notify()
        finally:
            self._unstored_lock.release()

    def discard_upload(self, request: dict):
        """Remove a check's uploaded file (only ever one inside the uploads folder, however the folder
        was spelled when the check was made: a file the user named elsewhere is never touched)."""
        path = request.get("path")
        if path and Path(path).suffix == ".upload" and Path(path).parent.resolve() == self.uploads.resolve():
            Path(path).unlink(missing_ok=True)
