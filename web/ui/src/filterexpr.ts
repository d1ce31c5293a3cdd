// A check of ~ filter expressions before they are sent to the server
// (flows/updateFilter), following the grammar of mitmgo's filter package
// (mitmproxy's flowfilter): or-joined and-joined not-expressions of
// operators, bare or quoted regexes and parenthesised groups, with plain
// juxtaposition meaning "and" at the top level. The server closes the
// /updates connection on an expression it cannot parse, so the page sends
// only expressions that pass this check.

export type ArgKind = "none" | "regex" | "int";

/** Operators: "~q" -> "none", "~h" -> "regex", "~c" -> "int". */
export type OperatorTable = Map<string, ArgKind>;

/** operatorsFromHelp reads the operators from GET /filter-help's
 * [expr, help] pairs ("~h regex", "~c int", "~q"). */
export function operatorsFromHelp(commands: [string, string][]): OperatorTable {
  const t: OperatorTable = new Map();
  for (const [expr] of commands) {
    const m = /^~(\S+)(?:\s+(regex|int))?$/.exec(expr);
    if (m) t.set(m[1], (m[2] as ArgKind) ?? "none");
  }
  return t;
}

/** The operators of mitmproxy 12, for use before /filter-help answers. */
export const defaultOperators: OperatorTable = operatorsFromHelp(
  [
    "~a", "~all", "~b regex", "~bq regex", "~bs regex", "~c int", "~comment regex",
    "~d regex", "~dns", "~dst regex", "~e", "~h regex", "~hq regex", "~hs regex",
    "~http", "~m regex", "~marked", "~marker regex", "~meta regex", "~q", "~replay",
    "~replayq", "~replays", "~s", "~src regex", "~t regex", "~tcp", "~tq regex",
    "~ts regex", "~u regex", "~udp", "~websocket",
  ].map((e) => [e, ""] as [string, string]),
);

export interface CheckResult {
  ok: boolean;
  /** error says what is wrong, and where (offset in the expression). */
  error?: string;
  offset?: number;
}

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r";
const isWord = (c: string) => !isSpace(c) && c !== "(" && c !== ")" && c !== "~" && c !== "'" && c !== '"';
const isPrintable = (c: string) => c >= "!" && c <= "~";

class Fail extends Error {
  constructor(
    msg: string,
    public offset: number,
  ) {
    super(msg);
  }
}

/** checkFilter reports whether the server will accept expr. */
export function checkFilter(expr: string, ops: OperatorTable = defaultOperators): CheckResult {
  if (expr.trim() === "") return { ok: false, error: "empty expression", offset: 0 };
  const p = new Parser(expr, ops);
  try {
    p.parseTop();
    return { ok: true };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: e.message, offset: e.offset };
    throw e;
  }
}

class Parser {
  pos = 0;
  failPos = -1;
  failMsg = "";
  depth = 0;
  constructor(
    private src: string,
    private ops: OperatorTable,
  ) {}

  private fail(pos: number, msg: string) {
    if (this.failMsg === "" || pos > this.failPos) {
      this.failPos = pos;
      this.failMsg = msg;
    }
  }

  private skip() {
    while (this.pos < this.src.length && isSpace(this.src[this.pos])) this.pos++;
  }

  private at(pos: number): string {
    return pos >= this.src.length ? "the end of the expression" : JSON.stringify(this.src[pos]);
  }

  parseTop() {
    let items = 0;
    for (;;) {
      const save = this.pos;
      if (!this.parseJoined("|", () => this.parseJoined("&", () => this.parseNot()))) {
        this.pos = save;
        break;
      }
      items++;
    }
    this.skip();
    if (items > 0 && this.pos === this.src.length) return;
    if (this.failMsg === "" || this.pos > this.failPos) this.fail(this.pos, "unexpected " + this.at(this.pos));
    throw new Fail(this.failMsg, this.failPos);
  }

  private parseJoined(op: string, next: () => boolean): boolean {
    if (!next()) return false;
    for (;;) {
      const save = this.pos;
      this.skip();
      if (this.src[this.pos] !== op) {
        this.pos = save;
        return true;
      }
      this.pos++;
      if (!next()) {
        this.pos = save;
        return true;
      }
    }
  }

  private enter() {
    if (++this.depth > 1000) throw new Fail("expression nested too deeply", this.pos);
  }

  private parseNot(): boolean {
    const save = this.pos;
    this.skip();
    if (this.src[this.pos] === "!") {
      this.enter();
      this.pos++;
      const ok = this.parseNot();
      this.depth--;
      if (ok) return true;
    }
    this.pos = save;
    return this.parsePrimary();
  }

  private parsePrimary(): boolean {
    this.skip();
    const start = this.pos;
    if (this.parseAtom()) return true;
    this.pos = start;
    if (this.src[this.pos] === "(") {
      this.enter();
      try {
        this.pos++;
        if (this.parseJoined("|", () => this.parseJoined("&", () => this.parseNot()))) {
          this.skip();
          if (this.src[this.pos] === ")") {
            this.pos++;
            return true;
          }
          if (this.pos >= this.src.length) this.fail(this.pos, `missing ")" (opened at column ${start + 1})`);
          else this.fail(this.pos, 'expected "&", "|" or ")" (inside parentheses, filters must be joined with & or |)');
        }
        this.pos = start;
        return false;
      } finally {
        this.depth--;
      }
    }
    this.fail(start, "unexpected " + this.at(start));
    return false;
  }

  private parseAtom(): boolean {
    this.skip();
    const start = this.pos;
    const s = this.src;
    if (start >= s.length) {
      this.fail(start, "expected a filter, found the end of the expression");
      return false;
    }
    if (s[start] !== "~") {
      const tok = this.regexToken("expected a filter");
      if (tok === null) return false;
      checkRegex(tok, start);
      return true;
    }
    let end = start + 1;
    while (end < s.length && isPrintable(s[end])) end++;
    const code = s.slice(start + 1, end);
    const kind = this.ops.get(code);
    if (kind === undefined) {
      this.fail(start, this.unknownOp(code));
      return false;
    }
    this.pos = end;
    if (kind === "none") return true;
    if (kind === "int") {
      this.skip();
      const ds = this.pos;
      while (this.pos < s.length && s[this.pos] >= "0" && s[this.pos] <= "9") this.pos++;
      if (this.pos === ds) {
        this.fail(ds, `~${code} expects a status code (digits), found ${this.at(ds)}`);
        this.pos = start;
        return false;
      }
      return true;
    }
    const argStart = this.pos;
    const tok = this.regexToken(`~${code} expects a regex`);
    if (tok === null) {
      this.pos = start;
      return false;
    }
    checkRegex(tok, argStart);
    return true;
  }

  private unknownOp(code: string): string {
    for (let i = code.length - 1; i > 0; i--) {
      if (this.ops.has(code.slice(0, i)) && !/[A-Za-z]/.test(code[i])) {
        return `"~${code.slice(0, i)}" must be followed by whitespace or the end of the expression, not ${JSON.stringify(code[i])}`;
      }
    }
    if (code === "") return '"~" must be followed by an operator name';
    return `unknown operator "~${code}"`;
  }

  /** regexToken reads a bare word or a quoted string, or fails (null). */
  private regexToken(what: string): string | null {
    this.skip();
    const s = this.src;
    const start = this.pos;
    if (start >= s.length) {
      this.fail(start, what + ", found the end of the expression");
      return null;
    }
    const q = s[start];
    if (q !== '"' && q !== "'") {
      let end = start;
      while (end < s.length && isWord(s[end])) end++;
      if (end === start) {
        let msg = what + ", found " + this.at(start);
        if (s[start] === ")" && !what.startsWith("~")) msg = "unexpected ')'";
        else if (s[start] === "(" || s[start] === ")") msg += " (quote a regex that contains parentheses or spaces)";
        this.fail(start, msg);
        return null;
      }
      this.pos = end;
      return s.slice(start, end);
    }
    let out = "";
    for (let i = start + 1; ; ) {
      if (i >= s.length) {
        this.fail(start, "unterminated quoted string");
        return null;
      }
      const c = s[i];
      if (c === q) {
        this.pos = i + 1;
        return out;
      }
      if (c === "\n" || c === "\r") {
        this.fail(start, "unterminated quoted string (a quoted string cannot span lines; write \\n)");
        return null;
      }
      if (c === "\\") {
        if (i + 1 >= s.length || s[i + 1] === "\n") {
          this.fail(start, "unterminated quoted string");
          return null;
        }
        const e = s[i + 1];
        out += ({ t: "\t", n: "\n", f: "\f", r: "\r" } as Record<string, string>)[e] ?? e;
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
  }
}

/** checkRegex fails for a regex the server (Python syntax on RE2) will not
 * compile: a syntax error, or lookaround and backreferences, which RE2
 * lacks. */
export function checkRegex(rx: string, offset: number): void {
  if (/\(\?<?[=!]/.test(rx)) throw new Fail("lookahead and lookbehind are not supported", offset);
  if (/\(\?P=/.test(rx) || /\\[1-9]/.test(rx.replace(/\\\\/g, ""))) {
    throw new Fail("backreferences are not supported", offset);
  }
  // Python's syntax where JavaScript's differs: named groups, a leading
  // flag group, \Z and \A.
  const js = rx
    .replace(/\(\?P</g, "(?<")
    .replace(/^\(\?[aiLmsux]+\)/, "")
    .replace(/\\Z/g, "$")
    .replace(/\\A/g, "^");
  try {
    new RegExp(js, "u");
  } catch {
    try {
      new RegExp(js);
    } catch (e) {
      throw new Fail("invalid regex: " + (e as Error).message.replace(/^Invalid regular expression: /, ""), offset);
    }
  }
}
