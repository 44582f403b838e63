"""Which backend addresses the extension accepts, and what a site switched off covers
(extension/lib/settings.js run in node)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[1] / "extension"


def run(expr: str):
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = ("globalThis.chrome = { storage: { local: {} } };\n" + (EXTENSION / "lib" / "settings.js").read_text()
              + f"\nconsole.log(JSON.stringify(({expr})(globalThis.FakeLens)));\n")
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_only_a_backend_on_this_computer_is_accepted():
    urls = ["http://127.0.0.1:8731", "127.0.0.1:9000/", "localhost:8731", "http://[::1]:8731",
            "https://127.0.0.1:8731", "http://fakelens.example.com", "http://localhost.evil.com:8731",
            "http://127.0.0.1.evil.com:8731", "http://user:pw@127.0.0.1:8731", "http://127.0.0.1:8731/api", ""]
    got = run(f"FL => {json.dumps(urls)}.map(FL.localBackendUrl)")
    assert got == ["http://127.0.0.1:8731", "http://127.0.0.1:9000", "http://localhost:8731", "http://[::1]:8731",
                   None, None, None, None, None, None, None]


def test_a_site_switched_off_covers_its_subdomains():
    got = run("FL => ['facebook.com', 'm.facebook.com', 'web.facebook.com', 'notfacebook.com', 'x.com', '']"
              ".map((site) => FL.siteListed(['facebook.com'], site))")
    assert got == [True, True, True, False, False, False]
