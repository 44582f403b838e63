"""Work that may run away (yt-dlp reading a page, FFmpeg opening a video) in a process of its own, which
FakeLens can stop: killed, with its whole process group, at the time limit or on cancel, its address
space capped. Used by fetch/isolated.py and media/isolated.py.

A fresh interpreter (`python -m fakelens.<module>`), not multiprocessing: a fork would copy the
server's threads' locks, and multiprocessing's spawn runs the caller's main script again.

The parent pickles the child's arguments to its stdin; the child answers on its stdout with one JSON
line a message: ["progress", fraction], ["done", ...], ["error", code, message], and ["data", meta,
n] followed by n raw bytes (a video's frames: straight from the child's arrays into the parent's, no
pickling, no file).
"""

import contextlib
import json
import os
import pickle
import selectors
import signal
import subprocess
import sys
import threading
import time
import traceback

from .errors import FakeLensError

PROGRESS_EVERY_S = 0.1
# Held while the process's stderr (fd 2) is swapped for a file that reads a C library's messages
# (media/image.py) and while a child is started: a child started meanwhile kept that file as its stderr,
# and what it wrote after the swap ended (FFmpeg's messages, a traceback) was lost with the file.
STDERR_SWAPPED = threading.Lock()


@contextlib.contextmanager
def child_process(module: str, arguments):
    """`python -m module` started with `arguments` (pickled to its stdin), in a process group of its
    own, and killed (the whole group) when the block ends, however it ends."""
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}   # glibc's 64 MB per thread would count against the cap
    # -P: `-m` would put the working folder first on sys.path, where a user's random.py or json.py would
    # stand in for the library's (the parent, started as the `fakelens` script, does not look there); this
    # fakelens is found where the parent found it, installed or not
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    with STDERR_SWAPPED:   # the server's own stderr, not a decoder's capture of it
        child = subprocess.Popen([sys.executable, "-P", "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 start_new_session=True, env=env)   # its own group: killed whole
    try:
        child.stdin.write(pickle.dumps(arguments))
        child.stdin.close()
        yield child
    finally:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                child.kill()
            child.wait(5)
        child.stdout.close()


def messages(child, kill_at: float | None, cancelled, timed_out, max_data: int = 0):
    """The child's messages as they come, until it closes its end. FakeLensError "cancelled" when
    `cancelled()`, and timed_out() (a FakeLensError) past `kill_at` (time.monotonic(): a clock every
    process on this computer shares); the caller's `with child_process` then kills it. A "data"
    message comes with its bytes: ["data", meta, bytearray], refused over `max_data` bytes."""
    fd = child.stdout.fileno()
    buffer, pending, got = b"", None, 0   # pending: a "data" message whose bytes are still coming
    with selectors.DefaultSelector() as sel:
        sel.register(child.stdout, selectors.EVENT_READ)
        while True:
            if cancelled():
                raise FakeLensError("cancelled", "the check was cancelled")
            if kill_at is not None and time.monotonic() > kill_at:
                raise timed_out()
            if not sel.select(0.1):
                continue
            if pending is not None:   # raw bytes, read straight into their buffer
                n = os.readv(fd, [memoryview(pending[2])[got:]])
                if not n:
                    return
                got += n
                if got == len(pending[2]):
                    yield pending
                    pending = None
                continue
            block = os.read(fd, 1 << 16)
            if not block:
                return
            buffer += block
            while pending is None and b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                message = json.loads(line)
                if message[0] != "data":
                    yield message
                    continue
                size = int(message[2])
                if not 0 <= size <= max_data:
                    raise FakeLensError("undecodable", f"the decoder sent {size:,} bytes at once")
                message[2] = bytearray(size)
                got = min(size, len(buffer))
                message[2][:got], buffer = buffer[:got], buffer[got:]
                if got == size:
                    yield message
                else:
                    pending = message


def ended(child, code: str, what: str, memory_bytes: int) -> FakeLensError:
    """Why a child that closed its end without an answer stopped: a signal (a C library that cannot
    allocate under the cap crashes rather than raise MemoryError), or an exit status."""
    try:   # it closed its end: it is ending
        child.wait(5)
    except subprocess.TimeoutExpired:
        pass
    if child.returncode is not None and child.returncode < 0:
        return FakeLensError(code, f"{what} crashed (signal {-child.returncode}), most likely out of the "
                             f"{memory_bytes >> 20} MB of memory it may use")
    return FakeLensError(code, f"{what} stopped unexpectedly (exit status {child.returncode})")


def limit(memory_bytes: int, cpu_s: float) -> None:
    """This process's memory and CPU time: a server killed outright cannot kill it, so the kernel does,
    past `cpu_s` CPU seconds (+10 s: a regular expression spinning, or FFmpeg, holds the interpreter,
    and no thread of ours could act). Where the system has no such limits, the parent's time limit
    still holds."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        cpu = int(cpu_s) + 10
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    except (ImportError, ValueError, OSError):
        pass


def child_main(work, out_of_memory: str, failed_code: str, what: str) -> None:
    """The child's side: work(arguments, send, send_data, progress) returns the "done" message's
    content; a FakeLensError, a MemoryError (`out_of_memory`: the too_large message) and a bug (its
    traceback on stderr, the server's log; `failed_code` and plain words to the user) become "error"."""
    # messages go out on the real stdout alone; anything a library prints goes to stderr
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)

    def send(*message):
        out.write(json.dumps(message).encode() + b"\n")

    def send_data(meta, data):
        view = memoryview(data).cast("B")
        send("data", meta, view.nbytes)
        out.write(view)   # (a raw file writes it all, or raises)

    sent = [0.0]

    def progress(fraction: float):
        now = time.monotonic()
        if now - sent[0] >= PROGRESS_EVERY_S or fraction >= 1:
            sent[0] = now
            send("progress", fraction)

    # Out of memory, the handler needs some to say so: this reserve is let go first. The message goes
    # after the except blocks, whose tracebacks hold the frames (and the memory) that ran out.
    reserve = bytearray(16 << 20)
    try:
        outcome = ("done", work(pickle.loads(sys.stdin.buffer.read()), send, send_data, progress))
    except FakeLensError as e:
        outcome = ("error", e.code, e.message)
    except MemoryError:
        del reserve
        outcome = ("error", "too_large", out_of_memory)
    except BaseException as e:
        traceback.print_exc()
        outcome = ("error", failed_code, f"{what} failed ({e.__class__.__name__})")
    try:
        send(*outcome)
    except BrokenPipeError:   # the parent gave up on it
        pass
