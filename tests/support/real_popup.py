"""The extension's real toolbar popup (chrome.action.openPopup), driven over the DevTools protocol.

A popup opened as a page of its own (popup.html?tab=ID, or a tab) is a tab, and behaves as one; the
toolbar's popup is no tab (tabs.getCurrent() gives none), and Playwright does not hand it out as a
page: its target is attached here and spoken to with Runtime.evaluate.

    popup = RealPopup(browser, page)      # page: any page of the browser's context
    popup.wait("document.querySelector('#connection').dataset.state === 'ok'")
    popup.js("document.querySelector('#summary').textContent")
"""

import itertools
import json
import time


class RealPopup:
    def __init__(self, browser, page, timeout: float = 10.0):
        self.cdp = browser.context.new_cdp_session(page)
        browser.sw("() => chrome.action.openPopup()")
        deadline = time.monotonic() + timeout
        while not (targets := [t for t in self.cdp.send("Target.getTargets")["targetInfos"]
                               if t["url"].startswith(browser.url("popup/popup.html"))]):
            assert time.monotonic() < deadline, "the toolbar popup did not open"
            time.sleep(0.1)
        self.answers = {}
        self.ids = itertools.count(1)
        self.cdp.on("Target.receivedMessageFromTarget", self._received)
        self.session = self.cdp.send("Target.attachToTarget", {"targetId": targets[0]["targetId"],
                                                               "flatten": False})["sessionId"]

    def _received(self, event):
        message = json.loads(event["message"])
        if "id" in message:
            self.answers[message["id"]] = message

    def _send(self, method: str, params: dict, timeout: float = 20.0):
        i = next(self.ids)
        self.cdp.send("Target.sendMessageToTarget", {"sessionId": self.session,
                                                     "message": json.dumps({"id": i, "method": method, "params": params})})
        deadline = time.monotonic() + timeout
        while i not in self.answers:
            assert time.monotonic() < deadline, f"the popup did not answer {method}"
            self.cdp.send("Browser.getVersion")   # lets the events come in
            time.sleep(0.05)
        return self.answers.pop(i)

    def js(self, expression: str):
        """The value of `expression` (awaited) in the popup."""
        answer = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        assert "exceptionDetails" not in answer.get("result", {}), answer
        return answer["result"]["result"].get("value")

    def wait(self, expression: str, timeout: float = 10.0):
        """Waits until `expression` is true in the popup."""
        deadline = time.monotonic() + timeout
        while not self.js(expression):
            # what the popup said instead
            assert time.monotonic() < deadline, (f"never true in the popup: {expression}",
                                                 self.js("document.body.innerText.slice(0, 300)"))
            time.sleep(0.1)

    def close(self):
        try:
            self.js("window.close()")
        except AssertionError:
            pass   # gone already
        self.cdp.detach()
