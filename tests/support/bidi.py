"""A small WebDriver BiDi client (the protocol Firefox speaks natively): Firefox headless with a
profile of its own, driven over one websocket, for the extension's Firefox test."""

import itertools
import json
import subprocess
import time
from pathlib import Path

from websockets.sync.client import connect

# Firefox preferences for a test run: every host name resolves to 127.0.0.1 (so a page can be on
# a public-looking name served here), the extension's internal UUID is fixed (so its pages have a
# known address), and nothing phones home.
PREFS = {
    "network.dns.forceResolve": "127.0.0.1",
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "app.update.enabled": False,
    "network.proxy.type": 0,
}


class Bidi:
    def __init__(self, url: str):
        # entered as the context manager it is; no proxy (a loopback address, whatever the environment says)
        self.ws = connect(url, max_size=None, open_timeout=10, proxy=None).__enter__()
        self.ids = itertools.count(1)

    def cmd(self, method: str, timeout: float = 60, **params) -> dict:
        """Send one command; its answer (events arriving meanwhile are skipped)."""
        number = next(self.ids)
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") != number:
                continue
            if message.get("type") == "error":
                raise RuntimeError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message["result"]

    def evaluate(self, context: str, expression: str):
        """The value of `expression` in the page (a promise is awaited); an exception raises."""
        answer = self.cmd("script.evaluate", expression=expression, target={"context": context}, awaitPromise=True,
                          resultOwnership="none")
        if answer.get("type") == "exception":
            raise RuntimeError(answer["exceptionDetails"].get("text"))
        return _plain(answer["result"])

    def close(self):
        self.ws.close()


def _plain(value: dict):
    """A BiDi remote value as Python (what the tests read: primitives, arrays, objects)."""
    kind = value.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [_plain(v) for v in value.get("value", [])]
    if kind == "object":
        return {k: _plain(v) for k, v in value.get("value", [])}
    return value.get("value")


def start_firefox(binary: str, profile: Path, port: int, extension_uuids: dict, log: Path) -> subprocess.Popen:
    profile.mkdir(parents=True, exist_ok=True)
    prefs = {**PREFS, "extensions.webextensions.uuids": json.dumps(extension_uuids)}
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()))
    # --remote-allow-system-access: BiDi may open the extension's moz-extension:// pages
    return subprocess.Popen([binary, "-headless", "-no-remote", "-profile", str(profile), "--remote-debugging-port",
                             str(port), "--remote-allow-system-access", "about:blank"],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def open_session(port: int, process: subprocess.Popen, timeout: float = 60) -> Bidi:
    """Connect once Firefox listens, and start a session."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            bidi = Bidi(f"ws://127.0.0.1:{port}/session")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.25)
    bidi.cmd("session.new", capabilities={"alwaysMatch": {"acceptInsecureCerts": True}})
    return bidi
