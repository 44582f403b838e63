"""The largest srcset candidate (extension/content/find-media.js run in node): what a lazy loader's
data-srcset will load, and an image's before the browser has chosen one; once it has, its currentSrc
is checked (test_extension_browser.py)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[1] / "extension"


def largest(srcsets: list[str]) -> list[str]:
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = ("globalThis.FakeLens = {};\n" + (EXTENSION / "content" / "find-media.js").read_text()
              + "\nconst sets = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
              "console.log(JSON.stringify(sets.map((s) => globalThis.FakeLens.largestSrcset(s, 'https://example.com/p/'))));\n")
    run = subprocess.run(["node", "-e", script], input=json.dumps(srcsets), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_largest_candidate_however_the_srcset_is_spaced():
    got = largest([
        "a-320.jpg 320w, a-1280.jpg 1280w, a-640.jpg 640w",
        "a-320.jpg 320w,a-1280.jpg 1280w,a-640.jpg 640w",      # minified: no space after the commas
        "a-1x.jpg, a-2x.jpg 2x",
        "a-1x.jpg,, a-3x.jpg 3x,",
        "  /img/b.jpg?w=800&q=80 800w,\n /img/b.jpg?w=1600&q=80 1600w  ",
        "https://cdn.example.net/c,d/e.jpg 2x, f.jpg 1x",       # a comma inside a URL stays
    ])
    assert got == [
        "https://example.com/p/a-1280.jpg",
        "https://example.com/p/a-1280.jpg",
        "https://example.com/p/a-2x.jpg",
        "https://example.com/p/a-3x.jpg",
        "https://example.com/img/b.jpg?w=1600&q=80",
        "https://cdn.example.net/c,d/e.jpg",
    ]
