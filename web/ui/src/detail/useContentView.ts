// Loads a content view rendering, again whenever its key changes (a body
// still streaming, an edit), keeping the last one shown meanwhile.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { ContentViewData } from "../flowtypes";
import { unavailableText } from "./contentview";

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
}

export function useContentView<T extends ContentViewData | ContentViewData[]>(
  flowId: string,
  part: api.ContentPart,
  view: string,
  lines: number,
  key: string,
  enabled: boolean,
): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: enabled });
  useEffect(() => {
    if (!enabled) {
      setState({ loading: false });
      return;
    }
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    const url = api.contentViewURL(flowId, part, view, lines + 1);
    api
      .request(url)
      .then((r) => r.json())
      .then(
        (data: T) => live && setState({ data, loading: false }),
        (e: unknown) => {
          if (!live) return;
          const msg =
            e instanceof api.ApiError && e.status === 409
              ? unavailableText(e.message)
              : String(e instanceof Error ? e.message : e);
          setState({ error: msg, loading: false });
        },
      );
    return () => {
      live = false;
    };
  }, [flowId, part, view, lines, key, enabled]);
  return state;
}
