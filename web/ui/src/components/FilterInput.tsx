// An input for a ~ filter expression: checked as it is typed, applied
// after a short pause or on Enter, with the filter help in a popover.
import { useEffect, useRef, useState } from "preact/hooks";
import { checkFilter } from "../filterexpr";
import { useStores, useSubscribe } from "../hooks";
import { Icon } from "../icons";

export const DEBOUNCE_MS = 300;

interface Props {
  testid: string;
  placeholder: string;
  label: string;
  value: string;
  /** onApply gets a valid expression, or "" for none. */
  onApply: (expr: string) => void;
  /** focusSeq: the input takes the focus when it changes. */
  focusSeq?: number;
  kind: "search" | "highlight" | "intercept";
}

export function FilterInput(p: Props) {
  const { app } = useStores();
  useSubscribe(app);
  const [text, setText] = useState(p.value);
  const [help, setHelp] = useState(false);
  const [focused, setFocused] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const applied = useRef(p.value);
  const input = useRef<HTMLInputElement>(null);

  // A value set elsewhere (the intercept option changed) shows here unless
  // the user is typing.
  useEffect(() => {
    if (!focused) {
      setText(p.value);
      applied.current = p.value;
    }
  }, [p.value]);

  useEffect(() => {
    if (p.focusSeq) {
      input.current?.focus();
      input.current?.select();
    }
  }, [p.focusSeq]);

  const check = text === "" ? { ok: true } : checkFilter(text, app.operators);
  const rejected = app.rejected.has(text);
  const valid = check.ok && !rejected;

  const apply = (t: string) => {
    clearTimeout(timer.current);
    const c = t === "" ? { ok: true } : checkFilter(t, app.operators);
    if (!c.ok || app.rejected.has(t) || t === applied.current) return;
    applied.current = t;
    p.onApply(t);
  };

  const onInput = (e: Event) => {
    const t = (e.target as HTMLInputElement).value;
    setText(t);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => apply(t), DEBOUNCE_MS);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Enter") {
      apply(text);
      (e.target as HTMLInputElement).blur();
    } else if (e.key === "Escape") {
      (e.target as HTMLInputElement).blur();
      setHelp(false);
    }
    e.stopPropagation();
  };

  const error = rejected ? "The server refused this expression." : check.ok ? "" : (check as { error?: string }).error;

  return (
    <div class={`filter-input filter-${p.kind}` + (valid ? "" : " invalid") + (text ? " active" : "")}>
      <span class="filter-label">{p.label}</span>
      <input
        ref={input}
        type="text"
        spellcheck={false}
        autocomplete="off"
        placeholder={p.placeholder}
        value={text}
        data-testid={p.testid}
        aria-label={p.label + " filter"}
        aria-invalid={valid ? "false" : "true"}
        title={error || undefined}
        onInput={onInput}
        onKeyDown={onKeyDown}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          apply(text);
        }}
      />
      <button
        class="filter-help-btn"
        data-testid="filter-help-button"
        title="Filter expressions"
        tabIndex={-1}
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => setHelp(!help)}
      >
        <Icon name="help" />
      </button>
      {!valid && focused && <div class="filter-error">{error}</div>}
      {(help || (focused && text === "")) && <FilterHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

export function FilterHelp(props: { onClose: () => void }) {
  const { app } = useStores();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.parentElement?.contains(e.target as Node)) props.onClose();
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, []);
  return (
    <div class="popover filter-help" data-testid="filter-help" ref={ref}>
      <table>
        <tbody>
          {app.filterHelp.map(([expr, text]) => (
            <tr key={expr}>
              <td class="expr">{expr}</td>
              <td>{text}</td>
            </tr>
          ))}
          <tr>
            <td class="expr">regex</td>
            <td>a bare regex matches the URL (as ~u)</td>
          </tr>
        </tbody>
      </table>
      <p class="muted">
        Regexes are case-insensitive; quote them when they contain spaces or parentheses: <code>~h "a b"</code>.
      </p>
    </div>
  );
}
