// A DOM for the component tests of W2's folders: happy-dom's Window put on
// globalThis. Without happy-dom installed the tests skip (see hasDOM).
import { vi } from "vitest";

// The name is a variable so that neither tsc nor Vite needs the package.
const pkg = "happy-dom";
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let hd: any;
try {
  hd = await import(/* @vite-ignore */ pkg);
} catch {
  hd = undefined;
}

export const hasDOM = hd !== undefined;

const GLOBALS = [
  "document", "navigator", "localStorage", "Node", "Element", "HTMLElement", "HTMLInputElement",
  "HTMLTextAreaElement", "HTMLSelectElement", "HTMLButtonElement", "Text", "Event", "CustomEvent",
  "KeyboardEvent", "MouseEvent", "FocusEvent", "InputEvent", "SVGElement", "DocumentFragment",
  "getComputedStyle", "requestAnimationFrame", "cancelAnimationFrame", "MutationObserver",
];

/** Installs a fresh DOM at url; returns its window. */
export function installDOM(url = "http://127.0.0.1:8081/") {
  const win = new hd.Window({ url });
  vi.stubGlobal("window", win);
  for (const g of GLOBALS) {
    if (win[g] !== undefined) vi.stubGlobal(g, typeof win[g] === "function" && /^[a-z]/.test(g) ? win[g].bind(win) : win[g]);
  }
  win.document.cookie = "_mitmproxy_xsrf=tok";
  return win;
}

export interface FakeCall {
  url: string;
  method: string;
  body: unknown;
  xsrf: string | null;
}

/**
 * A fetch answering by "METHOD url" (url as the API functions write it,
 * e.g. "GET ./options"); unknown routes answer 404.
 */
export function fakeFetch(routes: Record<string, (body: unknown) => { status?: number; body: unknown }>) {
  const calls: FakeCall[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      const method = init.method ?? "GET";
      let body: unknown = init.body;
      if (typeof body === "string") {
        try {
          body = JSON.parse(body);
        } catch {
          /* raw */
        }
      }
      calls.push({ url, method, body, xsrf: new Headers(init.headers).get("X-XSRFToken") });
      const h = routes[`${method} ${url}`];
      if (!h) return new Response("Not Found", { status: 404 });
      const r = h(body);
      const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
      return new Response(text, { status: r.status ?? 200 });
    }),
  );
  return calls;
}

/** Lets promises and Preact's effects run. */
export async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}
