// Which tabs the detail pane has for a flow, and the timing rows; no DOM.
import type { Flow } from "../flowtypes";

export type TabId = "request" | "response" | "messages" | "connection" | "timing" | "error" | "comment";

export interface Tab {
  id: TabId;
  label: string;
}

/** The tabs of a flow, as mitmweb 12 has them per flow type. */
export function tabsFor(flow: Flow): Tab[] {
  const tabs: Tab[] = [];
  switch (flow.type) {
    case "http":
      tabs.push({ id: "request", label: "Request" });
      if (flow.response) tabs.push({ id: "response", label: "Response" });
      if (flow.websocket) tabs.push({ id: "messages", label: "WebSocket" });
      break;
    case "tcp":
      tabs.push({ id: "messages", label: "TCP Messages" });
      break;
    case "udp":
      tabs.push({ id: "messages", label: "UDP Messages" });
      break;
    case "dns":
      tabs.push({ id: "request", label: "Request" });
      if (flow.response) tabs.push({ id: "response", label: "Response" });
      break;
  }
  tabs.push({ id: "connection", label: "Connection" }, { id: "timing", label: "Timing" });
  if (flow.error) tabs.push({ id: "error", label: "Error" });
  tabs.push({ id: "comment", label: "Comment" });
  return tabs;
}

/** The tab to show: the one asked for when the flow has it, else its first. */
export function activeTab(tabs: Tab[], wanted: TabId | undefined): TabId {
  return tabs.find((t) => t.id === wanted)?.id ?? tabs[0].id;
}

/** The tab delta steps away from current, wrapping around. */
export function nextTab(tabs: Tab[], current: TabId, delta: number): TabId {
  const i = tabs.findIndex((t) => t.id === current);
  const n = tabs.length;
  return tabs[(((i < 0 ? 0 : i) + delta) % n + n) % n].id;
}

export interface TimingRow {
  label: string;
  t: number;
}

/** The flow's timestamps, earliest first, as mitmweb's Timing tab lists them. */
export function timingRows(flow: Flow): TimingRow[] {
  const rows: [string, number | null | undefined][] = [
    ["Server conn. initiated", flow.server_conn?.timestamp_start],
    ["Server conn. TCP handshake", flow.server_conn?.timestamp_tcp_setup],
    ["Server conn. TLS handshake", flow.server_conn?.timestamp_tls_setup],
    ["Server conn. closed", flow.server_conn?.timestamp_end],
    ["Client conn. established", flow.client_conn?.timestamp_start],
    ["Client conn. TLS handshake", flow.client_conn?.timestamp_tls_setup],
    ["Client conn. closed", flow.client_conn?.timestamp_end],
  ];
  if (flow.type === "http") {
    rows.push(
      ["First request byte", flow.request.timestamp_start],
      ["Request complete", flow.request.timestamp_end],
      ["First response byte", flow.response?.timestamp_start],
      ["Response complete", flow.response?.timestamp_end],
      ["WebSocket closed", flow.websocket?.timestamp_end],
    );
  } else if (flow.type === "dns") {
    rows.push(["Request", flow.request.timestamp], ["Response", flow.response?.timestamp]);
  } else {
    rows.push(["Last message", flow.messages_meta.timestamp_last]);
  }
  if (flow.error) rows.push(["Error", flow.error.timestamp]);
  return rows
    .filter((r): r is [string, number] => typeof r[1] === "number" && r[1] > 0)
    .map(([label, t]) => ({ label, t }))
    .sort((a, b) => a.t - b.t);
}

/** The marker a click on the Mark button sets: mitmproxy's default, or none. */
export function toggledMarker(marked: string): string {
  return marked ? "" : ":default:";
}
