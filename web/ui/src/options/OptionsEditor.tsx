// The options editor: every option the server has, with an input for its
// type, its help, search, the server's error for a refused value, and
// live updates (options/update on /updates). The shell puts it in a modal
// (Escape and the backdrop close it there).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as api from "../api";
import type { Option, Options } from "../flowtypes";
import { changed, displayValue, errorText, filterOptions, inputKind, isDefault, mergeOptions, parseValue } from "./optionsmodel";
import "./options.css";

/**
 * Follows options/update: the shell sends each payload of /updates (and
 * the full options after it reads /options) as a "mitmgo:options-update"
 * event on window.
 */
function useLiveOptions(setOpts: (f: (o: Options | undefined) => Options | undefined) => void) {
  useEffect(() => {
    const onEvent = (e: Event) => {
      const payload = (e as CustomEvent<Options>).detail;
      if (payload && typeof payload === "object") setOpts((cur) => (cur ? mergeOptions(cur, payload) : cur));
    };
    window.addEventListener("mitmgo:options-update", onEvent);
    return () => window.removeEventListener("mitmgo:options-update", onEvent);
  }, []);
}

function OptionInput({ name, opt, onSet }: { name: string; opt: Option; onSet: (v: unknown) => void }) {
  const kind = inputKind(opt);
  const [text, setText] = useState(displayValue(opt));
  const focused = useRef(false);
  useEffect(() => {
    if (!focused.current) setText(displayValue(opt));
  }, [opt.value]);
  const commit = (t: string) => {
    let v: unknown;
    try {
      v = parseValue(opt, t);
    } catch (e) {
      onSet(new Error(errorText(e)));
      return;
    }
    if (changed(opt, v)) onSet(v);
  };
  const common = {
    "data-testid": `option-${name}`,
    id: `option-${name}`,
    onFocus: () => (focused.current = true),
    onBlur: () => {
      focused.current = false;
    },
  };
  switch (kind) {
    case "bool":
      return <input type="checkbox" {...common} checked={opt.value === true} onChange={(e) => onSet((e.target as HTMLInputElement).checked)} />;
    case "choice":
      return (
        <select {...common} value={displayValue(opt)} onChange={(e) => commit((e.target as HTMLSelectElement).value)}>
          {opt.type.startsWith("optional") && <option value="">(none)</option>}
          {!opt.choices!.includes(displayValue(opt)) && displayValue(opt) !== "" && <option value={displayValue(opt)}>{displayValue(opt)}</option>}
          {opt.choices!.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      );
    case "sequence":
      return (
        <textarea
          {...common}
          rows={Math.min(6, Math.max(2, text.split("\n").length + 1))}
          value={text}
          placeholder="one value a line"
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onBlur={(e) => {
            focused.current = false;
            commit((e.target as HTMLTextAreaElement).value);
          }}
          onKeyDown={(e) => e.stopPropagation()}
        />
      );
    default:
      return (
        <input
          {...common}
          type={kind === "int" ? "number" : "text"}
          value={text}
          placeholder={opt.type.startsWith("optional") ? "(none)" : ""}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          onBlur={(e) => {
            focused.current = false;
            commit((e.target as HTMLInputElement).value);
          }}
          onKeyDown={(e) => {
            e.stopPropagation();
            if (e.key === "Enter") commit((e.target as HTMLInputElement).value);
            if (e.key === "Escape") setText(displayValue(opt));
          }}
        />
      );
  }
}

export function OptionsEditor({ onClose }: { onClose: () => void }) {
  const [opts, setOpts] = useState<Options>();
  const [loadErr, setLoadErr] = useState<string>();
  const [search, setSearch] = useState("");
  const [onlyChanged, setOnlyChanged] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});

  useEffect(() => {
    api.getOptions().then(setOpts, (e: Error) => setLoadErr(e.message));
  }, []);
  useLiveOptions(setOpts);
  const names = useMemo(() => (opts ? filterOptions(opts, search, onlyChanged) : []), [opts, search, onlyChanged]);

  const set = async (name: string, v: unknown) => {
    if (v instanceof Error) {
      setErrors((e) => ({ ...e, [name]: v.message }));
      return;
    }
    try {
      await api.setOptions({ [name]: v });
      setErrors((e) => {
        const { [name]: _, ...rest } = e;
        return rest;
      });
      // The server's options/update brings the value; take it now too.
      setOpts((cur) => (cur ? { ...cur, [name]: { ...cur[name], value: v } } : cur));
    } catch (e) {
      setErrors((x) => ({ ...x, [name]: errorText(e) }));
    }
  };

  return (
    <div class="opt-panel" data-testid="options-editor" aria-label="Options">
        <div class="opt-head">
          <strong>Options</strong>
          <input
            class="opt-search"
            type="search"
            data-testid="options-search"
            placeholder="Search options"
            value={search}
            autoFocus
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => e.key !== "Escape" && e.stopPropagation()}
          />
          <label class="opt-changed">
            <input type="checkbox" checked={onlyChanged} onChange={(e) => setOnlyChanged((e.target as HTMLInputElement).checked)} /> changed only
          </label>
          <span class="opt-spacer" />
          <button class="opt-btn" data-testid="options-close" title="Close (Esc)" onClick={onClose}>
            ✕
          </button>
        </div>
        <div class="opt-list">
          {loadErr && <div class="opt-error">Cannot load the options: {loadErr}</div>}
          {!opts && !loadErr && <div class="opt-muted">Loading…</div>}
          {opts && names.length === 0 && <div class="opt-muted">No option matches.</div>}
          {opts &&
            names.map((name) => {
              const o = opts[name];
              return (
                <div key={name} class={`opt-row${isDefault(o) ? "" : " opt-modified"}`} data-option={name}>
                  <div class="opt-name">
                    <label for={`option-${name}`}>{name}</label>
                    <div class="opt-type">
                      {o.type}
                      {!isDefault(o) && (
                        <button class="opt-reset" title={`Reset to the default: ${displayValue(o, o.default) || "(none)"}`} onClick={() => set(name, o.default)}>
                          reset
                        </button>
                      )}
                    </div>
                  </div>
                  <div class="opt-value">
                    <OptionInput name={name} opt={o} onSet={(v) => set(name, v)} />
                    {errors[name] && (
                      <div class="opt-error" data-testid="option-error">
                        {errors[name]}
                      </div>
                    )}
                  </div>
                  <div class="opt-help">{o.help}</div>
                </div>
              );
            })}
        </div>
    </div>
  );
}
