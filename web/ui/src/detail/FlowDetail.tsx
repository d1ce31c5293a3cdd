// The flow detail pane: the flow's actions, and tabs as mitmweb 12 has
// them per flow type (Request, Response, messages, Connection, Timing,
// Error, Comment), with the request/response editor.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import { ExportButtons } from "../export/ExportButtons";
import type { Flow } from "../flowtypes";
import { formatTimeStamp } from "../format";
import { ConnectionTab, TimingTab } from "./Connection";
import { DnsMessageView } from "./Dns";
import { RequestEditor, RequestView, ResponseEditor, ResponseView } from "./HttpMessage";
import { Messages } from "./Messages";
import { activeTab, nextTab, tabsFor, toggledMarker, type TabId } from "./tabs";
import "./detail.css";

export interface FlowDetailProps {
  flow: Flow;
  onClose: () => void;
}

function CommentTab({ flow }: { flow: Flow }) {
  const [text, setText] = useState(flow.comment);
  const [err, setErr] = useState<string>();
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setText(flow.comment);
    setSaved(false);
  }, [flow.id, flow.comment]);
  const save = async () => {
    setErr(undefined);
    try {
      await api.commentFlow(flow.id, text);
      setSaved(true);
    } catch (e) {
      setErr(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section class="fd-comment">
      <textarea
        data-testid="comment-text"
        class="fd-body-editor"
        value={text}
        placeholder="A comment on this flow"
        onInput={(e) => {
          setText((e.target as HTMLTextAreaElement).value);
          setSaved(false);
        }}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void save();
        }}
      />
      <div class="fd-edit-buttons">
        <button class="fd-btn fd-primary" data-testid="comment-save" disabled={text === flow.comment} onClick={save}>
          Save comment
        </button>
        {saved && <span class="fd-muted">Saved.</span>}
        {err && <span class="fd-error">{err}</span>}
      </div>
    </section>
  );
}

function ErrorTab({ flow }: { flow: Flow }) {
  if (!flow.error) return null;
  return (
    <section class="fd-error-tab">
      <div class="fd-error-box">{flow.error.msg}</div>
      <div class="fd-muted">{formatTimeStamp(flow.error.timestamp)}</div>
    </section>
  );
}

/** The pane remembers the tab across flows, as mitmweb does. */
let lastTab: TabId | undefined;

export function FlowDetail({ flow, onClose }: FlowDetailProps) {
  const tabs = tabsFor(flow);
  const [wanted, setWanted] = useState<TabId | undefined>(lastTab);
  const tab = activeTab(tabs, wanted);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState<string>();
  const [err, setErr] = useState<string>();

  useEffect(() => {
    setEditing(false);
    setErr(undefined);
  }, [flow.id]);

  const choose = (t: TabId) => {
    lastTab = t;
    setWanted(t);
    setEditing(false);
  };

  // The shell's ←/→/Tab keys switch tabs (mitmweb's shortcuts).
  const tabIds = tabs.map((t) => t.id).join(",");
  useEffect(() => {
    const onTab = (e: Event) => {
      const delta = (e as CustomEvent<{ delta: number }>).detail?.delta ?? 0;
      if (delta) choose(nextTab(tabs, tab, delta));
    };
    window.addEventListener("mitmgo:detail-tab", onTab);
    return () => window.removeEventListener("mitmgo:detail-tab", onTab);
  }, [tabIds, tab]);

  const act = (name: string, fn: () => Promise<unknown>) => async () => {
    setBusy(name);
    setErr(undefined);
    try {
      await fn();
    } catch (e) {
      setErr(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(undefined);
    }
  };

  const http = flow.type === "http" ? flow : undefined;
  // Edit works on the Request or Response tab; from another tab it opens the request.
  const editable = !!http;
  const startEdit = () => {
    if (tab !== "request" && !(tab === "response" && http?.response)) choose("request");
    setEditing(true);
  };
  // Download the body of the tab shown, else the response's (or the request's).
  const hasBody = (part: api.MessagePart) => !!(part === "request" ? http?.request : http?.response)?.contentLength;
  const downloadPart: api.MessagePart | undefined =
    tab === "request" || tab === "response"
      ? hasBody(tab)
        ? tab
        : undefined
      : hasBody("response")
        ? "response"
        : hasBody("request")
          ? "request"
          : undefined;

  let body;
  switch (tab) {
    case "request":
      body = http ? (
        editing ? (
          <RequestEditor flow={http} onDone={() => setEditing(false)} />
        ) : (
          <RequestView flow={http} />
        )
      ) : flow.type === "dns" ? (
        <DnsMessageView msg={flow.request} />
      ) : null;
      break;
    case "response":
      body =
        http && http.response ? (
          editing ? (
            <ResponseEditor flow={http} onDone={() => setEditing(false)} />
          ) : (
            <ResponseView flow={http} />
          )
        ) : flow.type === "dns" && flow.response ? (
          <DnsMessageView msg={flow.response} />
        ) : null;
      break;
    case "messages":
      body = <Messages flow={flow} />;
      break;
    case "connection":
      body = <ConnectionTab flow={flow} />;
      break;
    case "timing":
      body = <TimingTab flow={flow} />;
      break;
    case "error":
      body = <ErrorTab flow={flow} />;
      break;
    case "comment":
      body = <CommentTab flow={flow} />;
      break;
  }

  return (
    <div class="fd-root" data-testid="flow-detail" data-flow-id={flow.id}>
      <div class="fd-tabs" role="tablist">
        {tabs.map((t) => (
          <button
            key={t.id}
            role="tab"
            aria-selected={t.id === tab}
            class={`fd-tab${t.id === tab ? " fd-active" : ""}`}
            data-testid={`tab-${t.id}`}
            onClick={() => choose(t.id)}
          >
            {t.label}
          </button>
        ))}
        <span class="fd-spacer" />
        <button class="fd-btn fd-icon" data-testid="flow-close" title="Close (Esc)" onClick={onClose}>
          ✕
        </button>
      </div>
      <div class="fd-actions">
        {flow.intercepted && (
          <>
            <button class="fd-btn fd-primary" data-testid="flow-resume" disabled={!!busy} title="Resume the intercepted flow [a]" onClick={act("resume", () => api.resumeFlow(flow.id))}>
              ▶ Resume
            </button>
            <button class="fd-btn fd-danger" data-testid="flow-kill" disabled={!!busy} title="Kill the flow [x]" onClick={act("kill", () => api.killFlow(flow.id))}>
              ✕ Kill
            </button>
          </>
        )}
        {editable && !editing && (
          <button class="fd-btn" data-testid="flow-edit" title="Edit this message [e]" onClick={startEdit}>
            ✎ Edit
          </button>
        )}
        <button class="fd-btn" data-testid="flow-replay" disabled={!!busy || !http} title="Replay the request [r]" onClick={act("replay", () => api.replayFlow(flow.id))}>
          ↻ Replay
        </button>
        <button class="fd-btn" data-testid="flow-duplicate" disabled={!!busy} title="Duplicate the flow [D]" onClick={act("duplicate", () => api.duplicateFlow(flow.id))}>
          Duplicate
        </button>
        {flow.modified && (
          <button class="fd-btn" data-testid="flow-revert" disabled={!!busy} title="Revert the changes [V]" onClick={act("revert", () => api.revertFlow(flow.id))}>
            ↶ Revert
          </button>
        )}
        <button
          class={`fd-btn${flow.marked ? " fd-marked" : ""}`}
          data-testid="flow-mark"
          disabled={!!busy}
          title={flow.marked ? "Unmark the flow [m]" : "Mark the flow [m]"}
          onClick={act("mark", () => api.markFlow(flow.id, toggledMarker(flow.marked)))}
        >
          {flow.marked || "☆"} {flow.marked ? "Unmark" : "Mark"}
        </button>
        <button class="fd-btn fd-danger" data-testid="flow-delete" disabled={!!busy} title="Delete the flow [d]" onClick={act("delete", () => api.deleteFlow(flow.id))}>
          Delete
        </button>
        {downloadPart ? (
          <a class="fd-btn" data-testid="flow-download" href={api.contentURL(flow.id, downloadPart)} download title={`Download the ${downloadPart} body`}>
            ⤓ Download
          </a>
        ) : (
          <button class="fd-btn" data-testid="flow-download" disabled title="No body to download in this tab">
            ⤓ Download
          </button>
        )}
        <span class="fd-spacer" />
        <ExportButtons flow={flow} />
      </div>
      {err && (
        <div class="fd-error fd-action-error" data-testid="flow-action-error">
          {err}
        </div>
      )}
      {flow.intercepted && <div class="fd-intercepted">This flow is intercepted: edit it, then resume it.</div>}
      <div class="fd-tab-body">{body}</div>
    </div>
  );
}
