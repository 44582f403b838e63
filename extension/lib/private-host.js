// Hosts the extension never fetches with the user's cookies, nor shows as a thumbnail: this computer,
// the local network and reserved addresses (a page may name its router, or an admin page on
// localhost). Their URLs go to the backend as URLs, whose netguard refuses them with a clear
// "blocked address" error. A public name can still lead there (its DNS answers 192.168.1.1):
// background.js then judges the address the browser connected to with addressKind. Loaded by
// background.js and the popup.
(() => {
  "use strict";
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});   // (namespace.js)

  const ipv4Number = (text) => text.split(".").reduce((n, part) => n * 256 + Number(part), 0);

  const PRIVATE_V4 = [
    ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
    ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15],
    ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
  ].map(([base, bits]) => [ipv4Number(base), bits]);
  // inside 192.0.0.0/24, public for netguard (Python's ipaddress): the PCP and TURN anycast addresses
  const PUBLIC_V4 = ["192.0.0.9", "192.0.0.10"].map(ipv4Number);

  // an IPv4 address as a number: null when public, "loopback" (127.0.0.0/8), else "private"
  const v4Kind = (n) => {
    if (Math.floor(n / 2 ** 24) === 127) return "loopback";
    if (PUBLIC_V4.includes(n)) return null;
    const listed = PRIVATE_V4.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
    return listed ? "private" : null;
  };

  const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
  const v4Valid = (text) => V4.test(text) && text.split(".").every((part) => Number(part) <= 255);

  // An IPv6 address's eight groups (an IPv4 address at its end and "::" expanded), or null when it is none.
  function ipv6Groups(text) {
    if (!text.includes(":")) return null;
    let head = text;
    let tail = [];
    const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      if (!v4Valid(v4[2])) return null;
      const n = ipv4Number(v4[2]);
      tail = [Math.floor(n / 65536), n % 65536];
      head = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
    }
    const halves = head.split("::");
    if (halves.length > 2) return null;
    const parse = (part) => (part ? part.split(":") : []).map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
    const left = parse(halves[0]);
    const right = [...(halves.length === 2 ? parse(halves[1]) : []), ...tail];
    const fill = 8 - left.length - right.length;
    if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
    const groups = [...left, ...new Array(fill).fill(0), ...right];
    return groups.some(Number.isNaN) ? null : groups;
  }

  // What an IP address (as the browser reports the one it connected to, or a URL's literal, in brackets
  // or not) is: null when public, "loopback" (this computer: 127.0.0.0/8, ::1 and 127.x as IPv4-mapped),
  // or "private": the local network, link-local, CGNAT, reserved, documentation, multicast, and
  // anything that is no IP address. The ranges are netguard's (backend/fakelens/fetch/netguard.py),
  // IPv4-mapped, NAT64 (64:ff9b::/96, where a DNS64 network puts every IPv4-only site) and 6to4 (2002::/16)
  // judged by the IPv4 address inside.
  root.addressKind = (address) => {
    const text = String(address || "").toLowerCase().replace(/^\[(.*)\]$/, "$1").split("%")[0]; // no zone id
    if (v4Valid(text)) return v4Kind(ipv4Number(text));
    const g = ipv6Groups(text);
    if (!g) return "private";
    const zeros = (from, to) => g.slice(from, to).every((x) => x === 0);
    if (zeros(0, 7) && g[7] === 1) return "loopback";
    if ((zeros(0, 5) && g[5] === 0xffff) || (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6))) {
      return v4Kind(g[6] * 65536 + g[7]);
    }
    if (g[0] === 0x2002) return v4Kind(g[1] * 65536 + g[2]); // 6to4 (2002::/16): the IPv4 address inside
    // only global unicast (2000::/3) less IETF/Teredo (2001::/23) and documentation (2001:db8::/32,
    // 3fff::/20); ::, fc00::/7, fe80::/10, fec0::/10 and multicast all lie outside 2000::/3
    const [a, b] = g;
    const publicV6 = (a & 0xe000) === 0x2000 && !(a === 0x2001 && (b < 0x200 || b === 0xdb8)) &&
      !(a === 0x3fff && b < 0x1000);
    return publicV6 ? null : "private";
  };

  root.privateHost = (url) => {
    let host;
    try {
      host = new URL(url).hostname.toLowerCase().replace(/\.+$/, ""); // the URL parser writes 0x7f.1 as dotted decimal
    } catch {
      return true;
    }
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith("[")) return root.addressKind(host) !== null;
    return !host.includes(".") || /\.(localhost|local|internal|lan|home\.arpa)$/.test(host);
  };
})();
