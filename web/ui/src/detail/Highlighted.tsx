// A text coloured by its syntax, with the matches of a search marked; the
// current match (when not negative; it wraps around) scrolled into view.
import { useEffect, useMemo, useRef } from "preact/hooks";
import { searchText } from "./contentview";
import { pieces, tokenize } from "./syntax";

export function Highlighted({ text, query, current, syntax }: { text: string; query: string; current: number; syntax?: string }) {
  const tokens = useMemo(() => tokenize(text, syntax), [text, syntax]);
  const res = useMemo(() => pieces(text, tokens, query), [text, tokens, query]);
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    root.querySelectorAll("mark.fd-current").forEach((e) => e.classList.remove("fd-current"));
    if (current < 0 || res.count === 0) return;
    const marks = root.querySelectorAll(`mark[data-match="${current % res.count}"]`);
    marks.forEach((e) => e.classList.add("fd-current"));
    (marks[0] as HTMLElement | undefined)?.scrollIntoView?.({ block: "nearest" });
  }, [res, current]);
  return (
    <span ref={ref}>
      {res.pieces.map((p, i) =>
        p.match !== undefined ? (
          <mark key={i} data-match={p.match} class={p.cls ? `fd-hl-${p.cls}` : undefined}>
            {p.text}
          </mark>
        ) : p.cls ? (
          <span key={i} class={`fd-hl-${p.cls}`}>
            {p.text}
          </span>
        ) : (
          p.text
        ),
      )}
    </span>
  );
}

export function matchCount(text: string, query: string): number {
  return searchText(text, query).count;
}
