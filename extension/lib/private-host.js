// Hosts the extension never fetches with the user's cookies, nor shows as a thumbnail: this computer,
// the local network and reserved addresses (a page may name its router, or an admin page on
// localhost). Their URLs go to the backend as URLs, whose netguard refuses them with a clear
// "blocked address" error. Loaded by background.js and the popup.
(() => {
  "use strict";
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});   // (namespace.js)

  const ipv4Number = (text) => text.split(".").reduce((n, part) => n * 256 + Number(part), 0);

  const PRIVATE_V4 = [
    ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
    ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15],
    ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
  ].map(([base, bits]) => [ipv4Number(base), bits]);

  root.privateHost = (url) => {
    let host;
    try {
      host = new URL(url).hostname.toLowerCase().replace(/\.+$/, ""); // the URL parser writes 0x7f.1 as dotted decimal
    } catch {
      return true;
    }
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
      const n = ipv4Number(host);
      return PRIVATE_V4.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
    }
    if (host.startsWith("[")) {
      // only global unicast (2000::/3) less IETF/Teredo (2001::/23), documentation (2001:db8::/32,
      // 3fff::/20) and 6to4 (an IPv4 address inside); ::1, fc00::/7, fe80::/10, fec0::/10, multicast and
      // IPv4-mapped all lie outside 2000::/3
      const [a, b] = host.slice(1, -1).split(":").map((g) => parseInt(g || "0", 16));
      return (a & 0xe000) !== 0x2000 || (a === 0x2001 && (b < 0x200 || b === 0xdb8)) || a === 0x2002 ||
        (a === 0x3fff && b < 0x1000);
    }
    return !host.includes(".") || /\.(localhost|local|internal|lan|home\.arpa)$/.test(host);
  };
})();
