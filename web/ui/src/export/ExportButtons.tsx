// Export of a flow as cURL, HTTPie, raw or HAR, shown in a dialog with a
// copy button.
import { useEffect, useState } from "preact/hooks";
import type * as api from "../api";
import type { Flow } from "../flowtypes";
import { EXPORT_CHOICES, canExport, copyText, exportFileName, exportTitle, loadExport, type ExportState } from "./exportmodel";
import "./export.css";

export function ExportDialog({ flow, state, onClose }: { flow: Flow; state: ExportState; onClose: () => void }) {
  const [copied, setCopied] = useState<boolean | undefined>();
  useEffect(() => setCopied(undefined), [state]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [onClose]);
  const text = state.status === "done" ? state.text : "";
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = exportFileName(flow, state.format);
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <div class="exp-backdrop" onClick={onClose}>
      <div class="exp-dialog" role="dialog" aria-label="Export" data-testid="export-dialog" onClick={(e) => e.stopPropagation()}>
        <div class="exp-head">
          <strong>Export as {exportTitle(state.format)}</strong>
          <button class="exp-btn exp-close" data-testid="export-close" title="Close" onClick={onClose}>
            ✕
          </button>
        </div>
        {state.status === "error" ? (
          <div class="exp-error" data-testid="export-error">
            {state.error}
          </div>
        ) : (
          <textarea
            class="exp-text"
            data-testid="export-text"
            readOnly
            value={state.status === "loading" ? "" : text}
            placeholder={state.status === "loading" ? "Loading…" : ""}
            spellcheck={false}
          />
        )}
        <div class="exp-foot">
          <button
            class="exp-btn exp-primary"
            data-testid="export-copy"
            disabled={state.status !== "done"}
            onClick={async () => setCopied(await copyText(text))}
          >
            Copy
          </button>
          <button class="exp-btn" data-testid="export-save" disabled={state.status !== "done"} onClick={download}>
            Save…
          </button>
          {copied === true && <span class="exp-note">Copied to the clipboard.</span>}
          {copied === false && <span class="exp-note">Copy failed; select the text and copy it.</span>}
        </div>
      </div>
    </div>
  );
}

export function ExportButtons({ flow }: { flow: Flow }) {
  const [state, setState] = useState<ExportState>();
  const open = async (format: api.ExportFormat) => {
    setState({ status: "loading", format });
    const res = await loadExport(flow.id, format);
    setState((cur) => (cur && cur.format === format ? res : cur));
  };
  return (
    <span class="exp-buttons">
      <span class="exp-label">Export:</span>
      {EXPORT_CHOICES.map((c) => (
        <button
          key={c.format}
          class="exp-btn"
          data-testid={c.testid}
          disabled={!canExport(flow, c.format)}
          title={`Export as ${c.label}`}
          onClick={() => open(c.format)}
        >
          {c.label}
        </button>
      ))}
      {state && <ExportDialog flow={flow} state={state} onClose={() => setState(undefined)} />}
    </span>
  );
}
