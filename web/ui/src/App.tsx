// The app shell: header, flow table with the detail pane beside it, the
// event log below, the status bar, and the dialogs.
import { useEffect, useRef, useState } from "preact/hooks";
import { perform } from "./actions";
import { StoreContext, useSelect, useStores, useSubscribe, type Stores } from "./hooks";
import { keyDown, shortcutHelp } from "./keyboard";
import { resolveTheme } from "./theme";
import { EventLog } from "./components/EventLog";
import { CommandBar, FlowDetail, OptionsEditor } from "./components/external";
import { FlowTable } from "./components/FlowTable";
import { Footer } from "./components/Footer";
import { Header } from "./components/Header";
import { Splitter } from "./components/Splitter";

export function App(props: { stores: Stores }) {
  return (
    <StoreContext.Provider value={props.stores}>
      <Shell />
    </StoreContext.Provider>
  );
}

function useTheme() {
  const { app } = useStores();
  const setting = useSelect(app, () => app.option<string>("web_theme", "system"));
  const media = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  const [prefersDark, setPrefersDark] = useState(media?.matches ?? false);
  useEffect(() => {
    if (!media) return;
    const on = (e: MediaQueryListEvent) => setPrefersDark(e.matches);
    media.addEventListener("change", on);
    return () => media.removeEventListener("change", on);
  }, []);
  const theme = resolveTheme(setting, prefersDark);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
}

function Shell() {
  const stores = useStores();
  const { ui, flows } = stores;
  useSubscribe(ui);
  // Only the selected flow matters here, not every change of the list.
  const selected = useSelect(flows, () => (flows.selected.length ? flows.get(flows.selected[0]) : undefined));
  useTheme();
  const main = useRef<HTMLDivElement>(null);
  const shell = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (ui.modal && e.key !== "Escape") return;
      const a = keyDown(e);
      if (a && perform(stores, a)) e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div class="app" ref={shell}>
      <Header />
      <div class="main-view" ref={main}>
        <div class="flow-pane" style={selected ? { flexBasis: (1 - ui.detailWidth) * 100 + "%" } : undefined}>
          <FlowTable />
        </div>
        {selected && (
          <>
            <Splitter
              axis="x"
              testid="detail-splitter"
              onDrag={(x) => {
                const r = main.current!.getBoundingClientRect();
                const w = Math.min(0.85, Math.max(0.15, (r.right - x) / r.width));
                ui.set("detailWidth", w);
              }}
            />
            <div class="detail-pane" data-testid="flow-detail-pane" style={{ flexBasis: ui.detailWidth * 100 + "%" }}>
              <FlowDetail
                flow={selected}
                onClose={() => {
                  flows.select([]);
                  flows.notify();
                }}
              />
            </div>
          </>
        )}
      </div>
      {ui.showEventLog && (
        <>
          <Splitter
            axis="y"
            onDrag={(y) => {
              const r = shell.current!.getBoundingClientRect();
              ui.set("eventLogHeight", Math.max(60, Math.min(r.height - 150, r.bottom - y - 24)));
            }}
          />
          <EventLog />
        </>
      )}
      {ui.showCommandBar && <CommandBar />}
      <Footer />
      {ui.modal === "options" && (
        <Modal onClose={() => ui.set("modal", null)} wide>
          <OptionsEditor onClose={() => ui.set("modal", null)} />
        </Modal>
      )}
      {ui.modal === "help" && (
        <Modal onClose={() => ui.set("modal", null)}>
          <div class="shortcut-help" data-testid="shortcut-help">
            <h3>Keyboard shortcuts</h3>
            <table>
              <tbody>
                {shortcutHelp.map(([k, d]) => (
                  <tr key={k}>
                    <td class="keys">{k}</td>
                    <td>{d}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Modal>
      )}
    </div>
  );
}

function Modal(props: { onClose: () => void; wide?: boolean; children: preact.ComponentChildren }) {
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={"modal" + (props.wide ? " wide" : "")} role="dialog" aria-modal="true">
        {props.children}
      </div>
    </div>
  );
}
