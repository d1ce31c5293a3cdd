package flowfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/tnetstring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sharedData is mitmproxy's test data, shared by the project (see
// /work/shared/testdata/README.md).
const sharedData = "../../shared/testdata/mitmproxy-flows"

func requireSharedData(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("mitmproxy test data not found at %s: %v", sharedData, err)
	}
}

// testFiles lists every file of the shared test data.
func testFiles(t testing.TB) []string {
	requireSharedData(t)
	var files []string
	err := filepath.WalkDir(sharedData, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".mitm") || strings.HasSuffix(path, ".har")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d test files found", len(files))
	}
	return files
}

// deterministic makes ids and HAR import times reproducible.
func deterministic(r *Reader) *Reader {
	n := 0
	r.newID = func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	r.now = func() time.Time { return time.Unix(1700000000, 0) }
	return r
}

func readFile(t testing.TB, path string) ([]*tnetstring.Dict, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := deterministic(NewReader(f))
	var flows []*tnetstring.Dict
	for {
		d, err := r.Next()
		if err == io.EOF {
			return flows, nil
		}
		if err != nil {
			return flows, err
		}
		flows = append(flows, d)
	}
}

// expectedErrors are the files mitmproxy refuses, and what we say.
var expectedErrors = map[string]string{
	"dumpfile-010.mitm": "flowfile: mitmgo cannot read files with flow format version (0, 10)",
	"brokenfile.har":    "flowfile: unable to read HAR file, please provide a valid HAR file",
}

func goldenName(path string) string {
	rel, _ := filepath.Rel(sharedData, path)
	return filepath.Join("testdata", "golden", strings.ReplaceAll(rel, string(filepath.Separator), "__")+".txt")
}

// TestReadAll reads every test file and compares a dump of each migrated
// flow with a golden file.
func TestReadAll(t *testing.T) {
	for _, path := range testFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			flows, err := readFile(t, path)
			var out strings.Builder
			for i, f := range flows {
				fmt.Fprintf(&out, "# flow %d\n%s\n", i, dumpValue(f, 0))
			}
			if want, ok := expectedErrors[filepath.Base(path)]; ok {
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("error = %v, want %q", err, want)
				}
				fmt.Fprintf(&out, "# error\n%s\n", err)
			} else if err != nil {
				t.Fatalf("reading: %v", err)
			}
			for _, f := range flows {
				if v, _ := f.Get("version"); v != int64(21) {
					t.Errorf("flow version %v", v)
				}
			}
			golden := goldenName(path)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("dump differs from %s (run with -update to accept):\n%s", golden, firstDiff(got, string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
	return ""
}

func mustRead(t *testing.T, name string) []*tnetstring.Dict {
	t.Helper()
	requireSharedData(t)
	flows, err := readFile(t, filepath.Join(sharedData, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return flows
}

func header(h []any, name string) string {
	for _, x := range h {
		p := x.([]any)
		if strings.EqualFold(string(p[0].([]byte)), name) {
			return string(p[1].([]byte))
		}
	}
	return ""
}

// TestFlowFacts checks the fields that matter on a few flows, independent
// of the golden files.
func TestFlowFacts(t *testing.T) {
	t.Run("0.11 python2 era", func(t *testing.T) {
		f := mustRead(t, "dumpfile-011.mitm")[0]
		req, resp := f.Dict("request"), f.Dict("response")
		if req.Str("host") != "example.com" || req.Int("port") != 443 || string(req.Bytes("method")) != "GET" ||
			string(req.Bytes("scheme")) != "https" || string(req.Bytes("path")) != "/" || string(req.Bytes("http_version")) != "HTTP/1.1" {
			t.Errorf("request: %s", dumpValue(req, 0))
		}
		if _, ok := get(req, "host").(string); !ok {
			t.Error("host must be str")
		}
		if _, ok := get(req, "method").([]byte); !ok {
			t.Error("method must be bytes")
		}
		if resp.Int("status_code") != 200 || string(resp.Bytes("reason")) != "OK" || len(resp.Bytes("content")) != 1270 {
			t.Errorf("response: %s", dumpValue(resp, 0))
		}
		if header(resp.List("headers"), "content-type") != "text/html" {
			t.Error("response headers")
		}
		cc, sc := f.Dict("client_conn"), f.Dict("server_conn")
		if !Equal(get(cc, "peername"), []any{"127.0.0.1", int64(60786)}) || !cc.Bool("tls") {
			t.Errorf("client_conn: %s", dumpValue(cc, 0))
		}
		if !Equal(get(sc, "address"), []any{"example.com", int64(443)}) || sc.Str("sni") != "example.com" || len(sc.List("certificate_list")) != 1 {
			t.Errorf("server_conn: %s", dumpValue(sc, 0))
		}
		if f.Float("timestamp_created") != 1469208634.706 || req.Float("timestamp_start") != 1469208634.706 {
			t.Error("timestamps")
		}
		for _, e := range f.Entries {
			if e.BytesKey {
				t.Errorf("bytes key %q left", e.Key)
			}
		}
	})
	t.Run("websocket merge", func(t *testing.T) {
		flows := mustRead(t, "dumpfile-7-websocket.mitm")
		if len(flows) != 6 {
			t.Fatalf("%d flows, want 6 (mitmproxy keeps each handshake and adds a merged copy)", len(flows))
		}
		wantWS := []bool{false, true, true, false, true, false}
		for i, f := range flows {
			if f.Str("type") != "http" {
				t.Errorf("flow %d type %q", i, f.Str("type"))
			}
			ws := f.Dict("websocket")
			if (ws != nil) != wantWS[i] {
				t.Errorf("flow %d websocket = %v", i, ws != nil)
				continue
			}
			if ws == nil {
				continue
			}
			msgs := ws.List("messages")
			if len(msgs) != 2 {
				t.Fatalf("flow %d: %d messages", i, len(msgs))
			}
			m := msgs[0].([]any)
			if len(m) != 6 || m[0] != int64(1) || m[1] != true || string(m[2].([]byte)) != "Rock it with HTML5 WebSocket" || m[4] != false || m[5] != false {
				t.Errorf("flow %d message %v", i, m)
			}
			if !ws.Bool("closed_by_client") || ws.Int("close_code") != 1005 || ws.Str("close_reason") != "" {
				t.Errorf("flow %d websocket %s", i, dumpValue(ws, 0))
			}
			if !strings.Contains(f.Dict("metadata").Str("duplicated"), "migrated") {
				t.Errorf("flow %d: no duplicated note", i)
			}
		}
		// The merged copy has the handshake's id and request; the second
		// WebSocket flow of the same handshake gets a made-up request.
		if flows[1].Str("id") != flows[0].Str("id") || flows[1].Dict("request").Str("host") != "echo.websocket.org" {
			t.Error("flow 1 is not the handshake copy")
		}
		if flows[2].Dict("request").Str("host") != "unknown" || flows[2].Str("id") != "bb2e201b-2e25-471d-8cc7-a08f6f311fff" {
			t.Error("flow 2 is not a dummy handshake")
		}
		// Connection ids survive; both flows of one connection share them.
		if flows[0].Dict("client_conn").Str("id") != "1e49546f-eddb-4d02-a335-451ba2f06da7" {
			t.Error("client id")
		}
	})
	t.Run("v20 websocket", func(t *testing.T) {
		flows := mustRead(t, "websocket.mitm")
		ws := flows[2].Dict("websocket")
		if ws == nil || len(ws.List("messages")) < 2 {
			t.Fatal("websocket messages missing")
		}
		m := ws.List("messages")[1].([]any)
		if m[1] != true || string(m[2].([]byte)) != "foo" {
			t.Errorf("message %v", m)
		}
	})
	t.Run("http3 quic", func(t *testing.T) {
		f := mustRead(t, "dumpfile-19.mitm")[0]
		cc := f.Dict("client_conn")
		if cc.Str("transport_protocol") != "udp" || cc.Str("tls_version") != "QUICv1" {
			t.Errorf("client_conn %s", dumpValue(cc, 0))
		}
		if string(f.Dict("request").Bytes("http_version")) != "HTTP/3" {
			t.Error("http version")
		}
	})
	t.Run("tcp", func(t *testing.T) {
		var tcp *tnetstring.Dict
		for _, f := range mustRead(t, "flows/diff_data.mitm") {
			if f.Str("type") == "tcp" {
				tcp = f
			}
		}
		if tcp == nil || len(tcp.List("messages")) == 0 || tcp.Str("marked") != ":default:" {
			t.Fatal("tcp flow")
		}
		m := tcp.List("messages")[0].([]any)
		if len(m) != 3 {
			t.Errorf("message %v", m)
		}
	})
	t.Run("errors", func(t *testing.T) {
		f := mustRead(t, "flows/error_log.mitm")[0]
		if f.Dict("error") == nil || !strings.Contains(f.Dict("error").Str("msg"), "Connect call failed") || f.Dict("response") != nil {
			t.Errorf("error flow: %v", dumpValue(f.Dict("error"), 0))
		}
	})
	t.Run("har", func(t *testing.T) {
		f := mustRead(t, "har_files/postdata.har")[0]
		req := f.Dict("request")
		if string(req.Bytes("method")) != "POST" || req.Str("host") != "signal-metrics-collector-beta.s-onetag.com" ||
			len(req.Bytes("content")) != 1310 || string(req.Bytes("http_version")) != "HTTP/2" ||
			header(req.List("headers"), "content-length") != "1310" {
			t.Errorf("request %s", dumpValue(req, 0))
		}
		if req.Float("timestamp_start") != 1689428246.093 || req.Float("timestamp_end") != 1689428246.262796 {
			t.Error("timestamps")
		}
		if !Equal(get(f.Dict("server_conn"), "address"), []any{"99.83.181.31", int64(443)}) {
			t.Error("server address")
		}
		bom := mustRead(t, "har_files/with-bom.har")
		if len(bom) != 1 || !bytes.Equal(bom[0].Dict("request").Bytes("content"), req.Bytes("content")) {
			t.Error("BOM file")
		}
	})
}

// Equal is tnetstring.Equal, shortened for the tests.
func Equal(a, b any) bool { return tnetstring.Equal(a, b) }

func TestVersionErrors(t *testing.T) {
	mk := func(v any) []byte {
		d := tnetstring.NewDict()
		d.Set("version", v)
		d.Set("type", "http")
		b, _ := tnetstring.Marshal(d)
		return b
	}
	tests := []struct {
		v    any
		want string
	}{
		{int64(22), "flowfile: mitmgo cannot read files with flow format version 22, please update mitmgo"},
		{int64(3), "flowfile: mitmgo cannot read files with flow format version 3"},
		{[]any{int64(0), int64(10), int64(1)}, "flowfile: mitmgo cannot read files with flow format version (0, 10)"},
		{[]any{int64(5), int64(0)}, "flowfile: mitmgo cannot read files with flow format version (5, 0)"},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(mk(tt.v))).Next()
		var ve *VersionError
		if !errors.As(err, &ve) || err.Error() != tt.want {
			t.Errorf("version %v: %v, want %q", tt.v, err, tt.want)
		}
	}
}

func TestCorrupt(t *testing.T) {
	requireSharedData(t)
	data, err := os.ReadFile(filepath.Join(sharedData, "flows/diff_data.mitm"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := ReadAll(bytes.NewReader(data))
	if err != nil || len(all) != 7 {
		t.Fatal(len(all), err)
	}
	// Cut the file in the middle of the fourth flow.
	var offsets []int64
	dec := tnetstring.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.Decode(); err != nil {
			break
		}
		offsets = append(offsets, dec.Offset())
	}
	cut := offsets[3] + 100
	flows, err := ReadAll(bytes.NewReader(data[:cut]))
	if len(flows) != 3 {
		t.Errorf("%d flows before the damage, want 3", len(flows))
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v", err)
	}
	if ce.FlowStart != offsets[3] || ce.Offset != cut || ce.Flows != 3 {
		t.Errorf("error %+v", ce)
	}
	want := fmt.Sprintf("flowfile: corrupted at byte %d: ", cut)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
	// Garbage instead of a flow.
	garbage := append(append([]byte{}, data[:offsets[1]]...), "1:x?"...)
	flows, err = ReadAll(bytes.NewReader(garbage))
	if len(flows) != 1 || !errors.As(err, &ce) || ce.Offset != offsets[1]+3 {
		t.Errorf("garbage: %d flows, %v", len(flows), err)
	}
	// Not a dict.
	_, err = ReadAll(strings.NewReader("3:abc,"))
	if err == nil || !strings.Contains(err.Error(), "invalid flow") {
		t.Errorf("non-dict: %v", err)
	}
	// Unknown flow type.
	d := tnetstring.NewDict()
	d.Set("version", int64(21))
	d.Set("type", "smtp")
	b, _ := tnetstring.Marshal(d)
	if _, err = ReadAll(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "unknown flow type: 'smtp'") {
		t.Errorf("unknown type: %v", err)
	}
	// The error is sticky.
	r := NewReader(strings.NewReader("3:abc,"))
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Error("error not sticky")
	}
	// Empty input is an empty file.
	if flows, err := ReadAll(strings.NewReader("")); err != nil || len(flows) != 0 {
		t.Errorf("empty: %v", err)
	}
}

func TestRoundTripV21(t *testing.T) {
	for _, path := range testFiles(t) {
		if !strings.HasSuffix(path, ".mitm") || strings.HasSuffix(path, "dumpfile-010.mitm") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			flows, err := readFile(t, path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w := NewWriter(&buf, 21)
			for _, f := range flows {
				if err := w.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			again, err := ReadAll(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != len(flows) {
				t.Fatalf("%d flows, want %d", len(again), len(flows))
			}
			for i := range flows {
				if !Equal(flows[i], again[i]) {
					t.Errorf("flow %d differs after a round trip:\n%s", i, firstDiff(dumpValue(again[i], 0), dumpValue(flows[i], 0)))
				}
			}
			// Files written by mitmproxy 11+ come back byte for byte.
			orig, _ := os.ReadFile(path)
			if bytes.HasPrefix(orig, []byte("1939:9:websocket;")) && !bytes.Equal(orig, buf.Bytes()) {
				t.Error("v21 file not reproduced byte for byte")
			}
		})
	}
}

// v17Lossy is what 8.1.1 cannot hold: the client's proxy mode and the
// transport protocol.
func v17Expected(f *tnetstring.Dict) *tnetstring.Dict {
	f = f.Clone()
	f.Dict("client_conn").Set("proxy_mode", "regular")
	f.Dict("client_conn").Set("transport_protocol", "tcp")
	f.Dict("server_conn").Set("transport_protocol", "tcp")
	return f
}

func TestRoundTripV17(t *testing.T) {
	for _, path := range testFiles(t) {
		if strings.HasSuffix(path, "dumpfile-010.mitm") || strings.HasSuffix(path, "brokenfile.har") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			flows, err := readFile(t, path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w := NewWriter(&buf, 17)
			for _, f := range flows {
				if err := w.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			// What we wrote is version 17, laid out as 8.1.1 writes it.
			dec := tnetstring.NewDecoder(bytes.NewReader(buf.Bytes()))
			raw, err := dec.Decode()
			if err != nil {
				t.Fatal(err)
			}
			rd := raw.(*tnetstring.Dict)
			if rd.Int("version") != 17 || rd.Entries[len(rd.Entries)-1].Key != "type" || rd.Dict("client_conn").Has("proxy_mode") ||
				!rd.Dict("client_conn").Has("tls_extensions") || !rd.Dict("server_conn").Has("via2") {
				t.Errorf("not a v17 layout: %v", rd.Keys())
			}
			again, err := ReadAll(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != len(flows) {
				t.Fatalf("%d flows, want %d", len(again), len(flows))
			}
			for i := range flows {
				if want := v17Expected(flows[i]); !Equal(want, again[i]) {
					t.Errorf("flow %d differs after v21 -> v17 -> v21:\n%s", i, firstDiff(dumpValue(again[i], 0), dumpValue(want, 0)))
				}
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	d := tnetstring.NewDict()
	d.Set("type", "udp")
	if err := NewWriter(io.Discard, 17).Write(d); err == nil {
		t.Error("v17 accepted a UDP flow")
	}
	if err := NewWriter(io.Discard, 18).Write(d); err == nil {
		t.Error("version 18 accepted")
	}
	d.Set("bad", "\xff")
	if err := NewWriter(io.Discard, 21).Write(d); err == nil {
		t.Error("invalid UTF-8 str accepted")
	}
}

// TestHARExport compares our HAR export with the HAR files mitmproxy
// exported from the same flow files.
func TestHARExport(t *testing.T) {
	requireSharedData(t)
	for _, name := range []string{"successful_log", "websocket", "flows/corrupted_gzip_body", "flows/diff_data",
		"flows/error_log", "flows/event_stream", "flows/incomplete_log"} {
		t.Run(name, func(t *testing.T) {
			flows := mustRead(t, name+".mitm")
			var buf bytes.Buffer
			hw := NewHARWriter(&buf)
			hw.Creator = HARCreator{Name: "mitmproxy", Version: "1.2.3"}
			for _, f := range flows {
				if err := hw.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := hw.Close(); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(sharedData, name+".har"))
			if err != nil {
				t.Fatal(err)
			}
			want = bytes.TrimSuffix(want, []byte("\n"))
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("HAR differs from mitmproxy's:\n%s", firstDiff(buf.String(), string(want)))
			}
			// And it reads back as HAR.
			back, err := ReadAll(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			http := 0
			for _, f := range flows {
				if f.Str("type") == "http" {
					http++
				}
			}
			if len(back) != http {
				t.Errorf("%d flows read back, want %d", len(back), http)
			}
		})
	}
	var buf bytes.Buffer
	if err := WriteHAR(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"entries": []`) {
		t.Errorf("empty HAR: %s", buf.String())
	}
}

// TestMitmdump8 checks that Debian's mitmproxy 8.1.1 reads the version 17
// files we write.
func TestMitmdump8(t *testing.T) {
	mitmdump, err := findMitmdump()
	if err != nil {
		t.Skipf("mitmdump (mitmproxy 8.1.1) not installed: %v", err)
	}
	flows := mustRead(t, "successful_log.mitm")
	flows = append(flows, mustRead(t, "websocket.mitm")...)
	flows = append(flows, mustRead(t, "flows/diff_data.mitm")...)
	flows = append(flows, mustRead(t, "flows/error_log.mitm")...)
	flows = append(flows, mustRead(t, "dumpfile-7.mitm")...)
	path := filepath.Join(t.TempDir(), "v17.mitm")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(out, 17)
	for _, f := range flows {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	out.Close()
	res := runMitmdump(t, mitmdump, path)
	if strings.Contains(res, "Traceback") || strings.Contains(res, "corrupted") || strings.Contains(res, "cannot read") {
		t.Fatalf("mitmdump failed:\n%s", res)
	}
	for _, want := range []string{"GET https://example.com/", "https://demo.piesocket.com/v3/channel_123", "163.com"} {
		if !strings.Contains(res, want) {
			t.Errorf("mitmdump output lacks %q:\n%s", want, res)
		}
	}
	// mitmdump -w writes it back as v17; we read that too.
	back := filepath.Join(t.TempDir(), "back.mitm")
	runMitmdump(t, mitmdump, path, "-w", back)
	f, err := os.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	again, err := ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(flows) {
		t.Fatalf("mitmdump wrote %d flows back, want %d", len(again), len(flows))
	}
	for i := range flows {
		want := v17Expected(flows[i])
		got := again[i]
		// 8.1.1 writes "backup" only when set; we read it as null.
		if !Equal(want, got) {
			t.Errorf("flow %d changed through mitmproxy 8.1.1:\n%s", i, firstDiff(dumpValue(got, 0), dumpValue(want, 0)))
		}
	}
}

func TestHTTPHelpers(t *testing.T) {
	if got := parseQS("a=1&b=%41+x&c&&d=%zz&e=%ff"); fmt.Sprint(got) != "[[a 1] [b A x] [c ] [d %zz] [e \xff]]" {
		t.Errorf("parseQS = %q", got)
	}
	for _, tt := range []struct{ ct, want string }{
		{"text/html; charset=ISO-8859-1", "ISO-8859-1"}, {"application/json", "utf8"}, {"text/html", "utf8"},
		{"image/png", "latin-1"}, {"text/plain; charset=gbk", "gb18030"}, {"text/css", "utf8"},
	} {
		if got := inferContentEncoding(tt.ct, nil); got != tt.want {
			t.Errorf("inferContentEncoding(%q) = %q, want %q", tt.ct, got, tt.want)
		}
	}
	if s, ok := decodeText([]byte("caf\xe9"), "latin-1"); !ok || s != "café" {
		t.Error("latin-1")
	}
	if _, ok := decodeText([]byte("caf\xe9"), "utf-8"); ok {
		t.Error("invalid utf-8 accepted")
	}
	if s, ok := decodeText([]byte("\x82\xa0"), "shift_jis"); !ok || s != "あ" {
		t.Errorf("shift_jis: %q %v", s, ok)
	}
	if b, ok := encodeText("é", "latin-1"); !ok || string(b) != "\xe9" {
		t.Error("encode latin-1")
	}
	if _, ok := encodeText("€", "latin-1"); ok {
		t.Error("€ in latin-1")
	}
	for _, tt := range []struct {
		url, scheme, host string
		port              int64
		path              string
	}{
		{"https://Example.COM/a?b=c#d", "https", "example.com", 443, "/a?b=c#d"},
		{"http://x:8080", "http", "x", 8080, "/"},
		{"https://mitmproxy.org/?=", "https", "mitmproxy.org", 443, "/?="},
		{"http://[::1]:81/p?", "http", "::1", 81, "/p"},
		{"http://u:p@h/%zz", "http", "h", 80, "/%zz"},
	} {
		s, h, p, path, err := parseRequestURL(tt.url)
		if err != nil || s != tt.scheme || h != tt.host || p != tt.port || path != tt.path {
			t.Errorf("parseRequestURL(%q) = %q %q %d %q %v", tt.url, s, h, p, path, err)
		}
	}
	if _, _, _, _, err := parseRequestURL("/relative"); err == nil {
		t.Error("relative URL accepted")
	}
	if got := isoTime(1690281721.7268102); got != "2023-07-25T10:42:01.726810+00:00" {
		t.Errorf("isoTime = %s", got)
	}
	if got := isoTime(1690281721); got != "2023-07-25T10:42:01+00:00" {
		t.Errorf("isoTime = %s", got)
	}
	ts, err := parseISOTime("2023-03-29T17:37:42.482-07:00")
	if err != nil || ts != 1680136662.482 {
		t.Errorf("parseISOTime = %v, %v", ts, err)
	}
	var jw jsonWriter
	jw.str("a\"\\\n\x7f\x01é😀\xff")
	if got := string(jw.buf); got != `"a\"\\\n\u007f\u0001\u00e9\ud83d\ude00\udcff"` {
		t.Errorf("json str = %s", got)
	}
}
