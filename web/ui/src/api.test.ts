import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "./api";

interface Call {
  url: string;
  init: RequestInit & { headers: Headers };
}

let calls: Call[];
let answer: () => Response;

beforeEach(() => {
  calls = [];
  answer = () => new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });
  vi.stubGlobal("document", { cookie: "other=1; _mitmproxy_xsrf=tok%3D42; x=y" });
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit & { headers: Headers }) => {
      calls.push({ url, init });
      return answer();
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("XSRF", () => {
  it("reads the cookie", () => {
    expect(api.readCookie("a=1; _mitmproxy_xsrf=abc", "_mitmproxy_xsrf")).toBe("abc");
    expect(api.readCookie("a=1", "_mitmproxy_xsrf")).toBeUndefined();
    expect(api.xsrfToken()).toBe("tok=42");
  });

  it("sends no token on GET", async () => {
    await api.getFlows();
    expect(calls[0].url).toBe("./flows");
    expect(calls[0].init.method).toBe("GET");
    expect(calls[0].init.headers.get("X-XSRFToken")).toBeNull();
    expect(calls[0].init.credentials).toBe("same-origin");
  });

  it.each([
    ["resume", () => api.resumeFlow("f1"), "./flows/f1/resume", "POST"],
    ["kill", () => api.killFlow("f1"), "./flows/f1/kill", "POST"],
    ["duplicate", () => api.duplicateFlow("f1"), "./flows/f1/duplicate", "POST"],
    ["replay", () => api.replayFlow("f1"), "./flows/f1/replay", "POST"],
    ["revert", () => api.revertFlow("f1"), "./flows/f1/revert", "POST"],
    ["delete", () => api.deleteFlow("f1"), "./flows/f1", "DELETE"],
    ["mark", () => api.markFlow("f1", ":default:"), "./flows/f1", "PUT"],
    ["options", () => api.setOptions({ anticache: true }), "./options", "PUT"],
    ["clear", () => api.clearAll(), "./clear", "POST"],
    ["command", () => api.runCommand("set", "a", "b"), "./commands/set", "POST"],
    ["content", () => api.setContent("f1", "response", "x"), "./flows/f1/response/content.data", "POST"],
  ])("sends the token on %s", async (_name, fn, url, method) => {
    await fn();
    expect(calls[0].url).toBe(url);
    expect(calls[0].init.method).toBe(method);
    expect(calls[0].init.headers.get("X-XSRFToken")).toBe("tok=42");
  });

  it("sends none without the cookie", async () => {
    vi.stubGlobal("document", { cookie: "" });
    await api.killFlow("f1");
    expect(calls[0].init.headers.get("X-XSRFToken")).toBeNull();
  });
});

describe("requests", () => {
  it("sends edits as JSON", async () => {
    await api.updateFlow("f1", { request: { method: "POST" }, comment: "c" });
    expect(calls[0].init.headers.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ request: { method: "POST" }, comment: "c" });
  });

  it("sends command arguments", async () => {
    answer = () => new Response(JSON.stringify({ value: "ok" }));
    expect(await api.runCommand("set", "anticache", "true")).toEqual({ value: "ok" });
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ arguments: ["anticache", "true"] });
  });

  it("asks for an argument's completions", async () => {
    answer = () => new Response(JSON.stringify(["dark", "light"]));
    expect(await api.completeArgument("set", 1, "", ["web_theme"])).toEqual(["dark", "light"]);
    expect(calls[0].url).toBe("./commands/set/completions?index=1&text=&arg=web_theme");
    expect(calls[0].init.method).toBe("GET");
    await api.completeArgument("flow.mark", 0, "~u /a b");
    expect(calls[1].url).toBe("./commands/flow.mark/completions?index=0&text=%7Eu+%2Fa+b");
  });

  it("throws the server's error text", async () => {
    answer = () => new Response("view_order: bad value\n", { status: 400, statusText: "Bad Request" });
    const err = await api.setOptions({ view_order: "nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(api.ApiError);
    expect((err as api.ApiError).status).toBe(400);
    expect((err as api.ApiError).message).toBe("view_order: bad value");
  });

  it("throws a command's error", async () => {
    answer = () => new Response(JSON.stringify({ error: "Unknown command" }));
    await expect(api.commandValue("nope")).rejects.toThrow("Unknown command");
  });

  it("escapes content view names", () => {
    expect(api.contentViewURL("f1", "response", "http/3 frames", 513)).toBe("./flows/f1/response/content/http%2F3%20frames.json?lines=513");
    expect(api.contentViewURL("f1", "messages", "auto")).toBe("./flows/f1/messages/content/auto.json");
  });

  it("exports with the export command, HAR from its route", async () => {
    answer = () => new Response(JSON.stringify({ value: "curl http://x" }));
    expect(await api.exportFlow("f1", "curl")).toBe("curl http://x");
    expect(calls[0].url).toBe("./commands/export");
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ arguments: ["curl", "@f1"] });
    answer = () => new Response('{"log": {}}');
    expect(await api.exportFlow("f1", "har")).toBe('{"log": {}}');
    expect(calls[1].url).toBe("./flows/f1/har");
    expect(calls[1].init.method).toBe("GET");
  });

  it("finds /updates relative to the page", () => {
    expect(api.updatesURL({ protocol: "http:", host: "127.0.0.1:8081", pathname: "/" })).toBe("ws://127.0.0.1:8081/updates");
    expect(api.updatesURL({ protocol: "https:", host: "h", pathname: "/mitm/index.html" })).toBe("wss://h/mitm/updates");
  });
});
