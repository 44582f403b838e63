// Options: backend URL, pairing token, automatic checks, per-site switch, minimum size.
// Saving re-checks the connection, so pairing shows "Connected" (or the exact fix) at once.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const $ = (id) => document.getElementById(id);

  function withCode(node, text) {
    node.replaceChildren(
      ...text.split(/(`[^`]+`)/).map((part) =>
        part.startsWith("`") ? Object.assign(document.createElement("code"), { textContent: part.slice(1, -1) }) : part,
      ),
    );
  }

  async function showConnection(fresh) {
    let state;
    try {
      state = await FL.ask("connection", { fresh });
    } catch {
      state = { state: "unknown" };
    }
    const look = FL.describeConnection(state);
    const line = $("connection");
    line.className = `connection ${look.tone}`;
    line.dataset.state = state.state;
    line.querySelector(".icon").textContent = look.icon;
    const models = state.state === "ok" && state.models ? `, ${state.models} models` : "";
    line.querySelector(".text").textContent = state.state === "unreachable" ? `${look.text} at ${state.url}` : look.text + models;
    $("fix").hidden = !look.fix;
    withCode($("fix"), look.fix);
  }

  async function load() {
    const s = await FL.getSettings();
    $("backendUrl").value = s.backendUrl;
    $("token").value = s.token;
    $("autoCheck").checked = s.autoCheck;
    $("minSize").value = s.minSize;
    $("disabledSites").value = s.disabledSites.join("\n");
  }

  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const minSize = Math.max(32, Math.min(2000, Number($("minSize").value) || FL.DEFAULT_SETTINGS.minSize));
    await FL.saveSettings({
      backendUrl: $("backendUrl").value.trim().replace(/\/+$/, "") || FL.DEFAULT_SETTINGS.backendUrl,
      token: $("token").value.trim(),
      autoCheck: $("autoCheck").checked,
      minSize,
      disabledSites: $("disabledSites").value.split(/\s+/).map((s) => FL.siteKey(`http://${s.replace(/^\w+:\/\//, "")}`)).filter(Boolean),
    });
    await load();
    await showConnection(true);
  });

  load().then(() => showConnection(true));
})();
