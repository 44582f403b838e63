// A button busy with its work: it ignores clicks and says so (aria-disabled) but keeps the keyboard
// focus. A `disabled` button drops the focus to the page's body, and a keyboard user starts over.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  FL.setBusy = (button, busy) => button.setAttribute("aria-disabled", busy ? "true" : "false");
  FL.isBusy = (button) => button.getAttribute("aria-disabled") === "true";
})();
