package filter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAgainstMitmproxy parses every golden input with mitmproxy's own
// flowfilter (Debian's mitmproxy, when installed) and compares the trees:
// operator classes, regex texts and status codes, and/or/not structure,
// and whether the expression is rejected at all.
func TestAgainstMitmproxy(t *testing.T) {
	python := mitmproxyPython()
	if python == "" {
		t.Skip("mitmproxy is not installed (apt-get install mitmproxy): skipping the comparison with its flowfilter")
	}
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatal("no golden files")
	}
	var inputs []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		input, _, _ := strings.Cut(string(data), goldenSep)
		inputs = append(inputs, input)
	}
	extra := []string{"~all", "~q ~s", "(~q )", "! (a)", "a&b", "a & b", "a|b|c", "a | b | c", "~c 1 ~c 2 ~c 3"}
	inputs = append(inputs, extra...)
	in, _ := json.Marshal(inputs)
	const script = `
import json, sys
from mitmproxy import flowfilter as f
def d(n):
    c = n.__class__.__name__
    if hasattr(n, 'lst'): return [c] + [d(x) for x in n.lst]
    if hasattr(n, 'itm'): return [c, d(n.itm)]
    if hasattr(n, 'num'): return [c, str(n.num)]
    if hasattr(n, 'expr'): return [c, n.expr]
    return [c]
out = []
for e in json.load(sys.stdin):
    try:
        out.append({"tree": d(f.parse(e))})
    except Exception as ex:
        out.append({"error": str(ex)})
json.dump(out, sys.stdout)
`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	out, err := cmd.Output()
	timer.Stop()
	if err != nil {
		t.Fatalf("%s: %v\n%s", python, err, stderr.String())
	}
	var results []struct {
		Tree  any    `json:"tree"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(inputs) {
		t.Fatalf("bad output from mitmproxy (%v): %s", err, out)
	}
	compared := 0
	for i, input := range inputs {
		res := results[i]
		flt, err := ParseWith(input, Options{})
		if skipMitmproxyDiff(input, err) {
			continue
		}
		compared++
		switch {
		case err != nil && res.Error == "":
			t.Errorf("%q: mitmproxy parses it as %v, we fail: %v", input, res.Tree, err)
		case err == nil && res.Error != "":
			t.Errorf("%q: mitmproxy rejects it (%s), we parse it as\n%s", input, res.Error, dump(flt.(node)))
		case err == nil:
			want, _ := json.Marshal(res.Tree)
			got, _ := json.Marshal(classTree(flt.(node)))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q:\n got %s\nwant %s", input, got, want)
			}
		}
	}
	t.Logf("compared %d of %d expressions with mitmproxy", compared, len(inputs))
}

// skipMitmproxyDiff lists what legitimately differs from Debian's
// mitmproxy 8.1.1: operators added since, its older pyparsing's handling of
// escapes in quotes, and regexes Python runs but RE2 cannot.
func skipMitmproxyDiff(input string, err error) bool {
	if strings.Contains(input, "~udp") {
		return true // added in mitmproxy 9
	}
	if strings.ContainsAny(input, `"'`) && strings.Contains(input, `\`) {
		return true // pyparsing 3.0 unescapes quoted strings differently
	}
	if err != nil && (strings.Contains(err.Error(), "not supported") || strings.Contains(err.Error(), "limit of Go")) {
		return true
	}
	if err != nil && strings.Contains(err.Error(), "bad escape \\z") {
		return true
	}
	return false
}

var mitmproxyClass = map[opKind]string{
	opAsset: "FAsset", opErr: "FErr", opHTTP: "FHTTP", opMarked: "FMarked", opReplay: "FReplay",
	opReplayQ: "FReplayClient", opReplayS: "FReplayServer", opReq: "FReq", opResp: "FResp", opTCP: "FTCP",
	opUDP: "FUDP", opDNS: "FDNS", opWebSocket: "FWebSocket", opAll: "FAll",
	opBody: "FBod", opBodyReq: "FBodRequest", opBodyResp: "FBodResponse", opCT: "FContentType",
	opCTReq: "FContentTypeRequest", opCTResp: "FContentTypeResponse", opDomain: "FDomain", opDst: "FDst",
	opHead: "FHead", opHeadReq: "FHeadRequest", opHeadResp: "FHeadResponse", opMethod: "FMethod", opSrc: "FSrc",
	opURL: "FUrl", opMeta: "FMeta", opMarker: "FMarker", opComment: "FComment", opCode: "FCode",
}

// classTree renders a tree the way the script above renders mitmproxy's.
func classTree(n node) any {
	switch x := n.(type) {
	case *andNode:
		out := []any{"FAnd"}
		for _, c := range x.list {
			out = append(out, classTree(c))
		}
		return out
	case *orNode:
		out := []any{"FOr"}
		for _, c := range x.list {
			out = append(out, classTree(c))
		}
		return out
	case *notNode:
		return []any{"FNot", classTree(x.n)}
	case *unaryNode:
		return []any{mitmproxyClass[x.op.kind]}
	case *rexNode:
		return []any{mitmproxyClass[x.op.kind], x.rx.src}
	case *codeNode:
		return []any{"FCode", x.digits}
	}
	panic("unknown node")
}

// mitmproxyPython finds a python that can import mitmproxy: the one
// mitmdump runs with.
func mitmproxyPython() string {
	mitmdump, err := exec.LookPath("mitmdump")
	if err != nil {
		return ""
	}
	f, err := os.Open(mitmdump)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, "#!") {
		return ""
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return ""
	}
	python := fields[0]
	if filepath.Base(python) == "env" && len(fields) > 1 {
		python = fields[1]
	}
	if exec.Command(python, "-c", "import mitmproxy.flowfilter").Run() != nil {
		return ""
	}
	return python
}
