"""What the data folder keeps: finished checks, cached results and report pictures are forgotten
after settings.keep_days (and all at once by DELETE /api/v1/checks). Checks still waiting or
running, and the pictures they have written, always stay."""

import re
import time
from pathlib import Path

from .store import Store

PRUNE_EVERY_S = 3600.0
SHA256_NAME = re.compile(r"[0-9a-f]{64}")


def forget(store: Store, thumbs: Path, before: float) -> int:
    """Forget what was made before `before` (time.time()); returns how many checks went."""
    deleted = store.forget(before)
    # a check running (or started) from here on may have written its picture: newer ones stay
    newer_stay = store.oldest_active() or time.time()
    kept = store.media_hashes()
    for thumb in Path(thumbs).glob("*.jpg"):
        if not SHA256_NAME.fullmatch(thumb.stem):
            continue   # not a picture FakeLens made (its names are the media's sha256)
        try:
            if thumb.stem not in kept and thumb.stat().st_mtime < newer_stay:
                thumb.unlink()
        except FileNotFoundError:
            pass
    return deleted


def prune(store: Store, thumbs: Path, keep_days: float) -> int:
    """Forget what is older than keep_days (0 or less: keep everything)."""
    if keep_days <= 0:
        return 0
    return forget(store, thumbs, time.time() - keep_days * 86400)
