"""yt-dlp in a process of its own, which FakeLens can stop.

yt-dlp reads a page with every site's regular expressions, and some take quadratic time: a 100 kB
page of "<video " held a check 66 s, a 1 MB one hours, past the time limit and past cancel (both act
on sockets, and this is no socket). A 600-byte DASH manifest whose timeline names 20 million segments
made it build one dict per segment: 5.6 GB before any limit of ours could look. In a child process
both end: it is killed at the time limit or on cancel, and its memory is capped.

The child process's machinery (start, messages, kill, memory cap) is isolation.py's, shared with the
video decoder's (media/isolated.py).
"""

from ..errors import FakeLensError
from ..isolation import child_main, child_process, ended, limit, messages

MEMORY_BYTES = 2 << 30   # a download's address space: yt-dlp itself takes about 300 MB of it

KILL_GRACE_S = 2.0   # past the time limit, for the child's own timeout to be said first


def run_download(url: str, settings, outdir, deadline: float | None, progress, cancelled) -> tuple:
    """ytdlp.Download(url).run() in a child process: (path, media URL, videos on the page).
    FakeLensError as the child raised it; the child killed, and FakeLensError "fetch_timeout" or
    "cancelled", when the time runs out (`deadline`, time.monotonic(), a clock every process on this
    computer shares) or the check is cancelled; "too_large" when it needed more memory than MEMORY_BYTES."""
    with child_process("fakelens.fetch.isolated", (url, settings, str(outdir), deadline)) as child:
        kill_at = None if deadline is None else deadline + KILL_GRACE_S
        timed_out = lambda: FakeLensError("fetch_timeout", f"the download took longer than {settings.fetch_wall_s:g} s")
        for message in messages(child, kill_at, cancelled, timed_out):
            if message[0] == "progress":
                progress(message[1])
            elif message[0] == "done":
                return tuple(message[1])
            else:   # "error"
                raise FakeLensError(message[1], message[2])
        raise ended(child, "fetch_failed", "the video download", MEMORY_BYTES)


def _download(arguments, send, send_data, progress):
    from pathlib import Path

    from .netguard import guarded
    from .ytdlp import Download

    url, settings, outdir, deadline = arguments
    limit(MEMORY_BYTES, settings.fetch_wall_s)
    with guarded(settings, deadline) as guard:
        download = Download(url, settings, guard, Path(outdir), progress, lambda: False)
        path, media_url = download.run()
    return [str(path), media_url, download.page_videos]


if __name__ == "__main__":
    child_main(_download, f"the page or its stream list needs more than the {MEMORY_BYTES >> 20} MB of memory "
               "a video download may use", "fetch_failed", "the video download")
