import { describe, expect, it } from "vitest";
import { formatAddress, formatSize, formatTimeDelta, formatTimeStamp } from "./format";

describe("formatSize", () => {
  it.each([
    [0, "0"],
    [1, "1b"],
    [1023, "1023b"],
    [1024, "1kb"],
    [1536, "1.5kb"],
    [68608, "67kb"],
    [68609, "67.0kb"],
    [1024 * 1024, "1mb"],
    [5.5 * 1024 ** 3, "5.5gb"],
    [2 * 1024 ** 4, "2tb"],
    [-5, "0"],
  ])("%d -> %s", (n, want) => expect(formatSize(n)).toBe(want));
});

describe("formatTimeDelta", () => {
  it.each([
    [0, "0ms"],
    [15.4, "15ms"],
    [999, "999ms"],
    [1000, "1s"],
    [2500, "3s"],
    [60_000, "1min"],
    [3_600_000, "1h"],
    [7_200_000 * 30, "60h"],
  ])("%d ms -> %s", (n, want) => expect(formatTimeDelta(n)).toBe(want));
});

describe("formatTimeStamp", () => {
  it("shows local time with milliseconds", () => {
    const d = new Date(2024, 0, 2, 3, 4, 5, 67);
    expect(formatTimeStamp(d.getTime() / 1000)).toBe("2024-01-02 03:04:05.067");
    expect(formatTimeStamp(d.getTime() / 1000, false)).toBe("2024-01-02 03:04:05");
  });
});

describe("formatAddress", () => {
  it("brackets IPv6", () => {
    expect(formatAddress(["127.0.0.1", 8080])).toBe("127.0.0.1:8080");
    expect(formatAddress(["::1", 443])).toBe("[::1]:443");
    expect(formatAddress(null)).toBe("");
  });
});
