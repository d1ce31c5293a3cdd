// The export dialog's data: the formats, their labels and file names, and
// the load of a flow's text; no DOM here.
import * as api from "../api";
import type { Flow } from "../flowtypes";

export interface ExportChoice {
  format: api.ExportFormat;
  label: string;
  /** data-testid of its button. */
  testid: string;
}

export const EXPORT_CHOICES: ExportChoice[] = [
  { format: "curl", label: "cURL", testid: "export-curl" },
  { format: "httpie", label: "HTTPie", testid: "export-httpie" },
  { format: "raw", label: "Raw", testid: "export-raw" },
  { format: "raw_request", label: "Raw request", testid: "export-raw-request" },
  { format: "raw_response", label: "Raw response", testid: "export-raw-response" },
  { format: "har", label: "HAR", testid: "export-har" },
];

/** Whether a format can export the flow (all need an HTTP flow; raw_response a response). */
export function canExport(flow: Flow, format: api.ExportFormat): boolean {
  if (flow.type !== "http") return false;
  if (format === "raw_response") return !!flow.response;
  return true;
}

export function exportTitle(format: api.ExportFormat): string {
  return EXPORT_CHOICES.find((c) => c.format === format)?.label ?? format;
}

/** The file name for saving an export. */
export function exportFileName(flow: Flow, format: api.ExportFormat): string {
  const id = flow.id.slice(0, 8);
  switch (format) {
    case "har":
      return `flow-${id}.har`;
    case "curl":
    case "httpie":
      return `flow-${id}.sh`;
    default:
      return `flow-${id}.txt`;
  }
}

export type ExportState =
  | { status: "loading"; format: api.ExportFormat }
  | { status: "done"; format: api.ExportFormat; text: string }
  | { status: "error"; format: api.ExportFormat; error: string };

/** Loads an export; the result is the dialog's state. */
export async function loadExport(
  flowId: string,
  format: api.ExportFormat,
  exporter: (id: string, f: api.ExportFormat) => Promise<string> = api.exportFlow,
): Promise<ExportState> {
  try {
    return { status: "done", format, text: await exporter(flowId, format) };
  } catch (e) {
    return { status: "error", format, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Copies text: the Clipboard API, or a hidden textarea where it is missing (http pages). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* try the fallback */
  }
  const t = document.createElement("textarea");
  t.value = text;
  t.style.position = "fixed";
  t.style.opacity = "0";
  document.body.appendChild(t);
  try {
    t.select();
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    t.remove();
  }
}
