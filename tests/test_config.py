"""Settings layers: defaults < config file < FAKELENS_* environment < flags."""

import pytest

from fakelens.config import load_settings


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
