// Options: backend URL, pairing token, automatic checks, per-site switch, minimum size; clearing
// the backend's history.
// Saving re-checks the connection, so pairing shows "Connected" (or the exact fix) at once.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const $ = (id) => document.getElementById(id);

  // Fields the user changed since they were filled. The others follow the settings as they change
  // elsewhere (the popup's site switch): a save here wrote back every field as loaded, and undid it.
  const edited = new Set();
  for (const type of ["input", "change"]) {
    $("form").addEventListener(type, (event) => {
      edited.add(event.target.id);
      $("saved").textContent = "";   // "Saved." was about the fields before this edit
    });
  }

  // Tokens are URL-safe base64 (Python's token_urlsafe, 43 characters). What is pasted may hold more:
  // the whole line `fakelens serve` prints ("pairing token (paste it into the extension's options): …",
  // whose words were glued onto it), an invisible character from a chat (U+200B), a line break. The
  // token is its last run of token characters of a token's length (not merely a long one: the line
  // after it names the token's folder, and a user's name of 20 letters in it was taken for the token);
  // anything else is kept as typed, without the characters no token has.
  function pastedToken(text) {
    const runs = (text.match(/[A-Za-z0-9_-]+/g) || []).filter((run) => run.length === 43);
    return runs.length ? runs[runs.length - 1] : text.replace(/[^A-Za-z0-9_-]/g, "");
  }

  async function load() {
    const s = await FL.getSettings();
    const fill = (id, write) => { if (!edited.has(id)) write($(id)); };
    // the address actually used, and why, when it is not the one saved (by a version that took it)
    const used = FL.backendUrlInUse(s.backendUrl);
    fill("backendUrl", (field) => { field.value = used; });
    const problem = FL.backendUrlProblem(s.backendUrl);
    // (a status line is shown before its words are written: words written while hidden are not read)
    $("backendNote").hidden = !problem;
    $("backendNote").textContent = problem
      ? `The backend URL saved earlier, ${s.backendUrl}, ${problem}: ${used} is used instead. Save to keep it.` : "";
    fill("token", (field) => { field.value = s.token; });
    fill("autoCheck", (field) => { field.checked = s.autoCheck; });
    fill("minSize", (field) => { field.value = s.minSize; });
    fill("disabledSites", (field) => { field.value = s.disabledSites.join("\n"); });
  }
  FL.ext.storage.onChanged.addListener((_changes, area) => {
    if (area === "local") load();
  });

  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("saved").textContent = "";
    $("notSaved").hidden = true;
    $("notSaved").textContent = "";
    const minSize = Math.max(32, Math.min(2000, Number($("minSize").value) || FL.DEFAULT_SETTINGS.minSize));
    const backendUrl = $("backendUrl").value.trim() ? FL.localBackendUrl($("backendUrl").value) : FL.DEFAULT_SETTINGS.backendUrl;
    if (!backendUrl) {
      // never saved: the token and the media must not go to another computer, nor to a name FakeLens refuses
      const instead = FL.backendUrlInstead($("backendUrl").value);
      $("fix").hidden = false;
      FL.withCode($("fix"), `The backend URL ${FL.backendUrlProblem($("backendUrl").value) || "is not usable"}: ` +
        (instead ? `use ${instead} (or ${FL.BACKEND_NAMES.slice(1).join(" or ")} on that port). `
          : `such as ${FL.DEFAULT_SETTINGS.backendUrl} or http://localhost:PORT (the port \`fakelens serve\` prints). `) +
        "Nothing was saved.");
      // said where the user is: the field is marked wrong, described by the message, and focused
      $("backendUrl").setAttribute("aria-invalid", "true");
      $("backendUrl").setAttribute("aria-describedby", "fix");
      $("backendUrl").focus();
      return;
    }
    $("backendUrl").removeAttribute("aria-invalid");
    $("backendUrl").removeAttribute("aria-describedby");
    // "*.example.com" and ".example.com" mean example.com (and its subdomains); what is no host name is
    // left out, and said
    const entries = $("disabledSites").value.split(/[\s,;]+/).filter(Boolean);
    const disabledSites = [...new Set(entries.map(FL.siteEntry).filter(Boolean))];
    const skipped = entries.filter((entry) => !FL.siteEntry(entry));
    try {
      await FL.saveSettings({
        backendUrl,
        token: pastedToken($("token").value),
        autoCheck: $("autoCheck").checked,
        minSize,
        disabledSites,
      });
    } catch (err) {
      // the browser refused its storage (site data switched off for extensions, a full disk)
      // an alert: the save the user just asked for did not happen
      $("notSaved").hidden = false;
      $("notSaved").textContent = `Not saved: the browser would not store the settings (${(err && err.message) || err}).`;
      return;
    }
    edited.clear();
    // said, since a save that leaves the connection as it was changes nothing else on the page
    $("saved").textContent = "Saved.";
    await load();
    $("sitesNote").hidden = !skipped.length;
    $("sitesNote").textContent = skipped.length ? `Not a site name, left out: ${skipped.join(", ")}` : "";
    await FL.showConnection(true);
  });

  $("clearHistory").addEventListener("click", async () => {
    // nothing of it can be brought back: checks, cached results, report pictures, running checks
    if (FL.isBusy($("clearHistory"))) return;
    if (!confirm("Delete all FakeLens history (every check, cached result and report picture) and cancel the checks running now?")) return;
    const button = $("clearHistory");
    FL.setBusy(button, true);
    try {
      const { deleted, warning } = await FL.ask("clear-history", {});
      $("cleared").textContent = `History cleared: ${deleted} ${deleted === 1 ? "check" : "checks"} and every cached result deleted.`
        + (typeof warning === "string" ? ` But ${warning}.` : "");
    } catch (err) {
      $("cleared").textContent = `Not cleared: ${err.message}`;
      FL.showConnection(true);   // the line said "Connected" beside it: the backend's state now, and its fix
    } finally {
      FL.setBusy(button, false);
    }
  });

  // Site access: host permissions may be withheld (Firefox leaves them to the user; Chrome's "on
  // click" site access). Without them no page is read, so say so where it can be granted. What the
  // content scripts need is every http and https page (their match patterns), granted as those two or
  // as <all_urls>: Firefox grants the two with the extension, and with them still granted after the
  // user took <all_urls> away, FakeLens works on every page (this box said it did not).
  const ALL_SITES = { origins: ["<all_urls>"] };
  const WEB_PAGES = { origins: ["http://*/*", "https://*/*"] };
  async function showAccess() {
    const contains = (what) => FL.ext.permissions.contains(what).catch(() => false);
    $("access").hidden = (await contains(WEB_PAGES)) || (await contains(ALL_SITES));
  }
  $("grantAccess").addEventListener("click", async () => {
    // asked for first: the browser grants a request only inside the click's own turn
    const asked = FL.ext.permissions.request(ALL_SITES);
    const granted = await asked.catch(() => false);
    $("accessNote").textContent = granted ? "" :
      "Not allowed. FakeLens stays off on pages until you allow it here or in the browser's Extensions menu.";
    await showAccess();
  });
  FL.ext.permissions.onAdded.addListener(showAccess);
  FL.ext.permissions.onRemoved.addListener(showAccess);

  // The keyboard command's shortcut as the browser has it: the user may have changed it, and Chrome
  // leaves it unset when another extension has Alt+Shift+K
  async function showShortcut() {
    const commands = FL.ext.commands && FL.ext.commands.getAll ? await FL.ext.commands.getAll().catch(() => []) : [];
    const command = commands.find((c) => c.name === "check-focused");
    if (!command) return;   // (a browser that does not say: the default stays)
    const keys = (command.shortcut || "").split("+").filter(Boolean);
    $("shortcut").replaceChildren(...(keys.length ? keys.flatMap((k, i) => {
      const kbd = document.createElement("kbd");
      kbd.textContent = k;
      return i ? ["+", kbd] : [kbd];
    }) : ["The keyboard command"]));
    $("shortcutNote").hidden = !!keys.length;
    $("shortcutNote").textContent = keys.length ? "" : "It has no shortcut now (another extension may have taken Alt+Shift+K): set one.";
  }

  load().then(() => FL.showConnection(true));
  showAccess();
  showShortcut();
})();
