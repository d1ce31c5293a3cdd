// The header: the File menu, and the Start, Options and Flow tabs with
// their menus, as mitmweb's.
import { useEffect, useRef, useState } from "preact/hooks";
import * as actions from "../actions";
import * as api from "../api";
import type { Flow } from "../flowtypes";
import { canReplay, canResume, canRevert } from "../flowutils";
import { useSelect, useStores, useSubscribe } from "../hooks";
import { Icon } from "../icons";
import { HIGHLIGHT, SEARCH } from "../store/flowstore";
import type { Tab } from "../store/ui";
import { nextTheme } from "../theme";
import { ExportButtons } from "./external";
import { FilterInput } from "./FilterInput";

export function Header() {
  const stores = useStores();
  const { ui, flows } = stores;
  useSubscribe(ui);
  const selected = useSelect(flows, () => (flows.selected.length ? flows.get(flows.selected[0]) : undefined));
  const tabs: [Tab, string][] = [
    ["start", "Start"],
    ["options", "Options"],
  ];
  if (selected) tabs.push(["flow", "Flow"]);
  const tab = ui.tab === "flow" && !selected ? "start" : ui.tab;

  return (
    <header class="header">
      <nav class="tabs">
        <FileMenu />
        {tabs.map(([t, title]) => (
          <button
            key={t}
            class={"tab" + (t === tab ? " active" : "")}
            data-testid={"menu-" + t}
            onClick={() => {
              ui.set("tab", t);
              if (t === "options") ui.set("modal", "options");
            }}
          >
            {title}
          </button>
        ))}
        <span class="spacer" />
        <ThemeToggle />
      </nav>
      <div class="menu">
        {tab === "start" && <StartMenu />}
        {tab === "options" && <OptionsMenu />}
        {tab === "flow" && selected && <FlowMenu flow={selected} />}
      </div>
    </header>
  );
}

function StartMenu() {
  const stores = useStores();
  const { ui, app, conn } = stores;
  useSubscribe(app);
  const intercept = app.option<string | null>("intercept", "") ?? "";
  return (
    <div class="menu-group start-menu">
      <div class="menu-inputs">
        <FilterInput
          kind="search"
          testid="filter-input"
          label="Search"
          placeholder="Search (~ filter)"
          value={ui.search}
          focusSeq={ui.focusSearchSeq}
          onApply={(expr) => {
            ui.set("search", expr);
            conn.setFilter(SEARCH, expr);
          }}
        />
        <FilterInput
          kind="highlight"
          testid="highlight-input"
          label="Highlight"
          placeholder="Highlight (~ filter)"
          value={ui.highlight}
          onApply={(expr) => {
            ui.set("highlight", expr);
            conn.setFilter(HIGHLIGHT, expr);
          }}
        />
        <FilterInput
          kind="intercept"
          testid="intercept-input"
          label="Intercept"
          placeholder="Intercept (~ filter)"
          value={intercept}
          onApply={(expr) => void actions.setIntercept(stores, expr)}
        />
      </div>
      <div class="menu-buttons">
        <button data-testid="resume-all" title="Resume all intercepted flows (A)" onClick={() => void actions.resumeAll(stores)}>
          <Icon name="play" /> Resume all
        </button>
      </div>
    </div>
  );
}

const quickOptions: [string, string][] = [
  ["anticache", "Strip cache headers"],
  ["showhost", "Use the Host header for display URLs"],
  ["ssl_insecure", "Don't verify server certificates"],
  ["anticomp", "Ask servers not to compress"],
];

function OptionsMenu() {
  const stores = useStores();
  const { ui, app } = stores;
  useSubscribe(app);
  const setOpt = (name: string, v: unknown) =>
    app
      .queueOptionWrite(() => api.setOptions({ [name]: v })).catch((e: Error) => app.setNotice(`Setting ${name} failed: ${e.message}`));
  return (
    <div class="menu-group">
      <button data-testid="edit-options" onClick={() => ui.set("modal", "options")}>
        Edit options…
      </button>
      <span class="menu-sep" />
      {quickOptions
        .filter(([name]) => name in app.options)
        .map(([name, title]) => (
          <label key={name} class="check">
            <input
              type="checkbox"
              checked={!!app.option(name, false)}
              onChange={(e) => void setOpt(name, (e.target as HTMLInputElement).checked)}
            />
            {title}
          </label>
        ))}
      <span class="menu-sep" />
      <label class="check">
        <input
          type="checkbox"
          checked={ui.showEventLog}
          onChange={(e) => ui.set("showEventLog", (e.target as HTMLInputElement).checked)}
        />
        Display event log
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={ui.showCommandBar}
          onChange={(e) => ui.set("showCommandBar", (e.target as HTMLInputElement).checked)}
        />
        Display command bar
      </label>
    </div>
  );
}

const markers: [string, string][] = [
  [":default:", "🔴"],
  [":star:", "⭐"],
  [":green_circle:", "🟢"],
  [":large_blue_circle:", "🔵"],
  [":yellow_circle:", "🟡"],
  [":question:", "❓"],
];

function FlowMenu(props: { flow: Flow }) {
  const stores = useStores();
  const f = props.flow;
  const [markOpen, setMarkOpen] = useState(false);
  const part = (name: "request" | "response") =>
    f.type === "http" && f[name] && f[name]!.contentLength !== null ? (
      <a class="button" href={api.contentURL(f.id, name)} download>
        Download {name}
      </a>
    ) : null;
  return (
    <div class="menu-group flow-menu">
      <button disabled={!canReplay(f)} title="Replay (r)" onClick={() => void actions.replay(stores)}>
        <Icon name="replay" /> Replay
      </button>
      <button title="Duplicate (D)" onClick={() => void actions.duplicate(stores)}>
        Duplicate
      </button>
      <button disabled={!canRevert(f)} title="Revert changes (v)" onClick={() => void actions.revert(stores)}>
        Revert
      </button>
      <button title="Delete (d)" onClick={() => void actions.remove(stores)}>
        Delete
      </button>
      <span class="dropdown">
        <button title="Mark (m)" onClick={() => void actions.toggleMark(stores)}>
          {f.marked ? "Unmark" : "Mark"}
        </button>
        <button class="caret" title="Choose a marker" onClick={() => setMarkOpen(!markOpen)}>
          ▾
        </button>
        {markOpen && (
          <div class="dropdown-menu" onMouseLeave={() => setMarkOpen(false)}>
            {markers.map(([name, ch]) => (
              <button
                key={name}
                onClick={() => {
                  setMarkOpen(false);
                  void actions.toggleMark(stores, name);
                }}
              >
                {ch} {name}
              </button>
            ))}
          </div>
        )}
      </span>
      <span class="menu-sep" />
      <button disabled={!canResume(f)} title="Resume (a)" onClick={() => void actions.resume(stores)}>
        <Icon name="play" /> Resume
      </button>
      <button disabled={!canResume(f)} title="Abort (x)" onClick={() => void actions.kill(stores)}>
        <Icon name="close" /> Abort
      </button>
      <span class="menu-sep" />
      {part("request")}
      {part("response")}
      <ExportButtons flow={f} />
    </div>
  );
}

function FileMenu() {
  const stores = useStores();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const file = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);
  const upload = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    const f = input.files?.[0];
    setOpen(false);
    if (!f) return;
    try {
      await api.loadFlows(f);
    } catch (err) {
      stores.app.setNotice(`Opening ${f.name} failed: ${(err as Error).message}`);
    }
    input.value = "";
  };
  return (
    <div class={"file-menu dropdown" + (open ? " open" : "")} ref={ref}>
      <button class="tab file-tab" data-testid="menu-file" onClick={() => setOpen(!open)}>
        File ▾
      </button>
      <input type="file" class="hidden-file" data-testid="file-upload" ref={file} onChange={upload} tabIndex={-1} />
      <div class="dropdown-menu" role="menu">
        <button role="menuitem" data-testid="file-open" onClick={() => file.current?.click()}>
          Open…
        </button>
        <a role="menuitem" class="button" data-testid="file-save" href={api.dumpURL()} download="flows" onClick={() => setOpen(false)}>
          Save all
        </a>
        {stores.ui.search && (
          <a role="menuitem" class="button" href={api.dumpURL(stores.ui.search)} download="flows" onClick={() => setOpen(false)}>
            Save filtered
          </a>
        )}
        <button
          role="menuitem"
          data-testid="clear-all"
          title="Delete all flows (z)"
          onClick={() => {
            setOpen(false);
            void actions.clearAll(stores);
          }}
        >
          Clear all
        </button>
        <hr />
        <button role="menuitem" onClick={() => (setOpen(false), stores.ui.set("modal", "help"))}>
          Keyboard shortcuts
        </button>
      </div>
    </div>
  );
}

function ThemeToggle() {
  const { app } = useStores();
  useSubscribe(app);
  const setting = app.option<string>("web_theme", "system");
  const icon = setting === "dark" ? "moon" : setting === "light" ? "sun" : "auto";
  return (
    <button
      class="theme-toggle"
      data-testid="theme-toggle"
      title={`Theme: ${setting} (click for ${nextTheme(setting)})`}
      onClick={() =>
        app
          .queueOptionWrite(() => api.setOptions({ web_theme: nextTheme(setting) }))
          .catch((e: Error) => app.setNotice(`Setting the theme failed: ${e.message}`))
      }
    >
      <Icon name={icon} />
    </button>
  );
}
