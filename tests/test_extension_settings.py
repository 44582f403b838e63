"""Which backend addresses the extension accepts, and what a site switched off covers
(extension/lib/settings.js run in node)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(os.environ.get("FAKELENS_EXTENSION_DIR", Path(__file__).resolve().parents[1] / "extension"))


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


def test_only_the_names_the_backend_answers_to_are_accepted():
    """The backend answers only to Host 127.0.0.1:PORT, localhost:PORT and [::1]:PORT (and listens on
    127.0.0.1 and [::1]): Options took "localhost." and 127.0.0.2, saved them, and the user then saw only
    "Wrong backend address" or "not reachable". How a name is typed does not matter: the browser sends it
    as the URL parser writes it."""
    urls = ["http://localhost.:8731", "http://127.0.0.2:8731", "http://127.255.255.254:8731", "http://app.localhost:8731",
            "http://127.0.0.1:0", "LOCALHOST:8731", "127.1:8731", "http://[0:0:0:0:0:0:0:1]:8731", "http://127.0.0.1:80"]
    got = run(f"FL => {json.dumps(urls)}.map(FL.localBackendUrl)")
    assert got == [None, None, None, None, None,
                   "http://localhost:8731", "http://127.0.0.1:8731", "http://[::1]:8731", "http://127.0.0.1:80"]


def test_an_address_typed_without_a_port_is_on_fakelens_s_port():
    """Typed as the placeholder reads, less its port ("localhost", "127.0.0.1/"), the address was saved
    as port 80, where nothing answers, and Options then said to start the backend already running. A
    port typed, 80 too, is kept."""
    typed = ["localhost", "127.0.0.1/", "http://[::1]", "http://user@localhost", "localhost:", "http://localhost:80",
             "localhost:9000"]
    got = run(f"FL => {json.dumps(typed)}.map(FL.localBackendUrl)")
    assert got == ["http://localhost:8731", "http://127.0.0.1:8731", "http://[::1]:8731", None, "http://localhost:8731",
                   "http://localhost:80", "http://localhost:9000"]
    # and what is saved reads back as itself (port 80 was saved as no port, then read as 8731)
    assert run(f"FL => {json.dumps(got)}.map((u) => u && FL.backendUrlInUse(u))") == got


def test_another_name_for_this_computer_is_refused_with_the_address_to_use():
    typed = ["localhost.:9000", "http://127.0.0.2:9000", "https://fakelens.example.com", "localhost:9000"]
    got = run(f"FL => {json.dumps(typed)}.map((t) => [FL.backendUrlProblem(t), "
              "FL.backendUrlInstead ? FL.backendUrlInstead(t) : 'no backendUrlInstead'])")
    assert got == [['names this computer as "localhost.", which FakeLens does not answer to', "http://127.0.0.1:9000"],
                   ['names this computer as "127.0.0.2", which FakeLens does not answer to', "http://127.0.0.1:9000"],
                   ["must be on this computer", None],
                   [None, None]]


def test_a_saved_address_the_backend_refuses_is_used_as_127_0_0_1_on_its_port():
    """One saved by an earlier version under another name for this computer keeps its port (that is where
    its FakeLens listens); one on another computer is never used: the default is."""
    saved = ["http://localhost.:9000", "http://127.0.0.2:9000", "https://fakelens.example.com", "http://localhost:9000"]
    got = run(f"FL => {json.dumps(saved)}.map((s) => FL.backendUrlInUse ? FL.backendUrlInUse(s) : 'no backendUrlInUse')")
    assert got == ["http://127.0.0.1:9000", "http://127.0.0.1:9000", "http://127.0.0.1:8731", "http://localhost:9000"]


def test_a_site_switched_off_covers_its_subdomains():
    got = run("FL => ['facebook.com', 'm.facebook.com', 'web.facebook.com', 'notfacebook.com', 'x.com', '']"
              ".map((site) => FL.siteListed(['facebook.com'], site))")
    assert got == [True, True, True, False, False, False]


def test_a_site_switched_off_is_off_under_its_name_with_a_trailing_dot():
    """https://www.facebook.com./ is facebook.com, and showed badges with facebook.com switched off;
    Options refused "example.com." as no site name."""
    got = run("FL => ['https://www.facebook.com./', 'https://m.facebook.com../x'].map((u) => FL.siteListed(['facebook.com'], FL.siteKey(u)))")
    assert got == [True, True]
    assert run("FL => FL.siteEntry('example.com.')") == "example.com"


def test_a_site_entered_with_a_wildcard_or_leading_dot_switches_it_off():
    """Options saved "*.example.com" and ".example.com" as typed, and they switched nothing off:
    Options now keeps "example.com" and leaves out what is no host name; entries an older version
    saved still count."""
    entries = ["*.example.com", ".example.net", "https://www.example.org/path", "Example.COM", "127.0.0.1",
               "xn--bcher-kva.example", "*", "foo!bar", "exa$mple.com", "http://", "-"]
    got = run(f"FL => {json.dumps(entries)}.map((e) => FL.siteEntry ? FL.siteEntry(e) : 'no siteEntry')")
    assert got == ["example.com", "example.net", "example.org", "example.com", "127.0.0.1", "xn--bcher-kva.example",
                   None, None, None, None, None]
    got = run("FL => ['example.com', 'a.example.com', 'example.net', 'b.example.net', 'notexample.com']"
              ".map((site) => FL.siteListed(['*.example.com', '.example.net', '*.', ''], site))")
    assert got == [True, True, True, True, False]
