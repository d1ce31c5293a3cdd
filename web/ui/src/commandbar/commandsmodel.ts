// The command bar's logic: parsing the line into command and arguments
// (quotes as mitmproxy's command lexer has them), completion of command
// names and (with the server's candidates) arguments, the argument hint,
// history and the result's text; no DOM.
import type { CommandInfo, CommandResult, Commands } from "../flowtypes";

export interface Token {
  text: string;
  start: number;
  end: number;
}

/** Splits a command line at whitespace outside quotes; quotes are removed, \" kept. */
export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    const start = i;
    let text = "";
    while (i < line.length && !/\s/.test(line[i])) {
      const q = line[i];
      if (q === '"' || q === "'") {
        i++;
        while (i < line.length && line[i] !== q) {
          if (line[i] === "\\" && i + 1 < line.length && (line[i + 1] === q || line[i + 1] === "\\")) i++;
          text += line[i++];
        }
        i++; // the closing quote (or past the end)
      } else {
        text += line[i++];
      }
    }
    out.push({ text, start, end: Math.min(i, line.length) });
  }
  return out;
}

export interface Parsed {
  cmd: string;
  args: string[];
  /** Index of the argument being typed at the end of the line (-1: the command name). */
  argIndex: number;
}

export function parse(line: string): Parsed {
  const toks = tokenize(line);
  const trailingSpace = /\s$/.test(line);
  if (toks.length === 0) return { cmd: "", args: [], argIndex: -1 };
  const args = toks.slice(1).map((t) => t.text);
  let argIndex = trailingSpace ? args.length : args.length - 1;
  if (toks.length === 1 && !trailingSpace) argIndex = -1;
  return { cmd: toks[0].text, args, argIndex };
}

/** The command names that start with the prefix, sorted. */
export function matchingCommands(commands: Commands, prefix: string): string[] {
  return Object.keys(commands)
    .filter((c) => c.startsWith(prefix))
    .sort();
}

/** The longest prefix all the names share. */
export function commonPrefix(names: string[]): string {
  if (names.length === 0) return "";
  let p = names[0];
  for (const n of names) {
    while (!n.startsWith(p)) p = p.slice(0, -1);
  }
  return p;
}

export interface Completion {
  line: string;
  /** The candidates shown under the input. */
  candidates: string[];
}

/**
 * Tab completion of the command name: the shared prefix of the matches,
 * then (pressed again: cycle >= 0) the matches one after another.
 */
export function complete(commands: Commands, line: string, cycle: number): Completion {
  const p = parse(line);
  if (p.argIndex !== -1) return { line, candidates: [] };
  const prefix = p.cmd;
  const names = matchingCommands(commands, prefix);
  if (names.length === 0) return { line, candidates: [] };
  if (names.length === 1) return { line: names[0] + " ", candidates: names };
  const common = commonPrefix(names);
  if (cycle < 0 && common.length > prefix.length) return { line: common, candidates: names };
  const pick = names[((cycle < 0 ? 0 : cycle) % names.length + names.length) % names.length];
  return { line: pick, candidates: names };
}

/** The argument being typed at the end of a line, for its completion. */
export interface ArgTarget {
  cmd: string;
  /** Its position among the command's arguments, from 0. */
  index: number;
  /** What is typed of it so far (unquoted). */
  text: string;
  /** The arguments before it. */
  args: string[];
  /** Where it starts in the line. */
  start: number;
}

/** The argument being typed, when the line names a known command. */
export function argTarget(commands: Commands, line: string): ArgTarget | undefined {
  const toks = tokenize(line);
  const trailing = /\s$/.test(line);
  if (toks.length === 0 || (toks.length === 1 && !trailing) || !commands[toks[0].text]) return undefined;
  const argToks = toks.slice(1);
  if (trailing) {
    return { cmd: toks[0].text, index: argToks.length, text: "", args: argToks.map((t) => t.text), start: line.length };
  }
  const last = argToks[argToks.length - 1];
  return {
    cmd: toks[0].text,
    index: argToks.length - 1,
    text: last.text,
    args: argToks.slice(0, -1).map((t) => t.text),
    start: last.start,
  };
}

/** An argument as typed: quoted when it holds whitespace or quotes. */
export function quoteArg(s: string): string {
  if (s !== "" && !/[\s"']/.test(s)) return s;
  return '"' + s.replace(/["\\]/g, "\\$&") + '"';
}

/**
 * Completion of the argument being typed from the server's candidates
 * (GET /commands/<cmd>/completions): the only one, with a space after it
 * (not after a directory); else the longer prefix they share; else the
 * candidates to cycle through. candidates are whole lines, as complete's.
 */
export function completeArg(line: string, target: ArgTarget, words: readonly string[]): Completion {
  const head = line.slice(0, target.start);
  const lines = words.map((w) => head + quoteArg(w));
  if (words.length === 0) return { line, candidates: [] };
  if (words.length === 1) return { line: lines[0] + (words[0].endsWith("/") ? "" : " "), candidates: lines };
  const common = commonPrefix([...words]);
  if (common.length > target.text.length) return { line: head + quoteArg(common).replace(/"$/, ""), candidates: lines };
  return { line, candidates: lines };
}

export interface Hint {
  signature: string;
  help: string;
  /** The parameters, the one being typed marked. */
  params: { name: string; type: string; current: boolean; variadic: boolean }[];
}

/** The hint for the command being typed, when it is known. */
export function hint(commands: Commands, line: string): Hint | undefined {
  const p = parse(line);
  const info: CommandInfo | undefined = commands[p.cmd];
  if (!info) return undefined;
  const n = info.parameters.length;
  return {
    signature: info.signature_help,
    help: info.help,
    params: info.parameters.map((x, i) => {
      const variadic = x.kind === "VAR_POSITIONAL";
      const current = p.argIndex === i || (variadic && i === n - 1 && p.argIndex >= i);
      return { name: x.name, type: x.type, current, variadic };
    }),
  };
}

/** The command history, newest last, with a draft kept while browsing it. */
export class History {
  private items: string[];
  private pos: number;
  private draft = "";

  constructor(
    items: string[] = [],
    private readonly max = 100,
  ) {
    this.items = items.slice(-max);
    this.pos = this.items.length;
  }

  get entries(): readonly string[] {
    return this.items;
  }

  add(line: string): void {
    const l = line.trim();
    if (l !== "" && this.items[this.items.length - 1] !== l) {
      this.items.push(l);
      if (this.items.length > this.max) this.items.shift();
    }
    this.pos = this.items.length;
    this.draft = "";
  }

  /** The older entry (up); current is the line being edited. */
  prev(current: string): string {
    if (this.pos === this.items.length) this.draft = current;
    if (this.pos > 0) this.pos--;
    return this.items[this.pos] ?? current;
  }

  /** The newer entry (down), and at the end the draft. */
  next(): string {
    if (this.pos < this.items.length) this.pos++;
    return this.pos === this.items.length ? this.draft : this.items[this.pos];
  }
}

/** A command's result as text. */
export function resultText(res: CommandResult): { text: string; error: boolean } {
  if (res.error !== undefined) return { text: res.error, error: true };
  const v = res.value;
  if (v === undefined || v === null) return { text: "(no result)", error: false };
  if (typeof v === "string") return { text: v, error: false };
  return { text: JSON.stringify(v, null, 2), error: false };
}
