import { describe, expect, it } from "vitest";
import type { Flow, HTTPFlow } from "../flowtypes";
import { EXPORT_CHOICES, canExport, exportFileName, exportTitle, loadExport } from "./exportmodel";

const http = {
  id: "0123456789abcdef",
  type: "http",
  request: {},
} as unknown as HTTPFlow;

describe("export", () => {
  it("has a button for each format of the brief", () => {
    const ids = EXPORT_CHOICES.map((c) => c.testid);
    for (const t of ["export-curl", "export-httpie", "export-raw", "export-har"]) expect(ids).toContain(t);
    expect(exportTitle("curl")).toBe("cURL");
  });
  it("exports HTTP flows only, a response only when there is one", () => {
    expect(canExport(http, "curl")).toBe(true);
    expect(canExport(http, "raw_response")).toBe(false);
    expect(canExport({ ...http, response: {} } as HTTPFlow, "raw_response")).toBe(true);
    expect(canExport({ ...http, type: "tcp" } as unknown as Flow, "curl")).toBe(false);
  });
  it("names the file after the flow", () => {
    expect(exportFileName(http, "har")).toBe("flow-01234567.har");
    expect(exportFileName(http, "curl")).toBe("flow-01234567.sh");
    expect(exportFileName(http, "raw")).toBe("flow-01234567.txt");
  });
  it("loads the text, or the error", async () => {
    const calls: [string, string][] = [];
    const ok = await loadExport("f1", "httpie", async (id, f) => {
      calls.push([id, f]);
      return "http GET x";
    });
    expect(ok).toEqual({ status: "done", format: "httpie", text: "http GET x" });
    expect(calls).toEqual([["f1", "httpie"]]);
    const bad = await loadExport("f1", "curl", async () => {
      throw new Error("No such export format: curl");
    });
    expect(bad).toEqual({ status: "error", format: "curl", error: "No such export format: curl" });
  });
});
