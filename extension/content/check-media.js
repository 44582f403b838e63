// Checking one media element: ask background.js, follow the job, draw the badge as it goes.
// At most a few checks run at once per page; a URL already checked is not sent again.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const MAX_RUNNING = 3;
  const MAX_REMEMBERED = 500; // finished checks kept per page; older ones are asked again (the backend caches them)
  const byUrl = new Map(); // media URL -> promise of the final check, oldest first
  const finished = new WeakSet(); // those promises that have settled
  const started = new WeakMap(); // element -> the media URL checked on it (a new src is a new check)
  let running = 0;
  // Checks waiting for a slot: {key, userAsked, elements, resolve}. The user's (a hover, the keyboard,
  // a retry) go before the automatic ones, which every image coming into view queues; an automatic
  // one whose elements all left the page (a feed scrolled on, a view closed) is dropped at its turn.
  const queue = [];

  // "Clear FakeLens history" (Options): the verdicts this page remembers, and those drawn on it, go with
  // the checks (the media are not checked again for it)
  FL.contentHandlers["history-cleared"] = () => {
    byUrl.clear();
    FL.badges.removeAll();
    return true;
  };

  // Whether a check may still run: not once its site is switched off, and an automatic one not once
  // automatic checks are off (a page of 60 photos had every one still waiting uploaded after the switch).
  const allowed = (turn) => FL.uiAllowed() && (turn.userAsked || (FL.settings || FL.DEFAULT_SETTINGS).autoCheck);

  // Resolves true once the check may run (it holds a slot until release()), false when dropped.
  function slot(turn) {
    if (running < MAX_RUNNING) {
      running += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => queue.push(Object.assign(turn, { resolve }))); // the same object: a user asking meanwhile marks it
  }
  function release() {
    running -= 1;
    for (const turn of queue.filter((t) => !t.userAsked && ![...t.elements].some((el) => el.isConnected))) {
      queue.splice(queue.indexOf(turn), 1);
      turn.resolve(false);
    }
    const next = queue.find((t) => t.userAsked) || queue[0];
    if (!next) return;
    queue.splice(queue.indexOf(next), 1);
    running += 1;
    next.resolve(true);
  }

  // The settings changed: the checks waiting that may no longer run are dropped now, not at their turn.
  FL.dropDisallowedChecks = () => {
    for (const turn of queue.filter((t) => !allowed(t))) {
      queue.splice(queue.indexOf(turn), 1);
      turn.resolve(false);
    }
  };

  // A blob: image belongs to the page; read its bytes here and hand them over as a data: URL
  // (its type and size are known before it is read: a blob: video is never read).
  const MAX_BLOB_BYTES = 20 * 1024 * 1024;
  async function readableUrl(url) {
    if (!/^blob:/.test(url)) return url;
    try {
      const res = await fetch(url);
      const type = res.headers.get("content-type") || "";
      if (!/^image\//.test(type) || Number(res.headers.get("content-length") || 0) > MAX_BLOB_BYTES) return url;
      const blob = await res.blob();
      if (blob.size > MAX_BLOB_BYTES) return url;
      return await new Promise((resolve) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result);
        reader.onerror = () => resolve(url);
        reader.readAsDataURL(blob);
      });
    } catch {
      return url;
    }
  }

  FL.readableUrl = readableUrl;   // the right-click check needs it too

  // An automatic check the user then asks for (a hover, the keyboard) while it waits in the backend's
  // queue is moved ahead of the other automatic ones there too, once.
  function raise(turn) {
    if (!turn.sentLow || !turn.userAsked || !turn.check || turn.check.status !== "queued") return;
    turn.sentLow = false;
    FL.ask("raise-check", { id: turn.check.id }).catch(() => {}); // it runs in its turn all the same
  }

  async function follow(media, onUpdate, turn) {
    if (!(await slot(turn))) return null;
    try {
      if (!allowed(turn)) return null;   // switched off while it waited
      const url = media.kind === "image" ? await readableUrl(media.url) : media.url;
      // automatic checks wait in the backend's queue behind what the user asks for
      turn.sentLow = !turn.userAsked;
      const check = await FL.ask("check", { media: { ...media, url, pageUrl: location.href, automatic: turn.sentLow } });
      turn.check = check;
      raise(turn);   // asked for while it was being sent
      onUpdate(check);
      const update = (latest) => {
        turn.check = latest;
        onUpdate(latest);
      };
      try {
        return await FL.followCheck(check, (id) => FL.ask("check-status", { id }), update, { delay: 500, longest: 2500 });
      } catch (err) {
        // made, then gone from the backend while followed: the history was cleared, not a failure
        if (err.code === "not_found") return FL.removedCheck();
        throw err;
      }
    } finally {
      release();
    }
  }

  // Check `el`; `userAsked` is false for automatic checks, which stay silent about a missing backend.
  FL.checkElement = async (el, { userAsked = false } = {}) => {
    const media = FL.describeMedia(el);
    if (!media || !media.url) return null;
    // checked already, unless its badge went (the element left the page and came back: a cached
    // view, a recycled list row), when the same check (remembered or asked again) is drawn again
    if (started.get(el) === media.key && FL.badges.has(el) && !userAsked) return null;
    started.set(el, media.key);
    // Pages swap an element's src (carousels, lazy loaders, players): draw only on the media checked.
    // Whether it was drawn: a verdict not drawn (the element shows other media now) is not said either,
    // or the old slide's verdict would be read out under the new slide's name.
    const draw = (check, note) => FL.uiAllowed() && FL.badges.show(el, check, note, media.key) !== null;
    const key = `${media.kind} ${media.key}`;
    let pending = byUrl.get(key);
    const turn = pending && !finished.has(pending) && pending.turn;
    if (!(turn && FL.badges.has(el))) draw(null);   // (a waiting badge clicked keeps saying where it waits)
    if (turn) {   // this element wants it too, and the user asking moves it ahead of automatic ones
      turn.elements.add(el);   // (here, waiting for a slot, or in the backend's queue)
      turn.userAsked = turn.userAsked || userAsked;
      raise(turn);
    }
    if (!pending) {
      const turn = { key, userAsked, elements: new Set([el]) };
      pending = follow(media, (check) => draw(check), turn);
      pending.turn = turn;   // let go once settled: it holds the elements (a feed drops them as it scrolls)
      pending.then(() => finished.add(pending), () => {}).finally(() => delete pending.turn);
      byUrl.set(key, pending);
      // a feed scrolled for hours must not keep every result for the page's life: the oldest finished go
      if (byUrl.size > MAX_REMEMBERED) {
        const oldest = [...byUrl].find(([, p]) => finished.has(p));
        if (oldest) byUrl.delete(oldest[0]);
      }
    }
    try {
      const check = await pending;
      if (!check) {   // dropped while waiting: its element left the page (it is asked again if it comes back),
        if (byUrl.get(key) === pending) byUrl.delete(key);   // or its site or automatic checks were switched off
        started.delete(el);
        FL.badges.remove(el);   // no "Checking…" left for a check that will not run
        return null;
      }
      if (draw(check) && userAsked) FL.badges.announce(el, check);   // the verdict the user asked for, said once
      if (check.status !== "done" && byUrl.get(key) === pending) byUrl.delete(key); // let a later hover retry
      return check;
    } catch (err) {
      if (byUrl.get(key) === pending) byUrl.delete(key);
      started.delete(el);
      if (FL.connectionTrouble(err) && !userAsked) {
        FL.badges.remove(el);
        if (FL.autoCheck) {
          FL.autoCheck.pause();
          FL.autoCheck.observe(el); // checked again when it next comes into view
        }
        return null;
      }
      const check = FL.failedCheck(err);
      const fix = FL.connectionTrouble(err) ? FL.describeConnection({ state: err.code }).fix : "";
      if (draw(check, fix) && userAsked) FL.badges.announce(el, check);
      return check;
    }
  };
})();
