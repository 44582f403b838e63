"""What the data folder keeps: finished checks, cached results and report pictures are forgotten
after settings.keep_days (and all at once by DELETE /api/v1/checks). Checks still waiting or
running, and the pictures they have written, always stay."""

import re
import time
from pathlib import Path

from .store import Store

PRUNE_EVERY_S = 3600.0
PICTURE_NAME = re.compile(r"([0-9a-f]{64})(-\d+)?")   # analyze.thumbnail_name, or the older "<sha256>"


def forget(store: Store, thumbs: Path, before: float, clearing: bool = False) -> list[str]:
    """Forget what was made before `before` (time.time()); returns the ids of the checks that went. Pictures go
    with them, except those a remaining check shows, and those written since the oldest check still
    running began (it may be that check's); `clearing` the whole history, every active check has just
    been cancelled, so only pictures written since `before` stay (their check's end removes them)."""
    deleted = store.forget(before)
    newer_stay = before if clearing else (store.oldest_active() or time.time())
    kept = store.media_hashes()
    for thumb in Path(thumbs).glob("*.jpg"):
        name = PICTURE_NAME.fullmatch(thumb.stem)
        if name is None:
            continue   # not a picture FakeLens made (its names start with the media's sha256)
        try:
            if name.group(1) not in kept and thumb.stat().st_mtime < newer_stay:
                thumb.unlink()
        except FileNotFoundError:
            pass
    return deleted


def drop_pictures(store: Store, written: list[tuple[Path, int]]):
    """The pictures a check cleared while it ran wrote ((path, mtime_ns) as written), unless a
    remaining check shows the same medium or another check has written the file again since."""
    kept = store.media_hashes() if written else set()
    for path, mtime_ns in written:
        try:
            if path.stem[:64] not in kept and path.stat().st_mtime_ns == mtime_ns:
                path.unlink()
        except FileNotFoundError:
            pass


def prune(store: Store, thumbs: Path, keep_days: float) -> int:
    """Forget what is older than keep_days (0 or less: keep everything)."""
    if keep_days <= 0:
        return 0
    return len(forget(store, thumbs, time.time() - keep_days * 86400))
