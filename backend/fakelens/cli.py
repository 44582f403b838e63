"""`fakelens serve | check | token | eval | models | train` (DESIGN.md, CLI contract)."""

import argparse
import errno
import io
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from pathlib import Path

from .config import Settings, SettingsError, load_settings
from .errors import BadSettings, FakeLensError, WrongArgument, next_step_for
from .terminal import shown


class _OutputFailed(Exception):
    """stdout could not be written (a full disk): exit 1, as check's output (README), not 2 as for a
    data folder it cannot use."""

    def __init__(self, error: OSError):
        super().__init__(error)
        self.error = error


def _out(*parts, **kwargs):
    """print() to stdout, flushed at once, its failure told apart from the data folder's (_OutputFailed)."""
    try:
        print(*parts, **kwargs, flush=True)
    except BrokenPipeError:   # the reader gone: main ends quietly
        raise
    except OSError as exc:
        raise _OutputFailed(exc) from None


def cmd_serve(args) -> int:
    import logging

    from .api import create_app
    from .api.auth import refusal, token_path
    from .jobs import DataFolderInUse
    from .provenance.trust import anchors_problem
    from .serving import CannotListen, make_server
    from .spool import spool_in_data_folder

    settings = load_settings(home=args.home, port=args.port, host=args.host)
    if settings.host not in ("127.0.0.1", "localhost"):   # the flag, FAKELENS_HOST or config.toml alike
        print("fakelens serve listens on this computer's loopback only, 127.0.0.1 and [::1] (the API must not "
              "be reachable from other machines): --host takes 127.0.0.1 or localhost", file=sys.stderr)
        return 2
    try:
        app = create_app(settings, start_jobs=False)
    except FakeLensError as exc:   # a broken model manifest, a data folder it cannot use: 2, as every start-up failure
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    pool = app.extensions["fakelens"]["pool"]
    analyzer = app.extensions["fakelens"]["analyzer"]
    # a missing or changed model file would fail every check: say so now, not as "ok" then errors
    problems = [p for p in map(analyzer.models.problem, analyzer.used_models()) if p]
    problems += [p for p in [anchors_problem(settings)] if p]   # else signers silently untrusted
    if problems:
        print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
        return 2
    # The port first, then the job pool: a second server started by mistake leaves the first's checks alone.
    # A body a little over the app's own limit still reaches it (and gets its JSON 413); a bigger one
    # waitress refuses itself, with a plain-text 413, before it buffers the body to disk.
    # 127.0.0.1 and [::1] both (serving.py): browsers try localhost's ::1 first, and another program
    # holding [::1]:PORT would receive the extension's token and media, so that stops the start too.
    # request bodies waitress buffers and form files Werkzeug spools: in the data folder, not TMPDIR
    token = app.config["TOKEN"]
    parser = spool_in_data_folder(settings.home, lambda headers, method, path: refusal(
        settings, token, headers.get("HOST", ""), headers.get("ORIGIN"), method, path, headers.get("AUTHORIZATION", "")))
    try:
        server, addresses = make_server(app, settings.port, parser_class=parser, threads=16, ident="fakelens",
                                        max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + (1 << 20))
    except CannotListen as exc:
        taken, v6 = exc.error.errno == errno.EADDRINUSE, exc.address.startswith("[")
        hint = ("Another program holds it, and would receive what the extension sends to "
                f"http://localhost:{settings.port} (the token, the media): stop that program. "
                if taken and v6 else
                "Is FakeLens already running? " if taken else
                "Ports under 1024 need administrator rights. " if exc.error.errno == errno.EACCES else "")
        print(f"cannot listen on {exc.address}: {exc.error.strerror}. {hint}"
              "(`--port N` picks another port; set the same in the extension's options)", file=sys.stderr)
        return 2
    try:
        pool.start()
    except DataFolderInUse as exc:
        server.close()
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig()
    # SIGTERM (kill, systemd, an IDE's stop button) stops like Ctrl+C: running checks go back in the queue
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"FakeLens backend on http://127.0.0.1:{settings.port}")
    if len(addresses) > 1:
        print(f"  (and on [::1]:{settings.port}, where browsers look first for http://localhost:{settings.port})")
    else:   # no IPv6 loopback here: nothing can take [::1]:PORT, and localhost can only be 127.0.0.1
        print(f"  (this computer has no IPv6 loopback: http://localhost:{settings.port} is served on 127.0.0.1 only)")
    print(f"data folder: {settings.home}")
    # the token on a line of its own: the whole line, pasted, held the label's words too
    print("pairing token (paste it into the extension's options):")
    print(app.config["TOKEN"].current())
    print(f"  (stored in {token_path(settings.home)}; `fakelens token` prints it again)", flush=True)
    try:
        server.run()
    finally:
        pool.stop()
    return 0


class _ProgressBar:
    """A video's progress on one line of the terminal (nothing when stderr is not a terminal)."""

    def __init__(self, name: str):
        self.name, self.drawn = name, False

    def __call__(self, stage: str, fraction: float):
        if not sys.stderr.isatty():
            return
        self.drawn = True   # first: Ctrl+C can land just after the write
        filled = int(fraction * 30)
        sys.stderr.write(f"\r{shown(self.name)[:40]:40} [{'#' * filled}{'.' * (30 - filled)}] {stage:7} {fraction:4.0%}")
        sys.stderr.flush()

    def end(self):
        """Ends the bar's line, so the verdict, an error or "interrupted" starts a line of its own."""
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.drawn = False


def _looks_like_url(text: str) -> bool:
    return "://" in text


def cmd_check(args) -> int:
    from .analyze import Analyzer

    if "" in args.inputs and not args.json:   # "" would be the current folder; refused as a wrong argument.
        # Not in argparse: under --json it is an input that failed, with its JSON line (_check_one)
        raise WrongArgument('argument PATH_OR_URL: must not be empty ("")')
    try:
        analyzer = Analyzer(load_settings(home=args.home))
    except (SettingsError, FakeLensError) as exc:   # a bad config.toml, a broken model manifest
        if isinstance(exc, SettingsError):
            exc = BadSettings(f"error in the settings: {exc}")
        for item in args.inputs:   # every input still gets its line (DESIGN: one per input)
            _print_check(args, item, None, exc)
        return 1
    # stopped (SIGTERM, a terminal closed), it ends as after Ctrl-C: each check's folder is removed.
    # Only a signal left at its default is taken (nohup's ignored SIGHUP stays ignored), from the main
    # thread only (where Python allows it), and given back after.
    taken = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) is signal.SIG_DFL:
                taken[number] = signal.signal(number, lambda n, frame: sys.exit(128 + n))
    try:
        return _check_each(args, analyzer)
    finally:
        for number, before in taken.items():
            signal.signal(number, before)


def _check_each(args, analyzer) -> int:
    """Each input checked and printed in turn; 1 when any failed."""
    failed = False
    for item in args.inputs:
        result, error = _check_one(args, analyzer, item)
        failed = failed or error is not None
        try:
            _print_check(args, item, result, error)
        except BrokenPipeError:   # `| head -1`, the reader gone: main ends quietly, the rest unchecked
            raise
        except OSError as exc:   # a full disk: the rest would be checked for nobody
            _stdout_to_devnull()
            print(f"error: cannot write the results: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 1 if failed else 0


def _check_one(args, analyzer, item: str):
    """(result, None) or (None, FakeLensError): only reading and analysing the input, never the output."""
    from .analyze import sniff_file

    workdir = Path(tempfile.mkdtemp(prefix="fakelens-cli-"))
    bar = _ProgressBar(item)
    try:
        if _looks_like_url(item):
            request, is_video = {"url": item, "kind": "auto"}, True
        elif not item:   # Path("") is the current folder
            raise FakeLensError("bad_request", 'the input is empty (""): name a file or an http(s) address')
        else:
            path = Path(item)
            try:   # stat itself, not exists(): that says "no such file" for a symlink loop too
                mode = path.stat().st_mode
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    raise FakeLensError("not_found", f"no such file: {item}") from None
                if exc.errno == errno.ELOOP:
                    raise FakeLensError("bad_request", f"too many levels of symbolic links: {item}") from None
                raise
            if stat.S_ISDIR(mode):
                raise FakeLensError("bad_request", f"{item} is a folder: name the files in it "
                                    "(`fakelens eval` scores whole folders)")
            if not stat.S_ISREG(mode):   # it is there: a pipe or a device, never read (it could block)
                raise FakeLensError("unsupported_media", f"not a regular file (a pipe or a device): {item}")
            request = {"path": str(path.resolve())}
            is_video = sniff_file(path)[0] == "video"
        progress = bar if (is_video and not args.json) else (lambda s, f: None)
        return analyzer.analyze(request, workdir, progress), None
    except Exception as exc:   # a bug on one input still leaves its line and checks the rest
        if isinstance(exc, OSError):   # unreadable, or gone since it was named
            exc = FakeLensError("bad_request", f"cannot read {item}: {exc.strerror or exc}")
        elif not isinstance(exc, FakeLensError):
            exc = FakeLensError("internal", f"FakeLens hit an internal error: {exc.__class__.__name__}: {exc}")
        return None, exc
    finally:
        bar.end()
        shutil.rmtree(workdir, ignore_errors=True)


def _print_check(args, item: str, result, error):
    """The input's verdict or error, flushed at once: a reader that is gone (a closed pipe, a full
    disk) is found at this input, not after checking all the others."""
    from .detectors.base import shown_score
    from .verdict import label_words

    if error is not None:
        if args.json:
            print(json.dumps({"input": item, "error": error.to_dict()}), flush=True)
        else:
            step = next_step_for(error.to_dict())   # what to do about it, after why
            print(shown(f"{item}: error: {error.message} ({error.code})") + (f"\n  {step}" if step else ""),
                  file=sys.stderr, flush=True)
    elif args.json:
        print(json.dumps({"input": item, **result}), flush=True)
    else:
        print(shown(f"{item}: {label_words(result)}") + "\n  " + shown(result["summary"]))
        for s in result["signals"]:
            # never "1.000" for a score short of 1 (as the report's tables: 0.9999 is 0.999), nor
            # rounded across its threshold; the signals that decided say so in words (a bare "*" did)
            val = "n/a" if s["score"] is None else shown_score(s["score"], s["threshold"])
            print(f"  {s['detector']:12} {val:>6}  (threshold {s['threshold']})"
                  + ("  decided the verdict" if s["decisive"] else ""))
        sys.stdout.flush()


def cmd_token(args) -> int:
    from .api.auth import ensure_token

    settings = load_settings(home=args.home)
    _out(ensure_token(settings.home, rotate=args.rotate))
    return 0


def cmd_models(args) -> int:
    from .models import ModelStore

    store = ModelStore(load_settings(home=args.home).models_dir)
    if args.json:
        # the manifest, a model whose file is missing or changed with its "problem" (a script reading the
        # JSON learns why the command failed; its entries and the specs are in the same order)
        problems = [store.problem(spec) for spec in store.specs]
        entries = [{**entry, "problem": problem} if problem else entry
                   for entry, problem in zip(store.manifest["models"], problems)]
        _out(json.dumps({**store.manifest, "models": entries}, indent=2))
        for problem in filter(None, problems):
            print(f"BROKEN: {problem}", file=sys.stderr)
        return 1 if any(problems) or not store.specs else 0
    if not store.specs:
        print(f"error: no models listed in {store.dir / 'manifest.json'}", file=sys.stderr)
        return 1
    broken = False
    for spec in store.specs:
        metrics = spec.extra.get("metrics") or {}
        shown = ", ".join(f"{k}={v}" for k, v in metrics.items() if not isinstance(v, (dict, list)))
        threshold = f"threshold={spec.threshold}" if spec.threshold is not None else ""
        _out(f"{spec.name:24} v{spec.version:6} {spec.task:14} {spec.file}  "
             + ", ".join(part for part in (threshold, shown) if part))
        problem = store.problem(spec)   # each file checked against its sha256
        if problem:
            broken = True
            print(f"  BROKEN: {problem}", file=sys.stderr)
    return 1 if broken else 0


def cmd_eval(args) -> int:
    from .evaluate import run_eval, summary_text

    for flag, value in (("--real", args.real), ("--fake", args.fake), ("--out", args.out)):
        if value == "":   # would be the current folder (`--real ""` scored it) or no results at all; here,
            # not in argparse, so that --json says it in JSON as for any folder that cannot be used
            raise WrongArgument(f'argument {flag}: must not be empty ("")')
    settings = load_settings(home=args.home)
    out = Path(args.out) if args.out else None
    summary = run_eval(Path(args.real), Path(args.fake), out, settings)   # its progress on stderr
    if args.json:   # the readable summary beside the JSON, on stderr
        print(summary_text(summary, out), file=sys.stderr, flush=True)
        _out(json.dumps(summary, indent=2))
    else:   # the command's output: `> results.txt` keeps it
        _out(summary_text(summary, out))
    if summary["interrupted"]:   # Ctrl+C: what was scored is written and summed up, then ends as main does
        print("interrupted", file=sys.stderr)
        return 130
    if summary.get("not_written"):   # the summary said which
        return 1
    return 0 if summary["auc"] is not None else 1   # nothing to judge the model by


def cmd_train(args) -> int:
    import importlib

    try:
        module = importlib.import_module(f"fakelens.train.{args.what.replace('-', '_')}")
    except ModuleNotFoundError as exc:   # torch and the rest come with the [train] extra only
        print(f"error: training needs {exc.name}, which the backend does not install: "
              "`.venv/bin/pip install -e '.[train]'` adds it", file=sys.stderr)
        return 2
    sys.argv[0] = f"fakelens train {args.what}"   # the usage line argparse prints names the command run
    return module.main(args.rest) or 0


class _Parser(argparse.ArgumentParser):
    def print_help(self, file=None):
        # argparse's own print_help drops a failed write: `--help > /dev/full` exited 0, nothing said
        file = file or sys.stdout
        if file is None:   # stdout closed (`>&-`): nowhere to say it, as argparse's own
            return
        file.write(self.format_help())
        file.flush()   # failed here, not at exit after "exited 0"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fakelens", description="Local checks for manipulated and AI-made media")
    # as README says it (argparse needs %% for %)
    parser.add_argument("--home", help="data folder (default $FAKELENS_HOME, else on Linux $XDG_DATA_HOME/fakelens, "
                        "that is ~/.local/share/fakelens unless set; macOS ~/Library/Application Support/FakeLens; "
                        "Windows %%APPDATA%%\\FakeLens)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="start the backend (production WSGI server) on 127.0.0.1 and [::1]",
                       epilog="exit 2 when it cannot start, with one line saying why")
    p.add_argument("--host", help="127.0.0.1 (the default) or localhost, the same: it listens on 127.0.0.1 and "
                                  "[::1]; nothing else is accepted")
    p.add_argument("--port", type=int, help=f"default {Settings.port}, or the port setting (config.toml, FAKELENS_PORT)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("check", help="check files or URLs in this process",
                       epilog='exit 1 when any input failed (its line has "error") or the output cannot be '
                              'written; Ctrl+C: exit 130')
    p.add_argument("--json", action="store_true", help="one JSON verdict per input (JSON Lines)")
    p.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")   # "": cmd_check
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("token", help="print the pairing token")
    p.add_argument("--rotate", action="store_true", help="make a new token (the extension must be paired again)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("models", help="list the installed models and their measured metrics",
                       epilog="exit 1 when a model file is missing or changed (sha256)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("eval", help="AUC, accuracy, FPR, ROC curve and per-file CSV on folders of real and fake media",
                       epilog="exit 1 when either class has no file scored, or when a result or the output could "
                              "not be written; exit 2 when a folder given cannot be used; "
                              "Ctrl+C: what was scored is written, exit 130")
    p.add_argument("--real", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--out", help="writes scores.csv, roc.png and summary.json here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train a model (needs the [train] extra)",
                       epilog="`fakelens train face-swap --help` lists the trainer's own options")
    p.add_argument("what", choices=["face-swap"], metavar="face-swap", help="the model to train")
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="TRAINER_OPTIONS", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_train)
    return parser


class _ClosedStdout(io.TextIOBase):
    """stdout when fd 1 was closed (`>&-`). Python makes sys.stdout None there, and print() then drops
    what it is given without a word: `check --json x >&-` exited 0, its verdicts lost, and `check x >&-`
    ended in a traceback. Each write here fails as a closed pipe's does, so every command ends as
    after `| head`: quietly, exit 1 (README)."""

    def writable(self):
        return True

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "stdout is closed")

    def fileno(self):
        return 1   # /dev/null there now (_closed_stdout): _stdout_to_devnull finds it


def _closed_stdout() -> bool:
    """Whether fd 1 was closed when the command started; if so it is pointed at /dev/null, so no file
    opened later takes it (fakelens.db, a download) to be written by a print or by ffmpeg's stdout."""
    if sys.stdout is not None:
        return False
    try:
        os.fstat(1)   # taken meanwhile by a file the start-up opened: left alone
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY)
        if fd != 1:
            os.dup2(fd, 1)
            os.close(fd)
    return True


def _stdout_to_devnull():
    """stdout pointed at nothing, so Python's flush of what is left at exit fails quietly (a closed
    pipe, a full disk)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _data_folder(args) -> Path | None:
    """The data folder the command used: --home, else the settings' ($FAKELENS_HOME, config, the default)."""
    try:
        return Path(os.path.abspath(args.home or load_settings().home))
    except Exception:   # a bad setting: the OSError is then not the data folder's
        return None


def _failed(args, code: str, message: str, status: int, line: str | None = None) -> int:
    """One line on stderr (`line`, else "error: message"); under --json also {"error": {code, message}} on
    stdout, as check's lines say theirs (a script reading the JSON sees why there is no result)."""
    print(shown(line or f"error: {message}"), file=sys.stderr)   # (names a folder or file: anyone's characters)
    if getattr(args, "json", False):
        try:
            print(json.dumps({"error": {"code": code, "message": message}}), flush=True)
        except OSError:   # stdout itself is what failed: stderr has said it
            pass
    return status


def main(argv=None) -> int:
    closed = _closed_stdout()
    if closed:   # `--help >&-` too
        sys.stdout = _ClosedStdout()
    try:
        args = build_parser().parse_args(argv)
    except BrokenPipeError:   # `fakelens --help | head -1`
        _stdout_to_devnull()
        return 1
    except OSError as exc:   # `--help > /dev/full`
        _stdout_to_devnull()
        print(f"error: cannot write the results: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if closed and args.command == "serve":   # a server started from a script that closed it: still
        sys.stdout = None                     # serves, its lines dropped (`fakelens token` prints the token)
    try:
        return args.func(args)
    except KeyboardInterrupt:   # Ctrl+C: one line, not a traceback; each check's folder is already removed
        print("interrupted", file=sys.stderr)
        return 130
    except FakeLensError as exc:
        # the data folder (fakelens.db not a database, locked, read-only; the token a folder) is a
        # start-up problem, as a bad setting: 2; so is a wrong argument (eval's folders), as argparse's
        return _failed(args, exc.code, exc.message,
                       2 if exc.code == "storage_unavailable" or isinstance(exc, WrongArgument) else 1)
    except SettingsError as exc:   # a bad config.toml or FAKELENS_* value
        return _failed(args, "bad_settings", f"in the settings: {exc}", 2, f"error in the settings: {exc}")
    except _OutputFailed as exc:   # a full disk under stdout: 1, as check (README)
        _stdout_to_devnull()
        print(f"error: cannot write the results: {exc.error.strerror or exc.error}", file=sys.stderr)
        return 1
    except BrokenPipeError:   # `fakelens models --json | head -1`: the reader has what it wanted
        _stdout_to_devnull()   # no "error: Broken pipe"
        return 1
    except OSError as exc:      # a data folder that is a file or not writable; a file given that is missing
        where = f": {exc.filename}" if exc.filename else ""
        home = _data_folder(args)
        if home and exc.filename and Path(os.path.abspath(os.fsdecode(exc.filename))).is_relative_to(home):
            return _failed(args, "storage_unavailable", f"cannot use the data folder {home} ({exc.strerror or exc}{where})", 2)
        return _failed(args, "bad_request", f"{exc.strerror or exc}{where}", 2)   # a file given that cannot be used


if __name__ == "__main__":
    sys.exit(main())
