// The messages of a WebSocket, TCP or UDP flow, each rendered by the
// chosen content view; refreshed as messages arrive.
import { useEffect, useState } from "preact/hooks";
import type { ContentViewData, Flow, MessagesMeta } from "../flowtypes";
import { formatTimeStamp } from "../format";
import { chooseView, isTruncated, moreLines, viewChoices } from "./contentview";
import { SearchBox, ViewSelect, useLinesCutoff, useViewNames } from "./ContentView";
import { Highlighted, matchCount } from "./Highlighted";
import { useContentView } from "./useContentView";

function meta(flow: Flow): MessagesMeta | undefined {
  if (flow.type === "http") return flow.websocket?.messages_meta;
  if (flow.type === "tcp" || flow.type === "udp") return flow.messages_meta;
  return undefined;
}

export function Messages({ flow }: { flow: Flow }) {
  const names = useViewNames();
  const [view, setView] = useState(() => chooseView(names, viewChoices.get(flow.id, "messages")));
  useEffect(() => setView(chooseView(names, viewChoices.get(flow.id, "messages"))), [flow.id, names]);
  const [lines, setLines] = useLinesCutoff(flow.id);
  const [query, setQuery] = useState("");
  const [current, setCurrent] = useState(0);
  const m = meta(flow);
  const key = `${m?.count ?? 0}:${m?.contentLength ?? 0}:${m?.timestamp_last ?? ""}`;
  const cv = useContentView<ContentViewData[]>(flow.id, "messages", view, lines, key, lines > 0 && (m?.count ?? 0) > 0);
  const msgs = cv.data ?? [];
  const total = msgs.reduce((n, x) => n + (x.text.match(/\n/g)?.length ?? 0) + 1, 0);
  const count = query ? msgs.reduce((n, x) => n + matchCount(x.text, query), 0) : 0;
  const ws = flow.type === "http" ? flow.websocket : undefined;
  let offset = 0;
  return (
    <section class="fd-messages">
      <div class="fd-content-bar">
        <span class="fd-content-desc">
          {m ? `${m.count} message${m.count === 1 ? "" : "s"}` : "No messages"}
          {cv.error ? ` — ${cv.error}` : ""}
        </span>
        <SearchBox query={query} onQuery={(q) => { setQuery(q); setCurrent(0); }} count={count} onNext={(s) => count > 0 && setCurrent((c) => (c + s + count) % count)} />
        <ViewSelect
          value={view}
          names={names}
          onChange={(v) => {
            viewChoices.set(flow.id, "messages", v);
            setView(v);
          }}
        />
      </div>
      <div class="fd-message-list" data-testid="content-body">
        {msgs.map((x, i) => {
          const n = query ? matchCount(x.text, query) : 0;
          const local = current - offset;
          offset += n;
          return (
            <div key={i} class={`fd-msg ${x.from_client ? "fd-from-client" : "fd-from-server"}`}>
              <div class="fd-msg-head">
                <span class="fd-arrow" title={x.from_client ? "client → server" : "server → client"}>
                  {x.from_client ? "→" : "←"}
                </span>{" "}
                <span class="fd-muted">
                  {x.timestamp ? formatTimeStamp(x.timestamp) : ""} {x.view_name} {x.description}
                </span>
              </div>
              <pre class="fd-body">
                <Highlighted text={x.text} query={query} current={local >= 0 && local < n ? local : -1} syntax={x.syntax_highlight} />
              </pre>
            </div>
          );
        })}
      </div>
      {total > lines && lines > 0 && isTruncated(msgs.map((x) => x.text).join("\n"), lines) && (
        <button class="fd-btn fd-more" data-testid="content-more" onClick={() => setLines(moreLines(lines))}>
          Show more
        </button>
      )}
      {ws && ws.timestamp_end && (
        <div class="fd-ws-close">
          Closed by {ws.closed_by_client ? "client" : "server"} with code {ws.close_code ?? "-"}
          {ws.close_reason ? ` (${ws.close_reason})` : ""} at {formatTimeStamp(ws.timestamp_end)}.
        </div>
      )}
    </section>
  );
}
