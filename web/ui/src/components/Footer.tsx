// The status bar: connection, flow counts, intercept and listen addresses.
import { useStores, useSubscribe } from "../hooks";
import { formatAddress } from "../format";

export function Footer() {
  const { app, flows, ui } = useStores();
  useSubscribe(app);
  useSubscribe(app.eventsTopic);
  useSubscribe(flows);
  const intercept = app.option<string | null>("intercept", "");
  const listen = Object.values(app.state?.servers ?? {})
    .flatMap((s) => s.listen_addrs ?? [])
    .map((a) => formatAddress(a));
  const connText =
    app.conn === "live" ? "live" : app.conn === "error" ? app.connError || "disconnected" : app.conn + "…";
  return (
    <footer class="footer">
      <span class={"conn conn-" + app.conn} data-testid="connection-state">
        ● {connText}
      </span>
      <span data-testid="flow-count">
        {flows.view.length === flows.size ? `${flows.size} flows` : `${flows.view.length} of ${flows.size} flows`}
      </span>
      {intercept && <span class="intercept-on">Intercept: {intercept}</span>}
      {app.option("anticache", false) && <span>anticache</span>}
      {app.option("showhost", false) && <span>showhost</span>}
      <span class="spacer" />
      {app.notice && (
        <span class="notice" role="alert" data-testid="notice">
          {app.notice}
        </span>
      )}
      <button
        class={"eventlog-toggle" + (ui.showEventLog ? " on" : "")}
        data-testid="eventlog-toggle"
        aria-pressed={ui.showEventLog ? "true" : "false"}
        onClick={() => ui.set("showEventLog", !ui.showEventLog)}
      >
        Event log
        {app.errors > 0 && !ui.showEventLog && (
          <span class="error-count" title={`${app.errors} errors`}>
            {app.errors}
          </span>
        )}
      </button>
      {listen.length > 0 && <span>Proxy: {listen.join(", ")}</span>}
      {app.state && <span>mitmgo {app.state.version}</span>}
    </footer>
  );
}
