"""`fakelens check | token | models` as a user runs them (real subprocesses)."""

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def fakelens(home, *args, timeout=120):
    env = {**os.environ, "FAKELENS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "fakelens.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_check_json_lines_many_inputs(tmp_path, plain_jpeg, face_jpeg):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    inputs = [str(plain_jpeg), str(face_jpeg), str(bad), str(tmp_path / "missing.jpg"), "http://a..b/x.jpg",
              "http://[::1/x.jpg", str(tmp_path)]
    r = fakelens(tmp_path / "home", "check", "--json", *inputs)
    assert r.returncode == 1, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line["input"] for line in lines] == inputs
    assert [line["error"]["code"] for line in lines[4:6]] == ["bad_url", "bad_url"]   # not a crash
    assert "is a folder" in lines[6]["error"]["message"]                                # not "no such file"
    assert lines[0]["label"] == "not_applicable" and lines[0]["media"]["kind"] == "image"
    assert len(lines[1]["faces"]) == 1
    assert lines[2]["error"]["code"] == "unsupported_media"
    assert lines[3]["error"]["code"] == "not_found"


def test_check_json_says_an_empty_input_in_its_json_line(tmp_path, plain_jpeg):
    """`check --json ""` printed argparse's usage on stderr and no JSON: a script reading the lines
    got nothing, where eval --json says its empty argument in JSON."""
    r = fakelens(tmp_path / "home", "check", "--json", str(plain_jpeg), "")
    assert r.returncode == 1, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line["input"] for line in lines] == [str(plain_jpeg), ""] and "label" in lines[0]
    assert lines[1]["error"] == {"code": "bad_request",
                                 "message": 'the input is empty (""): name a file or an http(s) address'}
    r = fakelens(tmp_path / "home", "check", str(plain_jpeg), "")   # without --json: a wrong argument, as before
    assert r.returncode == 2 and r.stderr == 'error: argument PATH_OR_URL: must not be empty ("")\n', r.stderr
    assert r.stdout == ""


def test_a_broken_video_gives_fakelens_s_one_line_not_ffmpeg_s(tmp_path, face_jpeg):
    import cv2

    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for _ in range(10):
        writer.write(cv2.resize(cv2.imread(str(face_jpeg)), (160, 120)))
    writer.release()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:clip.stat().st_size // 2])   # the index (moov) is at the end
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}   # FakeLens's own default
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "check",
                        str(truncated)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr == (f"{truncated}: error: the MP4 is incomplete (its index is missing: the download or "
                        "recording was cut off) (undecodable)\n"
                        "  The file is damaged or incomplete: download it again, or check the original.\n"), r.stderr
    # (no "moov atom not found"; and what to do, after why)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_a_cut_picture_gives_fakelens_s_one_line_not_opencv_s(tmp_path, fmt):
    """OpenCV fails on it first (and logged its error), then Pillow: the user reads one line, which says truncated."""
    from PIL import Image

    whole = tmp_path / f"whole.{fmt.lower()}"
    Image.effect_noise((300, 200), 60).convert("RGB").save(whole, format=fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    r = fakelens(tmp_path / "home", "check", str(cut))
    assert r.returncode == 1
    assert r.stderr == (f"{cut}: error: the image file is truncated (it ends before its last pixels) (undecodable)\n"
                        "  The file is damaged or incomplete: download it again, or check the original.\n"), r.stderr


def test_a_missing_file_says_what_to_do_too(tmp_path):
    """Every failed input is followed by what to do (README); a missing file had none."""
    r = fakelens(tmp_path / "home", "check", str(tmp_path / "nothing.jpg"))
    assert r.returncode == 1
    assert r.stderr == (f"{tmp_path / 'nothing.jpg'}: error: no such file: {tmp_path / 'nothing.jpg'} (not_found)\n"
                        "  Check the file's name and folder: nothing is there.\n"), r.stderr


def test_a_jpeg_with_broken_exif_is_checked_without_pillow_s_warning(tmp_path, plain_jpeg):
    """An EXIF block whose first IFD lies past its end (the picture is fine): Pillow's "UserWarning:
    Corrupt EXIF data" was printed beside the verdict."""
    exif = b"\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\x7f"   # APP1: a TIFF header, IFD at 2 GB
    broken = tmp_path / "broken-exif.jpg"
    broken.write_bytes(plain_jpeg.read_bytes()[:2] + exif + plain_jpeg.read_bytes()[2:])
    r = fakelens(tmp_path / "home", "check", "--json", str(broken))
    assert r.returncode == 0 and json.loads(r.stdout)["media"]["kind"] == "image", r.stdout
    assert r.stderr == "", r.stderr


def test_check_json_gives_every_input_its_line_when_the_manifest_is_broken(tmp_path, plain_jpeg):
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.json").write_text("{bad")
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_MODELS_DIR": str(models)}
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "check", "--json", str(plain_jpeg), "x.jpg"], env=env,
                       capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1 and [line["input"] for line in lines] == [str(plain_jpeg), "x.jpg"], r
    assert all("is not valid JSON" in line["error"]["message"] for line in lines)


def test_check_json_gives_every_input_its_line_when_the_settings_are_bad(tmp_path, plain_jpeg):
    """A bad config.toml printed nothing on stdout and exited 2: DESIGN promises a line per input."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("prot = 8791\n")
    r = fakelens(home, "check", "--json", str(plain_jpeg), "x.jpg")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1 and [line["input"] for line in lines] == [str(plain_jpeg), "x.jpg"], r
    assert all(line["error"]["message"].startswith("error in the settings: ") and "prot" in line["error"]["message"]
               for line in lines), lines
    assert {line["error"]["code"] for line in lines} == {"bad_settings"}   # as eval's and the README's (not bad_request)


def test_eval_and_models_json_say_their_error_in_json_too(tmp_path):
    """Under --json, eval and models printed only a plain line on stderr when they could not run: a
    script reading their JSON got nothing to read (check's lines always say their error)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    r = fakelens(tmp_path / "home", "eval", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"), "--json")
    assert r.returncode == 1 and json.loads(r.stdout) == {"error": {
        "code": "bad_request", "message": f"no images or videos in {tmp_path / 'real'} or {tmp_path / 'fake'}"}}, r
    assert r.stderr.strip() == f"error: no images or videos in {tmp_path / 'real'} or {tmp_path / 'fake'}"
    r = fakelens(tmp_path / "home", "eval", "--real", str(tmp_path / "none"), "--fake", str(tmp_path / "fake"), "--json")
    assert r.returncode == 2 and json.loads(r.stdout)["error"]["message"] == f"{tmp_path / 'none'} does not exist"
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_MODELS_DIR": str(tmp_path / "none")}
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "models", "--json"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "model_broken", r
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "models", "--json"], capture_output=True, text=True,
                       env={**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_PORT": "abc"}, timeout=120)
    assert r.returncode == 2 and json.loads(r.stdout)["error"]["code"] == "bad_settings", r
    assert r.stderr.startswith("error in the settings: ")


def test_serve_with_a_broken_model_manifest_exits_2_as_every_failed_start(tmp_path):
    """It exited 1 (main's FakeLensError), while a changed model file or a bad setting exit 2."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.json").write_text("{bad")
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "serve", "--port", "1"],
                       env={**os.environ, "FAKELENS_MODELS_DIR": str(models)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "is not valid JSON" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_a_data_folder_that_cannot_be_used_is_one_line_not_a_traceback(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(afile), "token"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"error: cannot use the data folder {afile}"), r.stderr


def test_a_data_folder_from_fakelens_home_is_named_as_one_from_home(tmp_path):
    """FAKELENS_HOME a file said only "error: File exists: …", where --home named the data folder;
    then "cannot use the data folder X (File exists: X)", which did not say what was wrong with it."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    said = (f"error: cannot use the data folder {afile}: it is a file, not a folder "
            "(name another with --home or FAKELENS_HOME)\n")
    r = fakelens(afile, "token")
    assert r.returncode == 2 and r.stderr == said, r.stderr
    r = fakelens(afile, "serve", "--port", "1")
    assert r.returncode == 2 and r.stderr == said, r.stderr
    r = fakelens(afile / "sub", "token")   # "Not a directory"
    assert r.returncode == 2 and r.stderr == (f"error: cannot use the data folder {afile / 'sub'}: {afile} is a file, "
                                              "not a folder (name another with --home or FAKELENS_HOME)\n"), r.stderr
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    r = fakelens(tmp_path / "link", "token")
    assert r.returncode == 2 and f"it is a link to {tmp_path / 'nowhere'}, which is not there" in r.stderr, r.stderr


def test_a_download_that_is_empty_or_not_there_says_so_and_what_fits(tmp_path):
    """An empty download said "is empty (0 bytes), not an image or a video" and "Convert it to a format
    FakeLens reads"; an HTTP 404 "If the address opens in a browser (a file behind a login…)"."""
    from support.httpd import MediaServer

    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "empty.jpg").write_bytes(b"")
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_ALLOW_LOOPBACK": "1"}
    with MediaServer(tmp_path / "files") as server:
        empty, missing = server.url("/files/empty.jpg"), server.url("/files/missing.jpg")
        r = subprocess.run([sys.executable, "-m", "fakelens.cli", "check", empty, missing], env=env,
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"{empty}: error: the download of {empty} was empty (0 bytes): the server sent no data (undecodable)",
        "  The file is damaged or incomplete: download it again, or check the original.",
        f"{missing}: error: the server answered HTTP 404 for {missing} (fetch_failed)",
        "  Nothing is at that address: check it for a typing mistake, or open the page that showed the media and "
        "check it from there (it may have moved or been deleted).",
    ], r.stderr


def test_a_gone_address_gets_its_own_next_step_and_other_refusals_keep_theirs():
    from fakelens.errors import GONE_STEP, NEXT_STEP, next_step_for

    assert next_step_for({"code": "fetch_failed", "message": "the server answered HTTP 410 for http://a/x"}) == GONE_STEP
    assert next_step_for({"code": "fetch_failed", "message": "the server answered HTTP 403 for http://a/x"}) \
        == NEXT_STEP["fetch_failed"]
    assert next_step_for({"code": "bad_request", "message": "x"}) == ""


def test_a_token_rotated_in_a_read_only_data_folder_names_the_folder_not_a_temporary_file(tmp_path):
    home = tmp_path / "home"
    assert fakelens(home, "token").returncode == 0
    as_user = []
    if os.geteuid() == 0:   # root writes any folder: drop the capabilities that let it
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    home.chmod(0o500)
    try:
        r = subprocess.run(as_user + [sys.executable, "-m", "fakelens.cli", "--home", str(home), "token", "--rotate"],
                           capture_output=True, text=True, timeout=60)
    finally:
        home.chmod(0o700)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f"error: cannot store the pairing token in the data folder {home} (Permission denied): "
                        "make it writable\n"), r.stderr


def test_check_a_file_that_cannot_be_read_is_the_users_problem_not_a_bug(tmp_path):
    unreadable = tmp_path / "photo.jpg"
    unreadable.symlink_to("/proc/self/mem")   # opens, then every read fails (EIO)
    r = fakelens(tmp_path / "home", "check", "--json", str(unreadable))
    line = json.loads(r.stdout)
    assert r.returncode == 1 and line["error"]["code"] == "bad_request", line
    assert line["error"]["message"] == f"cannot read {unreadable}: Input/output error"


def test_check_says_what_an_input_that_is_not_a_file_is(tmp_path):
    """A symlink loop said "no such file" (exists() hides ELOOP); a pipe or a device said not_found,
    though it is there."""
    (tmp_path / "l1").symlink_to("l2")
    (tmp_path / "l2").symlink_to("l1")
    os.mkfifo(tmp_path / "pipe.jpg")
    inputs = [tmp_path / "l1", tmp_path / "pipe.jpg", "/dev/zero", tmp_path / "missing.jpg"]
    r = fakelens(tmp_path / "home", "check", "--json", *map(str, inputs))
    assert r.returncode == 1
    errors = [json.loads(line)["error"] for line in r.stdout.splitlines()]
    assert errors == [
        {"code": "bad_request", "message": f"too many levels of symbolic links: {inputs[0]}"},
        {"code": "unsupported_media", "message": f"not a regular file (a pipe or a device): {inputs[1]}"},
        {"code": "unsupported_media", "message": "not a regular file (a pipe or a device): /dev/zero"},
        {"code": "not_found", "message": f"no such file: {inputs[3]}"}], errors


def test_check_writes_control_characters_as_escapes_not_to_the_terminal(tmp_path):
    """An input's name (or any message quoting what a server or a file said) with an escape sequence
    reached the terminal raw: it could rewrite the lines above, the verdict's among them."""
    name = str(tmp_path / "x\x1b[2K\r\u202eph.jpg")
    r = fakelens(tmp_path / "home", "check", name)
    assert r.returncode == 1 and "\x1b" not in r.stderr and "\u202e" not in r.stderr, repr(r.stderr)
    assert "x\\x1b[2K\\r\\u202eph.jpg: error: no such file" in r.stderr, repr(r.stderr)


def test_check_readable_output_exit_zero(tmp_path, plain_jpeg, face_jpeg):
    r = fakelens(tmp_path / "home", "check", str(plain_jpeg))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{plain_jpeg}: Not checked")
    # the signal that decided says so in words (a bare "*" said it to no one)
    r = fakelens(tmp_path / "home", "check", str(face_jpeg))
    signals = r.stdout.splitlines()[2:]
    assert [line.split()[0] for line in signals if line.endswith("  decided the verdict")] == ["face_swap"], r.stdout
    assert "*" not in r.stdout


def test_token_is_private_and_stable(tmp_path):
    home = tmp_path / "home"
    first = fakelens(home, "token").stdout.strip()
    assert len(first) >= 40 and fakelens(home, "token").stdout.strip() == first
    assert stat.S_IMODE((home / "token").stat().st_mode) == 0o600
    rotated = fakelens(home, "token", "--rotate").stdout.strip()
    assert rotated != first and fakelens(home, "token").stdout.strip() == rotated
    (home / "token").write_text("\n")   # a blank file (a full disk, an edit) never means "no token needed"
    fresh = fakelens(home, "token").stdout.strip()
    assert len(fresh) >= 40 and fakelens(home, "token").stdout.strip() == fresh
    (home / "token").write_bytes(b"\xff\xfe\n")   # not text: a traceback before, now made anew
    r = fakelens(home, "token")
    assert r.returncode == 0 and len(r.stdout.strip()) >= 40 and r.stdout.strip() != fresh, r.stderr


def test_models_lists_manifest(tmp_path):
    r = fakelens(tmp_path / "home", "models")
    assert r.returncode == 0 and "retinaface_mnet025" in r.stdout and "face_detect" in r.stdout
    manifest = json.loads(fakelens(tmp_path / "home", "models", "--json").stdout)
    assert manifest["models"] and not any("problem" in m for m in manifest["models"])


def test_models_json_names_the_model_whose_file_changed(tmp_path):
    """Exit 1 and a line on stderr, but the JSON was the manifest of a healthy install: a script reading
    it could not tell which model failed, nor why."""
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    broken = next(m for m in json.loads((models / "manifest.json").read_text())["models"] if m["task"] == "face_swap")
    (models / broken["file"]).write_bytes((models / broken["file"]).read_bytes()[:1000])
    env = {**os.environ, "FAKELENS_MODELS_DIR": str(models), "FAKELENS_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "models", "--json"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    entries = {m["name"]: m for m in json.loads(r.stdout)["models"]}
    assert "changed or corrupt" in entries[broken["name"]]["problem"]
    assert [name for name, m in entries.items() if "problem" in m] == [broken["name"]]


def test_serve_refuses_public_bind(tmp_path):
    r = fakelens(tmp_path / "home", "serve", "--host", "0.0.0.0", timeout=30)
    assert r.returncode == 2 and "loopback only" in r.stderr
    # asked for by the setting instead of the flag: refused alike, not silently ignored
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_HOST": "0.0.0.0"}
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "serve"], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "loopback only" in r.stderr


def test_serve_on_a_port_it_may_not_use_says_so_not_already_running(tmp_path):
    """Port 80 without the right to it: the hint is the right one, not "Is FakeLens already running?"."""
    if int(open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read()) <= 80:   # Docker's default is 0
        pytest.skip("this machine lets anyone bind port 80")
    as_user = []
    if os.geteuid() == 0:   # root may bind any port: drop that right
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        as_user = ["setpriv", "--bounding-set", "-net_bind_service"]
    r = subprocess.run(as_user + [sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "serve",
                                  "--port", "80"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Permission denied. Ports under 1024 need administrator rights." in r.stderr, r.stderr
    assert "already running" not in r.stderr


def test_serve_prints_the_pairing_token_on_a_line_of_its_own(tmp_path):
    """The token followed its label on one line: pasting the whole line into the extension's options
    glued the label's words onto the token, which was then refused."""
    from support.live_backend import start_backend

    backend = start_backend(tmp_path / "home")
    try:
        lines = (tmp_path / "home" / "serve.log").read_text().splitlines()
    finally:
        backend.stop()
    assert backend.token in lines, lines
    assert lines[lines.index(backend.token) - 1] == "pairing token (paste it into the extension's options):"


def test_a_bad_setting_in_the_config_file_stops_serve_whatever_the_flags(tmp_path):
    """`port = "abc"` in config.toml with `serve --port 8814`: the server started."""
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text('port = "abc"\n')
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "serve", "--port", "1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr == ("error in the settings: port must be a whole number, got 'abc', "
                                              f"in {tmp_path / 'home' / 'config.toml'}\n"), r.stderr


def serve_once(home):
    return subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(home), "serve", "--port", "1"],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["work", "thumbs", "uploads", "work/spool"])
def test_a_file_where_a_data_folder_s_folder_goes_stops_the_start_with_one_line(tmp_path, name):
    """`work` or `thumbs` a file: the server started and every check failed with "internal error:
    FileExistsError", and the start's privacy pass made the stray file 0700. (work/spool: where
    `fakelens serve` keeps the temporary copies of request bodies.)"""
    home = tmp_path / "home"
    (home / name).parent.mkdir(parents=True)
    (home / name).write_text("a stray file")
    (home / name).chmod(0o644)
    r = serve_once(home)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"error: {home / name} is a file, not a folder: move it aside (FakeLens makes the folder)\n"
    assert stat.S_IMODE((home / name).stat().st_mode) == 0o644


def test_a_token_that_is_a_folder_is_named_not_a_temporary_file(tmp_path):
    """The message named a random temporary file (".token-xxxx.tmp") instead of the token's path."""
    home = tmp_path / "home"
    (home / "token").mkdir(parents=True)
    said = f"error: {home / 'token'} is a folder: move it aside (FakeLens writes the pairing token there)\n"
    for r in (fakelens(home, "token"), serve_once(home)):
        assert (r.returncode, r.stderr) == (2, said)


def test_a_history_database_that_is_not_one_is_one_line_and_kept(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    junk = os.urandom(8192)
    (home / "fakelens.db").write_bytes(junk)
    r = serve_once(home)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr == (f"error: cannot open the history database {home / 'fakelens.db'} (file is not a database): "
                        "move it aside to start fresh (FakeLens makes a new one; its history is lost)\n")
    assert (home / "fakelens.db").read_bytes() == junk   # never deleted nor changed


def test_another_program_s_database_under_the_history_s_name_is_one_line_and_kept(tmp_path):
    import sqlite3

    home = tmp_path / "home"
    home.mkdir()
    other = sqlite3.connect(home / "fakelens.db")
    other.execute("CREATE TABLE checks (x)")
    other.commit()
    other.close()
    r = serve_once(home)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr == (f"error: cannot open the history database {home / 'fakelens.db'} (its tables are checks): "
                        "it is not a FakeLens history; move it aside to start fresh (FakeLens makes a new one; "
                        "its history is lost)\n"), r.stderr


@pytest.mark.parametrize("tables", [["jobs"], ["checks", "jobs"]])
def test_another_program_s_database_without_a_schema_version_is_refused_and_not_altered(tmp_path, tables):
    """user_version 0 was taken for a FakeLens file from before it was kept: a foreign file holding
    only `jobs` was adopted, FakeLens's tables added to it."""
    import sqlite3

    from fakelens.store import SCHEMA

    home = tmp_path / "home"
    home.mkdir()
    other = sqlite3.connect(home / "fakelens.db")
    for table in tables:
        other.executescript(SCHEMA if table == "checks" else f"CREATE TABLE {table} (x)")
    other.commit()
    other.close()
    before = (home / "fakelens.db").read_bytes()
    r = serve_once(home)
    assert r.returncode == 2, r.stderr
    assert r.stderr.endswith(": it is not a FakeLens history; move it aside to start fresh (FakeLens makes a new "
                             "one; its history is lost)\n") and "its tables are" in r.stderr, r.stderr
    assert (home / "fakelens.db").read_bytes() == before   # never altered


@pytest.mark.parametrize("made", ["empty", "old"])
def test_an_empty_file_or_an_old_fakelens_history_is_still_taken(tmp_path, made):
    import sqlite3

    from fakelens.store import SCHEMA, SCHEMA_VERSION, Store

    path = tmp_path / "home" / "fakelens.db"
    path.parent.mkdir()
    db = sqlite3.connect(path)
    if made == "old":   # a file from before the schema's version was kept: user_version 0
        db.executescript(SCHEMA)
        db.execute("INSERT INTO checks (id, status, created, updated, request) VALUES ('a', 'done', 1, 1, '{}')")
        db.commit()
    db.close()
    store = Store(path)
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM checks").fetchone()[0] == (made == "old")


def test_a_locked_history_database_is_one_line(tmp_path):
    import sqlite3

    home = tmp_path / "home"
    home.mkdir()
    other = sqlite3.connect(home / "fakelens.db", isolation_level=None)   # another program holds it
    other.execute("CREATE TABLE mine (x)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        r = serve_once(home)
    finally:
        other.close()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"error: cannot open the history database {home / 'fakelens.db'} "
                               "(database is locked): another program holds it open"), r.stderr


def test_a_history_database_that_cannot_be_written_is_one_line(tmp_path):
    """A history SQLite can open only to read (made immutable here: root ignores file modes) stops
    the start with one line; the server used to start and fail each check's first write."""
    from fakelens.store import Store

    home = tmp_path / "home"
    db = home / "fakelens.db"
    Store(db).close()   # a history from an earlier start
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        r = serve_once(home)
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"error: cannot open the history database {db} "
                               "(attempt to write a readonly database): make it and its folder writable"), r.stderr


def test_a_history_database_from_a_newer_fakelens_is_one_line_and_kept(tmp_path):
    """The schema's version is kept in the file: an older FakeLens refuses a newer one's history
    instead of misreading it (a downgrade), and never changes it."""
    import sqlite3

    from fakelens.store import SCHEMA_VERSION, Store

    home = tmp_path / "home"
    Store(home / "fakelens.db").close()
    db = sqlite3.connect(home / "fakelens.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION   # stamped
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = (home / "fakelens.db").read_bytes()
    r = serve_once(home)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "was written by a newer FakeLens" in r.stderr and "upgrade FakeLens" in r.stderr, r.stderr
    assert (home / "fakelens.db").read_bytes() == before


@contextlib.contextmanager
def check_mid_download(tmp_path, *args, defaults=()):
    """`fakelens check ARGS URL` of a download that trickles, once it downloads into its temporary
    folder: (process, that folder's parent). The signals in `defaults` are at their default action in it,
    whatever this test runs under (nohup's ignored SIGHUP is passed on; pytest may ignore SIGINT)."""
    import signal
    import time

    from support.httpd import MediaServer

    (tmp_path / "files").mkdir()
    temp = tmp_path / "tmp"
    temp.mkdir()
    with MediaServer(tmp_path / "files") as server:
        env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "TMPDIR": str(temp),
               "FAKELENS_ALLOW_LOOPBACK": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "check", *args, server.url("/trickle")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s in defaults])
        deadline = time.monotonic() + 60
        while "/trickle" not in server.seen and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "/trickle" in server.seen and list(temp.glob("fakelens-cli-*"))   # downloading into it
        yield proc, temp


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_a_check_stopped_by_a_signal_leaves_no_download_behind(tmp_path, signal_name):
    """Killed (a terminal closed: SIGHUP; SIGTERM), `fakelens check` skipped its clean-up: what it had
    downloaded of the picture or video stayed in the system's temporary folder for good."""
    import signal

    with check_mid_download(tmp_path, defaults=(signal.SIGTERM, signal.SIGHUP)) as (proc, temp):
        proc.send_signal(getattr(signal, signal_name))
        proc.communicate(timeout=30)
    assert list(temp.glob("fakelens-cli-*")) == []


def test_a_check_run_under_nohup_outlives_its_terminal(tmp_path):
    """The SIGHUP handler replaced nohup's "ignore": a batch left running at logout was killed (129)."""
    import signal
    import time

    from support.httpd import MediaServer

    (tmp_path / "files").mkdir()
    with MediaServer(tmp_path / "files") as server:
        env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_ALLOW_LOOPBACK": "1",
               "FAKELENS_FETCH_WALL_S": "6"}
        proc = subprocess.Popen(["nohup", sys.executable, "-m", "fakelens.cli", "check", "--json",
                                 server.url("/trickle")], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while "/trickle" not in server.seen and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGHUP)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1 and '"fetch_timeout"' in out, (proc.returncode, out)   # ended by its own limit


def test_trust_anchors_that_name_no_pem_file_stop_the_start_with_one_line(tmp_path):
    """The server started and trusted no added signer, saying so only in a log line at the first check."""
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(home), "serve", "--port", "1"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "FAKELENS_TRUST_ANCHORS": str(tmp_path / "missing.pem")})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr == (f"error: trust_anchors {tmp_path / 'missing.pem'}: no PEM file there (a .pem or .crt "
                        "file, or a folder of them); fix the setting or remove it\n")


@pytest.mark.parametrize("bad, why", [
    ("-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG\n-----END CERTIFICATE-----\n", "a certificate in it cannot be read"),
    ("my notes\n", "no certificate in it (no -----BEGIN CERTIFICATE----- block)")])
def test_an_unreadable_file_among_the_trust_anchors_stops_the_start_naming_it(tmp_path, bad, why):
    """One stale or garbled .crt beside the user's good anchors made the SDK refuse them all: the
    server started and every signer the user trusts read "not on FakeLens's trust list"."""
    from test_provenance_support import make_test_ca

    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "mine.pem").write_text(make_test_ca()[0])
    (anchors / "old.crt").write_text(bad)
    r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "serve", "--port", "1"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "FAKELENS_TRUST_ANCHORS": str(anchors)})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"error: trust_anchors {anchors / 'old.crt'}: {why}"), r.stderr
    assert r.stderr.endswith("; fix or remove it\n") and "mine.pem" not in r.stderr, r.stderr


def test_train_without_the_train_extra_says_how_to_get_it(tmp_path):
    """torch comes with the [train] extra only: a missing one is a one-line hint, not a traceback."""
    hide_torch = ("import sys; sys.modules['torch'] = None; from fakelens.cli import main; "
                  "sys.exit(main(['--home', sys.argv[1], 'train', 'face-swap', '--help']))")
    r = subprocess.run([sys.executable, "-c", hide_torch, str(tmp_path / "home")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "training needs torch" in r.stderr and "pip install -e '.[train]'" in r.stderr


def test_a_reader_that_stops_early_gets_no_error_message(tmp_path):
    """`fakelens models --json | head -1`: "error: Broken pipe" and exit 2 before."""
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home")}
    p = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "models", "--json"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()   # gone before the command writes a byte
    err = p.stderr.read().decode()
    assert p.wait(120) == 1 and err == "", err


@pytest.mark.parametrize("mode", [[], ["--json"]])
def test_check_stops_at_the_first_output_it_cannot_write(tmp_path, plain_jpeg, mode):
    """`fakelens check a b | head -1` or `> /dev/full`: every later input was still analysed, for
    nobody, each said "cannot read <input>: Broken pipe"; a full disk ended in a traceback at exit."""
    inputs = [str(plain_jpeg), str(tmp_path / "missing.jpg")]   # the second would say "no such file"
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home")}
    p = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "check", *mode, *inputs], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()   # the reader is gone: quietly over, nothing more checked
    err = p.stderr.read()
    assert p.wait(120) == 1 and err == "", err
    with open("/dev/full", "w") as full:   # a full disk: one line, nothing more checked
        r = subprocess.run([sys.executable, "-m", "fakelens.cli", "check", *mode, *inputs], env=env,
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr == "error: cannot write the results: No space left on device\n", r.stderr


@pytest.mark.parametrize("command", [["token"], ["token", "--rotate"], ["models"], ["models", "--json"],
                                     ["--help"], ["check", "--help"]])
def test_output_that_cannot_be_written_exits_1_as_check(tmp_path, command):
    """`> /dev/full` exited 2, as a data folder that cannot be used, where check exits 1 (README);
    `--help > /dev/full` exited 0, nothing said."""
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home")}
    for unbuffered in ("1", ""):   # printed at once, or at exit's flush
        with open("/dev/full", "w") as full:
            r = subprocess.run([sys.executable, "-m", "fakelens.cli", *command], stdout=full, stderr=subprocess.PIPE,
                               env={**env, "PYTHONUNBUFFERED": unbuffered}, text=True, timeout=120)
        assert r.returncode == 1, r.stderr
        assert r.stderr == "error: cannot write the results: No space left on device\n", r.stderr


@pytest.mark.parametrize("command", [["check"], ["check", "--json"], ["token"], ["models"], ["models", "--json"],
                                     ["eval"], ["eval", "--json"], ["--help"]])
def test_a_closed_stdout_exits_1_quietly_as_a_closed_pipe(tmp_path, face_jpeg, command):
    """`fakelens check x >&-` ended in a traceback ('NoneType' object has no attribute 'flush'), and
    `check --json`, `models`, `token` and `eval` exited 0, their output lost: Python makes sys.stdout
    None when fd 1 is closed, and print() then drops what it is given."""
    import cv2

    if command[0] == "check":
        command = [*command, str(face_jpeg)]
    elif command[0] == "eval":   # a face in each class: scored, an AUC, exit 0 where the output is written
        (tmp_path / "real").mkdir()
        (tmp_path / "fake").mkdir()
        shutil.copy(face_jpeg, tmp_path / "real")
        cv2.imwrite(str(tmp_path / "fake" / "flipped.jpg"), cv2.flip(cv2.imread(str(face_jpeg)), 1))
        command = [*command, "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake")]
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home")}
    r = subprocess.run(["bash", "-c", 'exec "$@" >&-', "bash", sys.executable, "-m", "fakelens.cli", *command],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "error" not in r.stderr, r.stderr[-2000:]


def test_serve_with_its_stdout_closed_still_serves(tmp_path):
    """A server started from a script that closed its stdout serves, its lines dropped (fd 1 is then
    /dev/null: no file it opens takes it)."""
    import time
    import urllib.error
    import urllib.request

    from support.live_backend import free_port

    port = free_port()
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(["bash", "-c", 'exec "$@" >&-', "bash", sys.executable, "-m", "fakelens.cli", "serve",
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answered = time.monotonic() + 60, None
        while answered is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                answered = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).status
            except urllib.error.HTTPError as exc:
                answered = exc.code
            except OSError:
                time.sleep(0.3)
        assert answered is not None, proc.poll()
    finally:
        proc.terminate()
        err = proc.communicate(timeout=60)[1]
    assert "Traceback" not in err, err


def read_terminal(proc, master, timeout=60) -> str:
    """What `proc` wrote to the pseudo-terminal `master` until it ended."""
    import select
    import time

    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([master], [], [], 1)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:   # EIO: every writer is gone
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(30)
    os.close(master)
    return out.decode(errors="replace")


@pytest.mark.parametrize("stopped", [False, True])
def test_a_check_on_a_terminal_ends_its_progress_bar_line_before_an_error_or_interrupted(tmp_path, stopped):
    """The error was written onto the end of the progress bar's line: "...] fetch  0%http://...: error"."""
    import pty
    import signal

    from support.httpd import MediaServer

    (tmp_path / "files").mkdir()
    with MediaServer(tmp_path / "files") as server:
        url = server.url("/trickle")
        env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_ALLOW_LOOPBACK": "1",
               "FAKELENS_FETCH_WALL_S": "30" if stopped else "2"}
        master, terminal = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "check", url], env=env,
                                stdout=subprocess.PIPE, stderr=terminal,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as a terminal's
        os.close(terminal)
        shown = ""
        if stopped:   # Ctrl+C once the bar is drawn
            while "] fetch " not in shown:
                shown += os.read(master, 4096).decode()
            proc.send_signal(signal.SIGINT)
        shown += read_terminal(proc, master)
    assert "] fetch " in shown, repr(shown[-300:])   # the bar was drawn
    if stopped:   # its line ended, then "interrupted"
        assert proc.returncode == 130 and shown.endswith("%\r\ninterrupted\r\n"), repr(shown[-300:])
    else:         # its line ended, then the error
        assert proc.returncode == 1 and f"%\r\n{url}: error: " in shown, repr(shown[-300:])


def test_ctrl_c_in_check_is_one_line_exit_130_and_leaves_no_download_behind(tmp_path):
    """Ctrl+C printed a Python traceback (KeyboardInterrupt) and exited -2."""
    import signal

    with check_mid_download(tmp_path, "--json", defaults=(signal.SIGINT,)) as (proc, temp):   # as a terminal's
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (130, "", "interrupted\n")
    assert list(temp.glob("fakelens-cli-*")) == []


def test_help_says_what_readme_says(tmp_path):
    """--home's default named only ~/.local/share/fakelens ($XDG_DATA_HOME and other systems are
    honoured), --port showed no default, and no sub-command said its exit codes."""
    def help_text(*command):
        return " ".join(fakelens(tmp_path / "home", *command, "--help").stdout.split())   # as one line
    assert ("default $FAKELENS_HOME, else on Linux $XDG_DATA_HOME/fakelens, that is ~/.local/share/fakelens unless "
            "set; macOS ~/Library/Application Support/FakeLens; Windows %APPDATA%\\FakeLens") in help_text()
    assert "default 8731" in help_text("serve") and "exit 2 when it cannot start" in help_text("serve")
    assert 'exit 1 when any input failed (its line has "error")' in help_text("check")
    assert "exit 1 when either class has no file scored" in help_text("eval")
    assert "exit 1 when a model file is missing or changed (sha256)" in help_text("models")


def test_python_dash_m_fakelens_is_the_same_command(tmp_path):
    # `python -m fakelens` where the `fakelens` script is not on PATH (a venv not activated)
    done = subprocess.run([sys.executable, "-m", "fakelens", "models", "--json"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "FAKELENS_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert any(m["task"] == "face_swap" for m in json.loads(done.stdout)["models"])
    usage = subprocess.run([sys.executable, "-m", "fakelens", "--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: fakelens ")
