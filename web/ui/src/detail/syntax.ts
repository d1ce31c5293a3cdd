// Light syntax colouring of content view text (the server's
// syntax_highlight: "yaml" for JSON/YAML-like views, "xml" for XML/HTML),
// merged with the marks of a search; no DOM here.

export interface Token {
  start: number;
  end: number;
  cls: string;
}

/** Texts longer than this are shown without colours (tokenizing costs). */
export const MAX_HIGHLIGHT = 300_000;

const YAML =
  /("(?:[^"\\\n]|\\.)*")(\s*:(?=\s|$))?|('(?:[^'\n]|'')*')(\s*:(?=\s|$))?|((?<=^|\s)#[^\n]*)|(^[ \t]*(?:- +)?)([A-Za-z_$][\w.$-]*)(?=:(?:\s|$))|(?<![\w.])(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])|(?<![\w.])(true|false|null|True|False|None|~)(?![\w.])/gm;

function yamlTokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(YAML)) {
    const i = m.index!;
    if (m[1] !== undefined) {
      out.push({ start: i, end: i + m[1].length, cls: m[2] ? "key" : "string" });
    } else if (m[3] !== undefined) {
      out.push({ start: i, end: i + m[3].length, cls: m[4] ? "key" : "string" });
    } else if (m[5] !== undefined) {
      out.push({ start: i, end: i + m[5].length, cls: "comment" });
    } else if (m[7] !== undefined) {
      const s = i + m[6].length;
      out.push({ start: s, end: s + m[7].length, cls: "key" });
    } else if (m[8] !== undefined) {
      out.push({ start: i, end: i + m[8].length, cls: "number" });
    } else if (m[9] !== undefined) {
      out.push({ start: i, end: i + m[9].length, cls: "keyword" });
    }
  }
  return out;
}

const XML_TAG = /<!--[\s\S]*?(?:-->|$)|<![^>]*>|<\?[\s\S]*?(?:\?>|$)|<\/?[A-Za-z][^>]*>?/g;
const XML_INSIDE = /^(<\/?)([\w:.-]+)|([\w:.-]+)(?=\s*=)|("[^"]*"|'[^']*')/g;

function xmlTokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(XML_TAG)) {
    const i = m.index!;
    const tag = m[0];
    if (tag.startsWith("<!--")) {
      out.push({ start: i, end: i + tag.length, cls: "comment" });
      continue;
    }
    if (tag.startsWith("<!") || tag.startsWith("<?")) {
      out.push({ start: i, end: i + tag.length, cls: "meta" });
      continue;
    }
    for (const t of tag.matchAll(XML_INSIDE)) {
      const j = i + t.index!;
      if (t[2] !== undefined) out.push({ start: j + t[1].length, end: j + t[1].length + t[2].length, cls: "tag" });
      else if (t[3] !== undefined) out.push({ start: j, end: j + t[3].length, cls: "attr" });
      else if (t[4] !== undefined) out.push({ start: j, end: j + t[4].length, cls: "string" });
    }
  }
  return out;
}

/** The coloured tokens of text, in order and not overlapping. */
export function tokenize(text: string, syntax: string | undefined): Token[] {
  if (text.length > MAX_HIGHLIGHT) return [];
  switch (syntax) {
    case "yaml":
    case "json":
    case "javascript":
      return yamlTokens(text);
    case "xml":
    case "html":
      return xmlTokens(text);
  }
  return [];
}

export interface Piece {
  text: string;
  /** Colour class, if any. */
  cls?: string;
  /** The search match this piece belongs to, if any (a match may span pieces). */
  match?: number;
}

export interface Pieces {
  pieces: Piece[];
  count: number;
  capped: boolean;
}

/**
 * Cuts text at the token bounds and at the case-insensitive matches of
 * query (at most limit of them).
 */
export function pieces(text: string, tokens: Token[], query: string, limit = 2000): Pieces {
  const matches: [number, number][] = [];
  let capped = false;
  if (query) {
    const hay = text.toLowerCase();
    const needle = query.toLowerCase();
    for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) {
      if (matches.length >= limit) {
        capped = true;
        break;
      }
      matches.push([i, i + needle.length]);
    }
  }
  const cuts = new Set<number>([0, text.length]);
  for (const t of tokens) cuts.add(t.start).add(t.end);
  for (const [a, b] of matches) cuts.add(a).add(b);
  const bounds = [...cuts].sort((x, y) => x - y);
  const out: Piece[] = [];
  let ti = 0;
  let mi = 0;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const a = bounds[k];
    const b = bounds[k + 1];
    if (a === b) continue;
    while (ti < tokens.length && tokens[ti].end <= a) ti++;
    while (mi < matches.length && matches[mi][1] <= a) mi++;
    const p: Piece = { text: text.slice(a, b) };
    if (ti < tokens.length && tokens[ti].start <= a && b <= tokens[ti].end) p.cls = tokens[ti].cls;
    if (mi < matches.length && matches[mi][0] <= a && b <= matches[mi][1]) p.match = mi;
    const last = out[out.length - 1];
    if (last && last.cls === p.cls && last.match === p.match) last.text += p.text;
    else out.push(p);
  }
  if (out.length === 0) out.push({ text: "" });
  return { pieces: out, count: matches.length, capped };
}
