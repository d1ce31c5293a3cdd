// mitmweb 12's command bar: a line for mitmproxy commands with completion
// (Tab) of their names and, as the console, of their arguments (flow
// specifications, option names and values for set, choices; the server
// lists them), the signature of the one typed, history (up/down) and its
// results.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api";
import type { Commands } from "../flowtypes";
import { History, argTarget, complete, completeArg, hint, matchingCommands, parse, resultText } from "./commandsmodel";
import "./commandbar.css";

interface Output {
  id: number;
  line: string;
  text: string;
  error: boolean;
}

const HISTORY_KEY = "mitmgo.commandHistory";

function loadHistory(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export function CommandBar() {
  const [commands, setCommands] = useState<Commands>({});
  const [loadErr, setLoadErr] = useState<string>();
  const [line, setLine] = useState("");
  const [cycle, setCycle] = useState(-1);
  const [candidates, setCandidates] = useState<string[]>([]);
  const [outputs, setOutputs] = useState<Output[]>([]);
  const [running, setRunning] = useState(false);
  const history = useRef<History>();
  history.current ??= new History(loadHistory());
  const outRef = useRef<HTMLDivElement>(null);
  const nextId = useRef(1);
  // The line now, for an argument completion that answers after an edit.
  const lineRef = useRef(line);
  lineRef.current = line;
  // Where the argument completed starts: the candidates are shown from it.
  const [argStart, setArgStart] = useState(-1);

  useEffect(() => {
    api.getCommands().then(setCommands, (e: Error) => setLoadErr(e.message));
  }, []);
  useEffect(() => {
    outRef.current?.scrollTo?.({ top: outRef.current.scrollHeight });
  }, [outputs]);

  const h = hint(commands, line);
  const p = parse(line);
  const shown = p.argIndex === -1 && p.cmd ? (candidates.length ? candidates : matchingCommands(commands, p.cmd)) : [];
  const argShown = argStart >= 0 && p.argIndex >= 0 ? candidates : [];

  const apply = (c: { line: string; candidates: string[] }) => {
    setCandidates(c.candidates);
    if (c.line === line && c.candidates.length > 1) {
      setCycle(0);
      setLine(c.candidates[0]);
    } else {
      setLine(c.line);
    }
  };

  const completeArgument = async () => {
    const t = argTarget(commands, line);
    if (!t) return;
    let words: string[] = [];
    try {
      words = await api.completeArgument(t.cmd, t.index, t.text, t.args);
    } catch {
      return;
    }
    if (lineRef.current !== line) return; // typed on meanwhile
    setArgStart(t.start);
    apply(completeArg(line, t, words));
  };

  const run = async () => {
    const { cmd, args } = parse(line);
    if (!cmd) return;
    history.current!.add(line);
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(history.current!.entries));
    } catch {
      /* private mode */
    }
    setRunning(true);
    const id = nextId.current++;
    let out: Output;
    try {
      const r = resultText(await api.runCommand(cmd, ...args));
      out = { id, line, ...r };
    } catch (e) {
      out = { id, line, text: e instanceof Error ? e.message : String(e), error: true };
    }
    setOutputs((o) => [...o.slice(-49), out]);
    setLine("");
    setCandidates([]);
    setCycle(-1);
    setRunning(false);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    e.stopPropagation();
    const input = e.target as HTMLInputElement;
    switch (e.key) {
      case "Enter":
        e.preventDefault();
        void run();
        return;
      case "Tab": {
        e.preventDefault();
        const dir = e.shiftKey ? -1 : 1;
        if (cycle >= 0 && candidates.length > 1) {
          // Tab again: the next of the candidates the first Tab found.
          const n = (cycle + dir + candidates.length) % candidates.length;
          setCycle(n);
          setLine(candidates[n]);
          return;
        }
        if (parse(line).argIndex !== -1) {
          void completeArgument();
          return;
        }
        setArgStart(-1);
        apply(complete(commands, line, -1));
        return;
      }
      case "ArrowUp":
        e.preventDefault();
        setLine(history.current!.prev(input.value));
        setCandidates([]);
        setCycle(-1);
        return;
      case "ArrowDown":
        e.preventDefault();
        setLine(history.current!.next());
        setCandidates([]);
        setCycle(-1);
        return;
      case "Escape":
        setCandidates([]);
        setCycle(-1);
        input.blur();
        return;
    }
  };

  return (
    <div class="cmd-root" data-testid="command-bar">
      <div class="cmd-output" data-testid="command-output" ref={outRef}>
        {loadErr && <div class="cmd-error">Cannot load the commands: {loadErr}</div>}
        {outputs.map((o) => (
          <div key={o.id} class="cmd-entry">
            <div class="cmd-line">› {o.line}</div>
            <pre class={o.error ? "cmd-error" : "cmd-result"}>{o.text}</pre>
          </div>
        ))}
      </div>
      {h ? (
        <div class="cmd-hint" data-testid="command-hint">
          <span class="cmd-sig">
            {p.cmd}{" "}
            {h.params.map((x) => (
              <span key={x.name} class={x.current ? "cmd-current" : ""}>
                {x.variadic ? "*" : ""}
                {x.name}:{x.type}{" "}
              </span>
            ))}
          </span>
          <span class="cmd-help">{h.help}</span>
          {argShown.length > 0 && (
            <div class="cmd-candidates" data-testid="command-arg-candidates">
              {argShown.slice(0, 30).map((c, i) => (
                <span key={c} class={cycle >= 0 && candidates[cycle] === c ? "cmd-current" : ""} onClick={() => setLine(c + " ")} data-i={i}>
                  {c.slice(argStart)}
                </span>
              ))}
              {argShown.length > 30 && <span class="cmd-more">… {argShown.length - 30} more</span>}
            </div>
          )}
        </div>
      ) : shown.length > 0 ? (
        <div class="cmd-hint cmd-candidates" data-testid="command-candidates">
          {shown.slice(0, 30).map((c, i) => (
            <span key={c} class={cycle >= 0 && candidates[cycle] === c ? "cmd-current" : ""} onClick={() => setLine(c + " ")} data-i={i}>
              {c}
            </span>
          ))}
          {shown.length > 30 && <span class="cmd-more">… {shown.length - 30} more</span>}
        </div>
      ) : null}
      <div class="cmd-input-row">
        <span class="cmd-prompt">›</span>
        <input
          class="cmd-input"
          data-testid="command-input"
          placeholder="Enter a mitmproxy command (Tab completes, ↑/↓ history)"
          value={line}
          readOnly={running}
          spellcheck={false}
          autoComplete="off"
          onInput={(e) => {
            setLine((e.target as HTMLInputElement).value);
            setCandidates([]);
            setCycle(-1);
          }}
          onKeyDown={onKeyDown}
        />
      </div>
    </div>
  );
}
