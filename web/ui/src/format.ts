// Formatting helpers for the flow list and the event log: sizes, durations,
// timestamps and addresses as mitmweb shows them.

/** formatSize shows a byte count with a binary unit: 0, 512b, 1.5kb, 2mb. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return "0";
  const units = ["b", "kb", "mb", "gb", "tb"];
  let i = 0;
  while (i < units.length - 1 && bytes >= 1024 ** (i + 1)) i++;
  const scaled = bytes / 1024 ** i;
  // Whole multiples of the unit are shown without a decimal.
  const digits = bytes % 1024 ** i === 0 ? 0 : 1;
  return scaled.toFixed(digits) + units[i];
}

/** formatTimeDelta shows a duration in milliseconds: 15ms, 3s, 2min, 1h. */
export function formatTimeDelta(ms: number): string {
  const steps: [number, string][] = [
    [1000, "ms"],
    [60, "s"],
    [60, "min"],
  ];
  let t = ms;
  for (const [div, unit] of steps) {
    if (Math.abs(t) < div) return Math.round(t) + unit;
    t /= div;
  }
  return Math.round(t) + "h";
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** formatTimeStamp shows seconds since the epoch as local
 * "YYYY-MM-DD HH:MM:SS.mmm". */
export function formatTimeStamp(seconds: number, millis = true): string {
  const d = new Date(seconds * 1000);
  let s =
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (millis) s += "." + pad(d.getMilliseconds(), 3);
  return s;
}

/** formatAddress shows a (host, port) pair, bracketing IPv6 hosts. */
export function formatAddress(a: [string, number] | null | undefined): string {
  if (!a) return "";
  return a[0].includes(":") ? `[${a[0]}]:${a[1]}` : `${a[0]}:${a[1]}`;
}
