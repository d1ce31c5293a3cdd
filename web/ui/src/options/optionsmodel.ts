// The options editor's logic: which input an option gets, how text typed
// into it becomes the value PUT /options wants, and the search; no DOM.
import type { Option, Options } from "../flowtypes";

export type InputKind = "bool" | "int" | "choice" | "text" | "sequence";

export function inputKind(o: Option): InputKind {
  if (o.type === "bool") return "bool";
  if (o.choices && o.choices.length > 0) return "choice";
  if (o.type === "int" || o.type === "optional int") return "int";
  if (o.type === "sequence of str") return "sequence";
  return "text";
}

export function isOptional(o: Option): boolean {
  return o.type.startsWith("optional");
}

/** The text an input shows for a value. */
export function displayValue(o: Option, v: unknown = o.value): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.join("\n");
  return String(v);
}

/**
 * The value to send for text typed into an option's input. An empty
 * optional is null; a sequence is one entry per non-empty line. Throws
 * for what is not a value of the option's type.
 */
export function parseValue(o: Option, text: string): unknown {
  switch (inputKind(o)) {
    case "bool":
      if (text === "true") return true;
      if (text === "false") return false;
      throw new Error("expected true or false");
    case "int": {
      const t = text.trim();
      if (t === "" && isOptional(o)) return null;
      if (!/^-?\d+$/.test(t)) throw new Error("expected an integer");
      return Number(t);
    }
    case "sequence":
      return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    case "choice":
      if (text === "" && isOptional(o)) return null;
      return text;
    default:
      if (text === "" && isOptional(o)) return null;
      return text;
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function isDefault(o: Option): boolean {
  return same(o.value, o.default);
}

/** Whether a value differs from the option's current one (nothing to send otherwise). */
export function changed(o: Option, v: unknown): boolean {
  return !same(o.value, v);
}

/** The option names to list: sorted; matching the search in name or help (all words, any case). */
export function filterOptions(opts: Options, search: string, onlyChanged = false): string[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  return Object.keys(opts)
    .filter((name) => {
      const o = opts[name];
      if (onlyChanged && isDefault(o)) return false;
      const hay = (name + " " + o.help).toLowerCase();
      return words.every((w) => hay.includes(w));
    })
    .sort();
}

/** The server's error for a rejected value, without the status line noise. */
export function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/^<[^>]*>/, "").trim() || "The server refused the value.";
}

/** Applies an options/update payload. */
export function mergeOptions(cur: Options, upd: Options): Options {
  return { ...cur, ...upd };
}
