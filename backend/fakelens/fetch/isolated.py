"""yt-dlp in a process of its own, which FakeLens can stop.

yt-dlp reads a page with every site's regular expressions, and some take quadratic time: a 100 kB
page of "<video " held a check 66 s, a 1 MB one hours, past the time limit and past cancel (both act
on sockets, and this is no socket). A 600-byte DASH manifest whose timeline names 20 million segments
made it build one dict per segment: 5.6 GB before any limit of ours could look. In a child process
both end: it is killed at the time limit or on cancel, and its memory is capped.

A fresh interpreter (`python -m fakelens.fetch.isolated`), not multiprocessing: a fork would copy the
server's threads' locks, and multiprocessing's spawn runs the caller's main script again.
"""

import json
import os
import pickle
import selectors
import signal
import subprocess
import sys
import time
import traceback

from ..errors import FakeLensError

MEMORY_BYTES = 2 << 30   # a download's address space: yt-dlp itself takes about 300 MB of it
KILL_GRACE_S = 2.0       # past the time limit, for the child's own timeout to be said first
PROGRESS_EVERY_S = 0.1


def run_download(url: str, settings, outdir, deadline: float | None, progress, cancelled) -> tuple:
    """ytdlp.Download(url).run() in a child process: (path, media URL, videos on the page).
    FakeLensError as the child raised it; the child killed, and FakeLensError "fetch_timeout" or
    "cancelled", when the time runs out (`deadline`, time.monotonic(), a clock every process on this
    computer shares) or the check is cancelled; "too_large" when it needed more memory than MEMORY_BYTES."""
    child = subprocess.Popen([sys.executable, "-m", "fakelens.fetch.isolated"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, start_new_session=True)   # its own group: killed whole
    try:
        child.stdin.write(pickle.dumps((url, settings, str(outdir), deadline)))
        child.stdin.close()
        kill_at = None if deadline is None else deadline + KILL_GRACE_S
        for message in _messages(child, kill_at, cancelled, settings):
            if message[0] == "progress":
                progress(message[1])
            elif message[0] == "done":
                return tuple(message[1])
            else:   # "error"
                raise FakeLensError(message[1], message[2])
        try:   # it closed its end: it is ending
            child.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if child.returncode is not None and child.returncode < 0:   # a signal: a C library that could not
            # allocate under the cap crashes rather than raise MemoryError (a DASH timeline of 20 million parts)
            raise FakeLensError("fetch_failed", f"the video download crashed (signal {-child.returncode}), most "
                                f"likely out of the {MEMORY_BYTES >> 20} MB of memory a download may use")
        raise FakeLensError("fetch_failed", f"the video download stopped unexpectedly (exit status {child.returncode})")
    finally:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                child.kill()
            child.wait(5)
        child.stdout.close()


def _messages(child, deadline, cancelled, settings):
    """The child's messages (one JSON line each) as they come, until it closes its end."""
    buffer = b""
    with selectors.DefaultSelector() as sel:
        sel.register(child.stdout, selectors.EVENT_READ)
        while True:
            if cancelled():
                raise FakeLensError("cancelled", "the check was cancelled")
            if deadline is not None and time.monotonic() > deadline:
                raise FakeLensError("fetch_timeout", f"the download took longer than {settings.fetch_wall_s:g} s")
            if not sel.select(0.1):
                continue
            block = os.read(child.stdout.fileno(), 1 << 16)
            if not block:
                return
            buffer += block
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield json.loads(line)


def _limit(settings):
    """This process's memory (MEMORY_BYTES) and CPU time: a server killed outright cannot kill it, so the
    kernel does, past the time limit in CPU seconds (+10 s: a regular expression spinning holds the
    interpreter, and no thread of ours could act). Where the system has no such limits, the parent's
    time limit still holds."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
        cpu = int(settings.fetch_wall_s) + 10
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    except (ImportError, ValueError, OSError):
        pass


def _child():
    # messages go out on the real stdout alone; anything a library prints goes to stderr
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def send(*message):
        out.write(json.dumps(message) + "\n")

    sent = [0.0]

    def progress(fraction: float):
        now = time.monotonic()
        if now - sent[0] >= PROGRESS_EVERY_S or fraction >= 1:
            sent[0] = now
            send("progress", fraction)

    # Out of memory, the handler needs some to say so: this reserve is let go first. The message goes
    # after the except blocks, whose tracebacks hold the frames (and the memory) that ran out.
    reserve = bytearray(16 << 20)
    out_of_memory = ("error", "too_large", f"the page or its stream list needs more than the "
                                           f"{MEMORY_BYTES >> 20} MB of memory a video download may use")
    try:
        from pathlib import Path

        from .netguard import guarded
        from .ytdlp import Download

        url, settings, outdir, deadline = pickle.loads(sys.stdin.buffer.read())
        _limit(settings)
        with guarded(settings, deadline) as guard:
            download = Download(url, settings, guard, Path(outdir), progress, lambda: False)
            path, media_url = download.run()
        outcome = ("done", [str(path), media_url, download.page_videos])
    except FakeLensError as e:
        outcome = ("error", e.code, e.message)
    except MemoryError:
        del reserve
        outcome = out_of_memory
    except BaseException as e:   # a bug: its traceback on stderr (the server's log), plain words to the user
        traceback.print_exc()
        outcome = ("error", "fetch_failed", f"the video download failed ({e.__class__.__name__})")
    send(*outcome)


if __name__ == "__main__":
    _child()
