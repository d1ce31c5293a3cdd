// The Request and Response tabs: first line, headers, trailers and body,
// and their editor.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { HTTPFlow, HTTPRequest, HTTPResponse, Headers } from "../flowtypes";
import { MessageContent } from "./ContentView";
import { requestURL } from "./editmodel";
import {
  addHeader,
  editHeader,
  isEmptyUpdate,
  removeHeader,
  requestDraft,
  requestUpdate,
  responseDraft,
  responseUpdate,
  type HeaderRow,
  type RequestDraft,
  type ResponseDraft,
} from "./editmodel";

function HeaderTable({ headers, title }: { headers: Headers; title?: string }) {
  return (
    <table class="fd-headers">
      {title && (
        <thead>
          <tr>
            <th colSpan={2}>{title}</th>
          </tr>
        </thead>
      )}
      <tbody>
        {headers.map(([k, v], i) => (
          <tr key={i}>
            <td class="fd-header-name">{k}:</td>
            <td class="fd-header-value">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RequestView({ flow }: { flow: HTTPFlow }) {
  const r = flow.request;
  return (
    <section class="fd-message">
      <div class="fd-first-line">
        <span class="fd-method">{r.method}</span> <span class="fd-url">{requestURL({ ...r, host: r.pretty_host || r.host })}</span>{" "}
        <span class="fd-muted">{r.http_version}</span>
      </div>
      <HeaderTable headers={r.headers} />
      <MessageContent flow={flow} part="request" />
      {r.trailers && r.trailers.length > 0 && <HeaderTable headers={r.trailers} title="Trailers" />}
    </section>
  );
}

export function ResponseView({ flow }: { flow: HTTPFlow }) {
  const r = flow.response!;
  return (
    <section class="fd-message">
      <div class="fd-first-line">
        <span class="fd-muted">{r.http_version}</span> <span class="fd-status">{r.status_code}</span> <span>{r.reason}</span>
      </div>
      <HeaderTable headers={r.headers} />
      <MessageContent flow={flow} part="response" />
      {r.trailers && r.trailers.length > 0 && <HeaderTable headers={r.trailers} title="Trailers" />}
    </section>
  );
}

function HeaderEditor({ rows, onChange }: { rows: HeaderRow[]; onChange: (r: HeaderRow[]) => void }) {
  return (
    <div class="fd-header-editor">
      <table class="fd-headers">
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td class="fd-edit-hname">
                <input
                  data-testid="edit-header-name"
                  value={r.name}
                  placeholder="name"
                  onInput={(e) => onChange(editHeader(rows, r.key, "name", (e.target as HTMLInputElement).value))}
                />
              </td>
              <td class="fd-edit-hvalue">
                <input
                  data-testid="edit-header-value"
                  value={r.value}
                  placeholder="value"
                  onInput={(e) => onChange(editHeader(rows, r.key, "value", (e.target as HTMLInputElement).value))}
                />
              </td>
              <td>
                <button class="fd-btn fd-icon" data-testid="edit-header-remove" title="Remove header" onClick={() => onChange(removeHeader(rows, r.key))}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button class="fd-btn" data-testid="edit-header-add" onClick={() => onChange(addHeader(rows))}>
        + Add header
      </button>
    </div>
  );
}

/** Loads a body as text for the editor; undefined while loading. */
function useBodyText(flowId: string, part: api.MessagePart, length: number | null): [string | undefined, string | undefined] {
  const [text, setText] = useState<string>();
  const [err, setErr] = useState<string>();
  useEffect(() => {
    let live = true;
    if (!length) {
      setText("");
      return;
    }
    api.getContentText(flowId, part).then(
      (t) => live && setText(t),
      (e: Error) => live && setErr(e.message),
    );
    return () => {
      live = false;
    };
  }, [flowId, part]);
  return [text, err];
}

interface EditorProps {
  flow: HTTPFlow;
  onDone: () => void;
}

function EditButtons({ onSave, onCancel, busy, error }: { onSave: () => void; onCancel: () => void; busy: boolean; error?: string }) {
  return (
    <div class="fd-edit-buttons">
      <button class="fd-btn fd-primary" data-testid="edit-save" disabled={busy} onClick={onSave}>
        Save
      </button>
      <button class="fd-btn" data-testid="edit-cancel" onClick={onCancel}>
        Cancel
      </button>
      {error && (
        <span class="fd-error" data-testid="edit-error">
          {error}
        </span>
      )}
    </div>
  );
}

type FlowUpdate = Parameters<typeof api.updateFlow>[1];

/**
 * useSave is an editor's save button: it sends the update that make()
 * builds (nothing when it changes nothing), is busy meanwhile, shows what
 * went wrong, and calls onDone after a save.
 */
function useSave(flowId: string, make: () => FlowUpdate, onDone: () => void): [() => Promise<void>, boolean, string | undefined] {
  const [err, setErr] = useState<string>();
  const [busy, setBusy] = useState(false);
  const onSave = async () => {
    setBusy(true);
    setErr(undefined);
    try {
      const upd = make();
      if (!isEmptyUpdate(upd.request) || !isEmptyUpdate(upd.response)) {
        await api.updateFlow(flowId, upd);
      }
      onDone();
    } catch (e) {
      setErr(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return [onSave, busy, err];
}

export function RequestEditor({ flow, onDone }: EditorProps) {
  const orig: HTTPRequest = flow.request;
  const [d, setD] = useState<RequestDraft>(() => requestDraft(orig));
  const [body, bodyErr] = useBodyText(flow.id, "request", orig.contentLength);
  const set = (p: Partial<RequestDraft>) => setD((x) => ({ ...x, ...p }));
  const [onSave, busy, err] = useSave(flow.id, () => ({ request: requestUpdate(orig, { ...d, content: d.content ?? undefined }, body) }), onDone);
  return (
    <section class="fd-message fd-editing">
      <div class="fd-first-line fd-edit-line">
        <input class="fd-edit-method" data-testid="edit-method" value={d.method} onInput={(e) => set({ method: (e.target as HTMLInputElement).value })} />
        <input class="fd-edit-url" data-testid="edit-url" value={d.url} onInput={(e) => set({ url: (e.target as HTMLInputElement).value })} />
        <input
          class="fd-edit-version"
          data-testid="edit-http-version"
          value={d.http_version}
          onInput={(e) => set({ http_version: (e.target as HTMLInputElement).value })}
        />
      </div>
      <HeaderEditor rows={d.headers} onChange={(headers) => set({ headers })} />
      <BodyEditor testid="edit-request-body" loaded={body} error={bodyErr} value={d.content} onInput={(content) => set({ content })} />
      <EditButtons onSave={onSave} onCancel={onDone} busy={busy} error={err} />
    </section>
  );
}

export function ResponseEditor({ flow, onDone }: EditorProps) {
  const orig: HTTPResponse = flow.response!;
  const [d, setD] = useState<ResponseDraft>(() => responseDraft(orig));
  const [body, bodyErr] = useBodyText(flow.id, "response", orig.contentLength);
  const set = (p: Partial<ResponseDraft>) => setD((x) => ({ ...x, ...p }));
  const [onSave, busy, err] = useSave(flow.id, () => ({ response: responseUpdate(orig, d, body) }), onDone);
  return (
    <section class="fd-message fd-editing">
      <div class="fd-first-line fd-edit-line">
        <input
          class="fd-edit-version"
          data-testid="edit-http-version"
          value={d.http_version}
          onInput={(e) => set({ http_version: (e.target as HTMLInputElement).value })}
        />
        <input class="fd-edit-status" data-testid="edit-status" value={d.code} onInput={(e) => set({ code: (e.target as HTMLInputElement).value })} />
        <input class="fd-edit-reason" data-testid="edit-reason" value={d.reason} onInput={(e) => set({ reason: (e.target as HTMLInputElement).value })} />
      </div>
      <HeaderEditor rows={d.headers} onChange={(headers) => set({ headers })} />
      <BodyEditor testid="edit-response-body" loaded={body} error={bodyErr} value={d.content} onInput={(content) => set({ content })} />
      <EditButtons onSave={onSave} onCancel={onDone} busy={busy} error={err} />
    </section>
  );
}

function BodyEditor({
  testid,
  loaded,
  error,
  value,
  onInput,
}: {
  testid: string;
  loaded: string | undefined;
  error?: string;
  value: string | undefined;
  onInput: (v: string) => void;
}) {
  if (error) return <div class="fd-error">Cannot load the body: {error}</div>;
  return (
    <textarea
      class="fd-body-editor"
      data-testid={testid}
      disabled={loaded === undefined}
      placeholder={loaded === undefined ? "Loading…" : "(empty body)"}
      value={value ?? loaded ?? ""}
      onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
      spellcheck={false}
    />
  );
}
