import { describe, expect, it } from "vitest";
import { checkFilter, defaultOperators, operatorsFromHelp } from "./filterexpr";

describe("checkFilter", () => {
  it.each([
    "~q",
    "~a",
    "example",
    "~d example\\.com & !~c 200",
    "~u /api ~m post",
    '~h "content-type: .*json"',
    "~c 404 | ~c 500",
    "!(~q & ~s )",
    "(~q )",
    "~b 'a b'",
    "~t json",
    "~marked",
    "!~websocket",
    "foo bar",
    "~q &", // "&" without an operand is a bare regex, as in mitmproxy
    '~u "(?i)abc"',
    "~h \"(?P<x>a)\"",
    "~u ^/x\\Z",
  ])("accepts %s", (e) => expect(checkFilter(e)).toEqual({ ok: true }));

  it.each([
    ["", "empty expression"],
    ["~", '"~" must be followed by an operator name'],
    ["~nope", 'unknown operator "~nope"'],
    ["(~q)", '"~q" must be followed by whitespace'],
    ["~c abc", "~c expects a status code"],
    ["~h", "~h expects a regex, found the end"],
    ["(~q ", 'missing ")"'],
    ["(~q ~s)", 'expected "&", "|" or ")"'],
    ['~h "abc', "unterminated quoted string"],
    ["~u [a-", "invalid regex"],
    ["~u 'a(?=b)'", "lookahead"],
    ["~u '(a)\\\\1'", "backreferences"],
    [")", "unexpected"],
    ["!(~q & ~s)", '"~s" must be followed by whitespace'],
    ["~u (?i)abc", "quote a regex that contains parentheses"],
  ])("rejects %s", (e, msg) => {
    const r = checkFilter(e);
    expect(r.ok).toBe(false);
    expect(r.error).toContain(msg);
  });

  it("reads the operators from /filter-help", () => {
    const ops = operatorsFromHelp([
      ["~q", "Request"],
      ["~h regex", "Header"],
      ["~c int", "HTTP response code"],
      ["!", "unary not"],
      ["(...)", "grouping"],
    ]);
    expect([...ops]).toEqual([
      ["q", "none"],
      ["h", "regex"],
      ["c", "int"],
    ]);
    expect(checkFilter("~q & ~h x", ops).ok).toBe(true);
    expect(checkFilter("~s", ops).ok).toBe(false);
    expect(defaultOperators.get("bq")).toBe("regex");
  });
});
