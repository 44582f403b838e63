"""The data folder forgets old history: finished checks, cached results and report pictures older
than keep_days go (at start, then hourly); checks still waiting and their pictures stay."""

import os
import time

from fakelens.config import Settings
from fakelens.jobs import JobPool
from fakelens.retention import prune
from fakelens.store import Store

DAY = 86400
MODELS = "models-v1"


def done_check(store: Store, sha: str, url: str, age_days: float) -> str:
    media = {"sha256": sha}
    check_id = store.create({"url": url}, status="done", result={"media": media}, media=media)
    store.remember({"media": media}, MODELS, url)
    then = time.time() - age_days * DAY
    store._run("UPDATE checks SET created=? WHERE id=?", (then, check_id))
    store._run("UPDATE cache_hash SET created=? WHERE sha256=?", (then, sha))
    store._run("UPDATE cache_url SET created=? WHERE url=?", (then, url))
    return check_id


def picture(folder, sha: str, age_days: float):
    path = folder / f"{sha}.jpg"
    path.write_bytes(b"jpeg")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def test_old_history_is_forgotten_recent_and_waiting_stay(tmp_path):
    home = tmp_path / "home"
    store = Store(home / "fakelens.db")
    thumbs = home / "thumbs"
    thumbs.mkdir(parents=True)
    old_sha, new_sha = "a" * 64, "b" * 64
    old = done_check(store, old_sha, "https://example.org/old.jpg", age_days=40)
    new = done_check(store, new_sha, "https://example.org/new.jpg", age_days=2)
    waiting = store.create({"url": "https://example.org/next.jpg"})
    old_pic, new_pic = picture(thumbs, old_sha, 40), picture(thumbs, new_sha, 2)
    stray = picture(thumbs, "c" * 64, 40)       # a failed check's picture: no check names it
    just_written = picture(thumbs, "d" * 64, 0)  # the waiting check's, or one being written now
    holiday = picture(thumbs, "holiday", 400)    # not FakeLens's (its names are sha256): never touched

    JobPool(Settings(home=home, keep_days=30), store, analyzer=None)._recover()   # what start() does

    assert store.get(old) is None and store.get(new) and store.get(waiting)["status"] == "queued"
    assert store.cached_by_hash(old_sha, MODELS) is None and store.cached_by_hash(new_sha, MODELS)
    assert store.cached_by_url("https://example.org/old.jpg", MODELS, ttl_s=100 * DAY) is None
    assert not old_pic.exists() and not stray.exists()
    assert new_pic.exists() and just_written.exists() and holiday.exists()


def test_keep_days_zero_keeps_everything(tmp_path):
    store = Store(tmp_path / "fakelens.db")
    (tmp_path / "thumbs").mkdir()
    check = done_check(store, "a" * 64, "https://example.org/a.jpg", age_days=4000)
    pic = picture(tmp_path / "thumbs", "a" * 64, 4000)
    assert prune(store, tmp_path / "thumbs", keep_days=0) == 0
    assert store.get(check) and store.cached_by_hash("a" * 64, MODELS) and pic.exists()


def test_an_idle_server_forgets_old_history_too(tmp_path, monkeypatch):
    """Pruning ran at start and after a check: a server left running without checks kept everything
    past keep_days. An idle worker prunes once per PRUNE_EVERY_S (an hour; a tenth of a second here)."""
    from fakelens import retention

    home = tmp_path / "home"
    store = Store(home / "fakelens.db")
    (home / "thumbs").mkdir(parents=True)
    monkeypatch.setattr(retention, "PRUNE_EVERY_S", 0.1)
    pool = JobPool(Settings(home=home, keep_days=30, workers=1), store, analyzer=None)
    pool.start()
    try:
        old = done_check(store, "a" * 64, "https://example.org/old.jpg", age_days=40)   # aged after the start
        deadline = time.monotonic() + 10
        while store.get(old) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.get(old) is None
    finally:
        pool.stop()


def test_forgotten_history_is_not_left_readable_in_the_write_ahead_log(tmp_path):
    """Clearing the history checkpoints the log, but the hourly prune did not: the forgotten checks'
    addresses stayed in fakelens.db-wal until some later checkpoint, or for good after a kill."""
    home = tmp_path / "home"
    store = Store(home / "fakelens.db")
    (home / "thumbs").mkdir(parents=True)
    done_check(store, "a" * 64, "https://secret.example/old.jpg", age_days=40)
    JobPool(Settings(home=home, keep_days=30), store, analyzer=None)._recover()   # prunes, as start() does
    for name in ("fakelens.db", "fakelens.db-wal"):
        path = home / name
        assert not path.exists() or b"secret.example" not in path.read_bytes(), name


def test_a_cached_result_forgotten_after_its_check_is_not_left_readable_either(tmp_path, monkeypatch):
    """A check's cached result is made when it ends, after the check: one prune forgot the check (and
    checkpointed), the next only the cached result, and did not checkpoint: its address stayed in
    fakelens.db."""
    home = tmp_path / "home"
    store = Store(home / "fakelens.db")
    (home / "thumbs").mkdir(parents=True)
    done_check(store, "a" * 64, "https://secret.example/old.jpg", age_days=40)
    store._run("UPDATE checks SET created=?", (time.time() - 40 * DAY - 60,))   # the check a minute older
    store.scrub()   # all of it in fakelens.db, as after a long run
    pool = JobPool(Settings(home=home, keep_days=30), store, analyzer=None)
    now = time.time
    monkeypatch.setattr(time, "time", lambda: now() - 10 * DAY - 30)   # a prune between the two
    pool._prune()
    assert store._read("SELECT COUNT(*) FROM checks")[0][0] == 0
    assert store._read("SELECT COUNT(*) FROM cache_url")[0][0] == 1
    monkeypatch.setattr(time, "time", now)
    pool._pruned_at = None   # an hour on
    pool._prune()
    assert store._read("SELECT COUNT(*) FROM cache_url")[0][0] == 0
    for name in ("fakelens.db", "fakelens.db-wal"):
        path = home / name
        assert not path.exists() or b"secret.example" not in path.read_bytes(), name


def test_the_queue_is_counted_from_an_index_not_by_reading_the_whole_history(tmp_path):
    """Every check made counts the queue, under the lock that admits checks: with 100,000 checks in the
    history (months of automatic checks) a page scan's batch of 100 took 10 s, reading every row."""
    store = Store(tmp_path / "fakelens.db")
    plan = " ".join(row[3] for row in store._read("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM checks WHERE status = 'queued'"))
    assert "USING COVERING INDEX checks_status" in plan, plan
