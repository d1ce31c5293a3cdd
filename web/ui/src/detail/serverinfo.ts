// What the detail pane needs to know of the server once: the content view
// names (/state) and the line cutoff option. Asked once per page, shared by
// every pane.

import * as api from "../api";
import { DEFAULT_LINES, viewOptions } from "./contentview";

let views: Promise<string[]> | undefined;
let lines: Promise<number> | undefined;

export function contentViewNames(): Promise<string[]> {
  views ??= api.getState().then(
    (s) => viewOptions(s.contentViews),
    () => viewOptions(undefined),
  );
  return views;
}

export function linesCutoff(): Promise<number> {
  lines ??= api.getOptions().then(
    (o) => {
      const v = o["content_view_lines_cutoff"]?.value;
      return typeof v === "number" && v > 0 ? v : DEFAULT_LINES;
    },
    () => DEFAULT_LINES,
  );
  return lines;
}
