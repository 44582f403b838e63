"""Settings layers: defaults < config file < FAKELENS_* environment < flags."""

import stat

import pytest

from fakelens.config import load_settings, make_private


def test_layers(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("workers = 3\nport = 9000\nvideo_frames = 8\n")
    monkeypatch.setenv("FAKELENS_HOME", str(home))
    monkeypatch.setenv("FAKELENS_PORT", "9100")
    monkeypatch.setenv("FAKELENS_CACHE", "0")
    s = load_settings(video_frames=12)
    assert (s.home, s.workers, s.port, s.cache, s.video_frames) == (home, 3, 9100, False, 12)
    assert s.allow_loopback is False and s.host == "127.0.0.1"


def test_unknown_setting_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text("wokers = 3\n")
    monkeypatch.setenv("FAKELENS_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="wokers"):
        load_settings()


@pytest.mark.parametrize("env, words", [
    ({"FAKELENS_WORKERS": "0"}, "workers must be at least 1 (got 0)"),        # a server that never checks
    ({"FAKELENS_PORT": "99999"}, "port must be 1-65535 (got 99999)"),        # waitress would wrap it around
    ({"FAKELENS_MAX_PIXELS": "-1"}, "max_pixels must be at least 1"),
    ({"FAKELENS_KEEP_DAYS": "-3"}, "keep_days must not be negative"),
    ({"FAKELENS_READ_TIMEOUT_S": "0"}, "read_timeout_s must be more than 0 (got 0.0)"),   # every download would fail
    ({"FAKELENS_CONNECT_TIMEOUT_S": "0"}, "connect_timeout_s must be more than 0"),
    ({"FAKELENS_DECODE_WALL_S": "0"}, "decode_wall_s must be more than 0"),
    ({"FAKELENS_CONNECT_TIMEOUT_S": "1e10"}, "connect_timeout_s must be at most 86400 seconds, a day (got 1e+10)"),   # overflowed a socket
    ({"FAKELENS_FETCH_WALL_S": "86401"}, "fetch_wall_s must be at most 86400 seconds"),
    ({"FAKELENS_PORT": "abc"}, "port must be a whole number, got 'abc', in FAKELENS_PORT"),
    ({"FAKELENS_WORKERS": "1.5"}, "workers must be a whole number, got '1.5'"),
    ({"FAKELENS_CACHE": "maybe"}, "cache must be true or false, got 'maybe'"),
    # past a cap: it was cut back without a word
    ({"FAKELENS_VIDEO_FRAMES": "100"}, "video_frames must be at most max_frames (64; got 100): raise max_frames too"),
    ({"FAKELENS_MAX_FRAMES": "5000"}, "max_frames must be at most 128 (got 5000)"),
    ({"FAKELENS_SYNC_WAIT_S": "3600"}, "sync_wait_s must be at most 30 (got 3600)"),
])
def test_bad_values_name_the_setting(tmp_path, monkeypatch, env, words):
    monkeypatch.setenv("FAKELENS_HOME", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError) as err:
        load_settings()
    assert words in str(err.value)


@pytest.mark.parametrize("key", ["FAKELENS_HOME", "FAKELENS_TRUST_ANCHORS"])
def test_an_empty_path_is_refused_not_taken_as_the_current_folder(tmp_path, monkeypatch, key):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(key, "")
    with pytest.raises(ValueError, match=f"{key[9:].lower()} must be a folder or file path, not empty"):
        load_settings()


def test_a_list_in_the_config_file_is_a_settings_error(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text("port = [1]\nsync_wait_s = 2\n")
    monkeypatch.setenv("FAKELENS_HOME", str(tmp_path))
    with pytest.raises(ValueError, match=r"port must be a whole number, got \[1\]"):
        load_settings()
    (tmp_path / "config.toml").write_text("sync_wait_s = 2\nallow_loopback = false\n")
    assert load_settings().sync_wait_s == 2.0   # an integer where a number is due is fine


@pytest.mark.parametrize("toml, words", [
    ("port = 8791.5", "port must be a whole number, got 8791.5"),      # int() would quietly make it 8791
    ("keep_days = nan", "keep_days must be a number, got nan"),        # NaN passes every range check
    ("connect_timeout_s = inf", "connect_timeout_s must be a number, got inf"),   # a timeout that overflows
    ("workers = 100000", "workers must be at most 64 (got 100000)"),   # a thread (and models) each
])
def test_fractions_nan_and_absurd_worker_counts_are_refused(tmp_path, monkeypatch, toml, words):
    (tmp_path / "config.toml").write_text(toml + "\n")
    monkeypatch.setenv("FAKELENS_HOME", str(tmp_path))
    with pytest.raises(ValueError) as err:
        load_settings()
    assert words in str(err.value)
    (tmp_path / "config.toml").write_text("port = 8791.0\n")
    assert load_settings().port == 8791   # a whole number written as a float is fine


def test_a_data_folder_written_with_a_tilde_reads_its_config_file(tmp_path, monkeypatch):
    """"~/x" (quoted, or from --home=~/x, which the shell leaves alone) is the data folder in the home
    folder, and so is its config.toml: it was used for the data but its settings were never read."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.toml").write_text("workers = 3\n")
    monkeypatch.setenv("FAKELENS_HOME", "~/x")
    s = load_settings()
    assert s.home == tmp_path / "x" and s.workers == 3
    assert load_settings(home="~/x").workers == 3


def test_the_privacy_pass_tightens_only_folders_that_are_folders_and_files_that_are_files(tmp_path):
    """A stray file named "work" was made 0700 (executable); a folder named "token" would be 0600."""
    home = tmp_path / "home"
    (home / "thumbs").mkdir(parents=True)
    (home / "work").write_text("a stray file")
    (home / "token").mkdir()
    for path in (home / "thumbs", home / "work", home / "token"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    make_private(home)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir()}
    assert modes == {"thumbs": 0o700, "work": 0o644, "token": 0o755}


@pytest.mark.parametrize("toml, words", [
    ("port = 8791x\n", " is not valid TOML: "),   # "error in the settings: Illegal character ..." said no file
    ("prot = 8791\n", "unknown setting(s) in "),
])
def test_an_error_in_the_config_file_names_the_file(tmp_path, monkeypatch, toml, words):
    (tmp_path / "config.toml").write_text(toml)
    monkeypatch.setenv("FAKELENS_HOME", str(tmp_path))
    with pytest.raises(ValueError) as err:
        load_settings()
    assert str(tmp_path / "config.toml") in str(err.value) and words in str(err.value), str(err.value)


@pytest.mark.parametrize("toml, env, flags, words", [
    ('port = "abc"', {}, {"port": 8814}, "port must be a whole number, got 'abc', in {file}"),
    ("port = 0", {"FAKELENS_PORT": "8814"}, {}, "port must be 1-65535 (got 0), in {file}"),
    ("workers = 0", {"FAKELENS_WORKERS": "2"}, {}, "workers must be at least 1 (got 0), in {file}"),
    ('cache = "maybe"', {"FAKELENS_CACHE": "1"}, {}, "cache must be true or false, got 'maybe', in {file}"),
    ("read_timeout_s = -1", {"FAKELENS_READ_TIMEOUT_S": "5"}, {}, "read_timeout_s must be more than 0 (got -1.0)"),
    ("max_frames = 5000", {"FAKELENS_MAX_FRAMES": "64"}, {}, "max_frames must be at most 128 (got 5000)"),
    ('trust_anchors = ""', {"FAKELENS_TRUST_ANCHORS": "/x.pem"}, {}, "trust_anchors must be a folder or file path"),
    ("", {"FAKELENS_PORT": "abc"}, {"port": 8814}, "port must be a whole number, got 'abc', in FAKELENS_PORT"),
    ("", {"FAKELENS_WORKERS": "1000"}, {"workers": 2}, "workers must be at most 64 (got 1000), in FAKELENS_WORKERS"),
])
def test_a_bad_value_is_said_even_where_a_later_layer_replaces_it(tmp_path, monkeypatch, toml, env, flags, words):
    """`port = "abc"` in config.toml stopped `serve` only without --port: the flag replaced the value
    before it was checked, and the file's mistake waited for the day the flag was left off."""
    (tmp_path / "config.toml").write_text(toml + "\n")
    monkeypatch.setenv("FAKELENS_HOME", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError) as err:
        load_settings(**flags)
    assert words.format(file=tmp_path / "config.toml") in str(err.value), str(err.value)
