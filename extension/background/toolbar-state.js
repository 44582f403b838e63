// The toolbar icon always shows the backend's state: a red "!" when it is not reachable (or does not answer),
// "key" when the token is missing or wrong; the tooltip says the fix. Text with the colour.
const ext = globalThis.browser ?? globalThis.chrome;

const LOOK = {
  ok: { text: "", color: "#1b5e20", title: "FakeLens: connected" },
  unreachable: { text: "!", color: "#b00020", title: 'FakeLens: backend not reachable. Start it with "fakelens serve".' },
  not_answering: { text: "!", color: "#b00020", title: 'FakeLens: the backend does not answer. Is "fakelens serve" paused (Ctrl+Z)? Bring it back with "fg", or restart it.' },
  wrong_host: { text: "!", color: "#b00020", title: "FakeLens: wrong backend address (another host name or port). Fix it in Options." },
  unauthorized: { text: "key", color: "#b00020", title: 'FakeLens: token rejected. Run "fakelens token" and paste it in Options.' },
  incompatible: { text: "!", color: "#b00020", title: "FakeLens: the backend is another version than this extension. Update both from one release." },
  trouble: { text: "!", color: "#b00020", title: "FakeLens: the backend answers with an error. Open this popup for what it said." },
  unpaired: { text: "key", color: "#8a5a00", title: 'FakeLens: not paired. Run "fakelens token" and paste it in Options.' },
};

export async function showConnection(connection) {
  const look = LOOK[connection.state] || { text: "…", color: "#555555", title: "FakeLens" };
  await Promise.all([
    ext.action.setBadgeText({ text: look.text }),
    ext.action.setBadgeBackgroundColor({ color: look.color }),
    ext.action.setTitle({ title: look.title }),
  ]).catch(() => {});
}
