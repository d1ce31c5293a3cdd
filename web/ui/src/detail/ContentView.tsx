// The body of a request or response as a content view: a view selector,
// search with highlighted matches, line cutoff with "show more", images,
// and a confirmation before rendering a large body.
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { StoreContext, type Stores } from "../hooks";
import * as api from "../api";
import type { ContentViewData, HTTPFlow, HTTPMessage } from "../flowtypes";
import { copyText } from "../export/exportmodel";
import { formatSize } from "../format";
import {
  LOAD_ON_DEMAND_BYTES,
  chooseView,
  contentKey,
  describe,
  firstLines,
  isImage,
  isTruncated,
  moreLines,
  namesFromState,
  sameNames,
  viewChoices,
} from "./contentview";
import { Highlighted, matchCount } from "./Highlighted";
import { contentViewNames, linesCutoff } from "./serverinfo";
import { useContentView } from "./useContentView";

/**
 * The content views to offer: from the page's server state, which
 * state/update keeps current (a script that adds a view), else from /state
 * once.
 */
export function useViewNames(): string[] {
  const app = (useContext(StoreContext) as Stores | null)?.app;
  const [names, setNames] = useState<string[]>(["auto"]);
  const take = (next: string[]) => setNames((prev) => (sameNames(prev, next) ? prev : next));
  useEffect(() => {
    if (app?.state?.contentViews) return;
    let live = true;
    void contentViewNames().then((n) => live && take(n));
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => {
    if (!app) return;
    const follow = () => {
      const n = namesFromState(app.state);
      if (n) take(n);
    };
    follow();
    return app.subscribe(follow);
  }, [app]);
  return names;
}

/** The line limit: the server's cutoff, again whenever resetKey changes (another body). */
export function useLinesCutoff(resetKey: string): [number, (n: number) => void] {
  const [lines, setLines] = useState(0);
  useEffect(() => {
    let live = true;
    void linesCutoff().then((n) => live && setLines(n));
    return () => {
      live = false;
    };
  }, [resetKey]);
  return [lines, setLines];
}

export function ViewSelect({ value, names, onChange }: { value: string; names: string[]; onChange: (v: string) => void }) {
  const opts = names.some((n) => n.toLowerCase() === value.toLowerCase()) ? names : [...names, value];
  return (
    <select
      class="fd-select"
      data-testid="contentview-select"
      title="Content view"
      value={value}
      onChange={(e) => onChange((e.target as HTMLSelectElement).value)}
    >
      {opts.map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </select>
  );
}

export function SearchBox({
  query,
  onQuery,
  count,
  onNext,
}: {
  query: string;
  onQuery: (q: string) => void;
  count: number;
  onNext: (step: number) => void;
}) {
  return (
    <span class="fd-search">
      <input
        type="search"
        data-testid="content-search"
        placeholder="Search body"
        value={query}
        onInput={(e) => onQuery((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            onNext(e.shiftKey ? -1 : 1);
          }
          e.stopPropagation();
        }}
      />
      {query && <span class="fd-muted">{count === 0 ? "no match" : `${count} match${count === 1 ? "" : "es"}`}</span>}
    </span>
  );
}

export function MessageContent({ flow, part }: { flow: HTTPFlow; part: api.MessagePart }) {
  const message = (part === "request" ? flow.request : flow.response) as HTTPMessage;
  const names = useViewNames();
  const [view, setView] = useState(() => chooseView(names, viewChoices.get(flow.id, part)));
  const [lines, setLines] = useLinesCutoff(flow.id + "/" + part);
  const [query, setQuery] = useState("");
  const [current, setCurrent] = useState(0);
  const [forced, setForced] = useState(false);

  useEffect(() => {
    setView(chooseView(names, viewChoices.get(flow.id, part)));
  }, [flow.id, part, names]);
  useEffect(() => setForced(false), [flow.id, part]);

  const size = message.contentLength ?? 0;
  const large = size > LOAD_ON_DEMAND_BYTES && !forced;
  const enabled = lines > 0 && size > 0 && !large;
  const cv = useContentView<ContentViewData>(flow.id, part, view, lines, contentKey(message), enabled);
  const text = cv.data?.text ?? "";
  const truncated = isTruncated(text, lines);
  const shown = truncated ? firstLines(text, lines) : text;
  const count = query ? matchCount(shown, query) : 0;

  return (
    <div class="fd-content">
      <div class="fd-content-bar">
        <span class="fd-content-desc" title={cv.data?.description}>
          {describe(message, cv.data, cv.error)}
          {cv.loading && cv.data ? " (updating…)" : ""}
        </span>
        <SearchBox query={query} onQuery={(q) => { setQuery(q); setCurrent(0); }} count={count} onNext={(s) => count > 0 && setCurrent((c) => (c + s + count) % count)} />
        <ViewSelect
          value={view}
          names={names}
          onChange={(v) => {
            viewChoices.set(flow.id, part, v);
            setView(v);
          }}
        />
        <BodyTools flowId={flow.id} part={part} view={view} hasText={text.length > 0} />
      </div>
      {isImage(message) && size > 0 && (
        <div class="fd-image">
          <img src={`${api.contentURL(flow.id, part)}?h=${message.contentHash ?? ""}`} alt="preview" />
        </div>
      )}
      {large ? (
        <div class="fd-large" data-testid="content-body">
          The body is {formatSize(size)}.{" "}
          <button class="fd-btn" data-testid="content-load" onClick={() => setForced(true)}>
            Show it
          </button>{" "}
          <a class="fd-btn" href={api.contentURL(flow.id, part)} download>
            Download
          </a>
        </div>
      ) : size > 0 ? (
        <pre class={`fd-body fd-syntax-${cv.data?.syntax_highlight ?? "none"}`} data-testid="content-body">
          <Highlighted text={shown} query={query} current={current} syntax={cv.data?.syntax_highlight} />
        </pre>
      ) : (
        <div data-testid="content-body" />
      )}
      {truncated && (
        <button class="fd-btn fd-more" data-testid="content-more" onClick={() => setLines(moreLines(lines))}>
          Show more
        </button>
      )}
    </div>
  );
}

/** Copy of the whole rendered body, and upload of a file to replace the body. */
function BodyTools({ flowId, part, view, hasText }: { flowId: string; part: api.MessagePart; view: string; hasText: boolean }) {
  const file = useRef<HTMLInputElement>(null);
  const [note, setNote] = useState<string>();
  const copy = async () => {
    try {
      // The view without the line cutoff: all of it.
      const data = await api.getContentView(flowId, part, view);
      setNote((await copyText(data.text)) ? "Copied." : "Copy failed.");
    } catch (e) {
      setNote(e instanceof Error ? e.message : String(e));
    }
    setTimeout(() => setNote(undefined), 2000);
  };
  const upload = async (f: File | undefined) => {
    if (!f) return;
    try {
      await api.setContent(flowId, part, f);
      setNote("Replaced.");
    } catch (e) {
      setNote(e instanceof Error ? e.message : String(e));
    }
    setTimeout(() => setNote(undefined), 2000);
  };
  return (
    <span class="fd-body-tools">
      <button class="fd-btn" data-testid="content-copy" disabled={!hasText} title="Copy the rendered body" onClick={copy}>
        Copy
      </button>
      <button class="fd-btn" data-testid="content-replace" title="Replace the body with a file" onClick={() => file.current?.click()}>
        Replace…
      </button>
      <input
        ref={file}
        type="file"
        data-testid="content-upload"
        style={{ display: "none" }}
        onChange={(e) => {
          const input = e.target as HTMLInputElement;
          void upload(input.files?.[0]);
          input.value = "";
        }}
      />
      {note && <span class="fd-muted">{note}</span>}
    </span>
  );
}
