// The search and highlight filters and the selected flow live in the
// page's hash, as mitmweb's (#/flows?s=~u+api&h=~c+500, #/flows/<id>), so
// that a reload or a shared link keeps them.

export interface URLState {
  search: string;
  highlight: string;
  selected: string;
}

export function parseHash(hash: string): URLState {
  const s: URLState = { search: "", highlight: "", selected: "" };
  const h = hash.replace(/^#/, "");
  const [path, query = ""] = h.split("?", 2);
  const m = /^\/flows\/([^/]+)/.exec(path);
  if (m) s.selected = decodeURIComponent(m[1]);
  const q = new URLSearchParams(query);
  s.search = q.get("s") ?? "";
  s.highlight = q.get("h") ?? "";
  return s;
}

export function formatHash(s: URLState): string {
  let h = "#/flows";
  if (s.selected) h += "/" + encodeURIComponent(s.selected) + "/request";
  const q = new URLSearchParams();
  if (s.search) q.set("s", s.search);
  if (s.highlight) q.set("h", s.highlight);
  const qs = q.toString();
  return qs ? h + "?" + qs : h;
}
