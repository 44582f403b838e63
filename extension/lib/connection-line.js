// The backend's state line and its one-line fix (#connection, #fix), shown by the popup and Options.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  // "Start it with `fakelens serve`" -> text with <code>.
  function withCode(node, text) {
    node.replaceChildren(
      ...text.split(/(`[^`]+`)/).map((part) =>
        part.startsWith("`") ? Object.assign(document.createElement("code"), { textContent: part.slice(1, -1) }) : part,
      ),
    );
  }
  FL.withCode = withCode;

  function render(state) {
    const look = FL.describeConnection(state);
    const line = document.getElementById("connection");
    line.className = `connection ${look.tone}`;
    // set once the answer is in (what a wait for it looks for)
    if (state.state === "pending") delete line.dataset.state;
    else line.dataset.state = state.state;
    line.querySelector(".icon").textContent = look.icon;
    const models = state.state === "ok" && state.models ? `, ${state.models} models` : "";
    line.querySelector(".text").textContent =
      ["unreachable", "not_answering", "wrong_host"].includes(state.state) && state.url ? `${look.text} at ${state.url}` : look.text + models;
    const fix = document.getElementById("fix");
    fix.hidden = !look.fix;
    withCode(fix, onOptions ? look.fix.replace(/ in Options\b/g, " above") : look.fix);
  }
  // on the Options page itself, "paste the token in Options" sent the user where they were: the fields
  // are above this line there
  const onOptions = location.pathname.endsWith("/options/options.html");

  FL.showConnection = async (fresh = true) => {
    // a fresh check can take seconds (a backend that does not answer: 5): the old line, "Connected"
    // say, must not stand meanwhile as if it were the answer
    if (fresh) render({ state: "pending" });
    let state;
    try {
      state = await FL.ask("connection", { fresh });
    } catch {
      state = { state: "unknown" };
    }
    render(state);
    return state;
  };
})();
