package flowfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// smallFlow is a typical small HTTP flow: a GET with a few headers and a
// short response (about 1.3 KB encoded).
func smallFlow(i int) *tnetstring.Dict {
	conn := func(server bool) *tnetstring.Dict {
		c := tnetstring.NewDict()
		c.Set("peername", []any{"127.0.0.1", int64(50000 + i%1000)})
		c.Set("sockname", []any{"127.0.0.1", int64(8080)})
		c.Set("id", fmt.Sprintf("eab20223-fc4f-4cd4-aa49-%012d", i))
		c.Set("transport_protocol", "tcp")
		c.Set("error", nil)
		c.Set("tls", false)
		c.Set("certificate_list", []any{})
		c.Set("alpn", nil)
		c.Set("alpn_offers", []any{})
		c.Set("cipher", nil)
		c.Set("cipher_list", []any{})
		c.Set("tls_version", nil)
		c.Set("sni", nil)
		c.Set("timestamp_start", 1731596382.1900728)
		c.Set("timestamp_end", 1731596382.2320333)
		c.Set("timestamp_tls_setup", nil)
		if server {
			c.Set("address", []any{"example.com", int64(80)})
			c.Set("timestamp_tcp_setup", 1731596382.2034934)
			c.Set("via", nil)
		} else {
			c.Set("mitmcert", nil)
			c.Set("proxy_mode", "regular")
		}
		return c
	}
	h := func(kv ...string) []any {
		l := []any{}
		for j := 0; j < len(kv); j += 2 {
			l = append(l, []any{[]byte(kv[j]), []byte(kv[j+1])})
		}
		return l
	}
	req := tnetstring.NewDict()
	req.Set("http_version", []byte("HTTP/1.1"))
	req.Set("headers", h("Host", "example.com", "User-Agent", "curl/8.11.0", "Accept", "*/*"))
	req.Set("content", []byte{})
	req.Set("trailers", nil)
	req.Set("timestamp_start", 1731596382.2106874)
	req.Set("timestamp_end", 1731596382.2201993)
	req.Set("host", "example.com")
	req.Set("port", int64(80))
	req.Set("method", []byte("GET"))
	req.Set("scheme", []byte("http"))
	req.Set("authority", []byte{})
	req.Set("path", []byte(fmt.Sprintf("/item/%d", i)))
	resp := tnetstring.NewDict()
	resp.Set("http_version", []byte("HTTP/1.1"))
	resp.Set("headers", h("Server", "Werkzeug/3.0.4 Python/3.12.7", "Date", "Thu, 14 Nov 2024 14:59:42 GMT",
		"Content-Type", "text/html; charset=utf-8", "Content-Length", "100", "Connection", "close"))
	resp.Set("content", bytes.Repeat([]byte("x"), 100))
	resp.Set("trailers", nil)
	resp.Set("timestamp_start", 1731596382.2251546)
	resp.Set("timestamp_end", 1731596382.2281084)
	resp.Set("status_code", int64(200))
	resp.Set("reason", []byte("OK"))
	f := tnetstring.NewDict()
	f.Set("version", int64(21))
	f.Set("type", "http")
	f.Set("id", fmt.Sprintf("0e171f85-e943-4bfa-9f94-%012d", i))
	f.Set("error", nil)
	f.Set("client_conn", conn(false))
	f.Set("server_conn", conn(true))
	f.Set("intercepted", false)
	f.Set("is_replay", nil)
	f.Set("marked", "")
	f.Set("metadata", tnetstring.NewDict())
	f.Set("comment", "")
	f.Set("timestamp_created", 1731596382.2114494)
	f.Set("backup", nil)
	f.Set("request", req)
	f.Set("response", resp)
	f.Set("websocket", nil)
	return f
}

func smallFlowFile(n int) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf, 21)
	for i := range n {
		if err := w.Write(smallFlow(i)); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

func TestSmallFlowIsCanonical(t *testing.T) {
	// The benchmark flow must be a fixed point of reading, or the read
	// benchmark would measure something unusual.
	data := smallFlowFile(3)
	flows, err := ReadAll(bytes.NewReader(data))
	if err != nil || len(flows) != 3 {
		t.Fatal(err)
	}
	for i, f := range flows {
		if !Equal(f, smallFlow(i)) {
			t.Errorf("flow %d changed on reading:\n%s", i, firstDiff(dumpValue(f, 0), dumpValue(smallFlow(i), 0)))
		}
	}
}

// reportRate reports flows per second of wall time and, where the platform
// tells, per second of CPU time used by the whole process (which includes
// the garbage collector's work); the latter is stable when the machine is
// busy with other work.
func reportRate(b *testing.B, flows int, cpu0 time.Duration) {
	total := float64(flows) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "flows/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(total/cpu.Seconds(), "flows/cpu-s")
	}
}

func BenchmarkReadSmallFlows(b *testing.B) {
	const n = 1000
	data := smallFlowFile(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				if err == io.EOF {
					break
				}
				b.Fatal(err)
			}
		}
	}
	reportRate(b, n, cpu0)
}

func BenchmarkWriteSmallFlows(b *testing.B) {
	const n = 1000
	flows := make([]*tnetstring.Dict, n)
	for i := range flows {
		flows[i] = smallFlow(i)
	}
	size := len(smallFlowFile(n))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		w := NewWriter(io.Discard, 21)
		for _, f := range flows {
			if err := w.Write(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRate(b, n, cpu0)
}

func BenchmarkWriteSmallFlowsV17(b *testing.B) {
	const n = 1000
	flows := make([]*tnetstring.Dict, n)
	for i := range flows {
		flows[i] = smallFlow(i)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		w := NewWriter(io.Discard, 17)
		for _, f := range flows {
			if err := w.Write(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRate(b, n, cpu0)
}

func BenchmarkReadOldFormat(b *testing.B) {
	requireSharedData(b)
	data, err := os.ReadFile(filepath.Join(sharedData, "dumpfile-7-websocket.mitm"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadAll(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHAR(b *testing.B) {
	const n = 1000
	flows := make([]*tnetstring.Dict, n)
	for i := range flows {
		flows[i] = smallFlow(i)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := WriteHAR(io.Discard, flows); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, n, cpu0)
}

// repeatReader yields data n times without holding more than one copy.
type repeatReader struct {
	data []byte
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	c := copy(p, r.data[r.off:])
	r.off += c
	if r.off == len(r.data) {
		r.off = 0
		r.n--
	}
	return c, nil
}

// TestMemoryFlat reads a large generated file and checks that the heap
// does not grow with it: the reader streams.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	// One chunk of 100 flows, with a 1 MiB body in one of them, repeated:
	// 2000 x ~1.2 MB = 2.4 GB would be too slow under -race, so the
	// repeat count depends on the build.
	chunk := smallFlowFile(100)
	big := smallFlow(0)
	big.Dict("response").Set("content", bytes.Repeat([]byte("y"), 1<<20))
	bb, _ := tnetstring.Marshal(big)
	chunk = append(chunk, bb...)
	repeats := 100 // ~120 MB
	if raceEnabled {
		repeats = 30
	}
	r := NewReader(&repeatReader{data: chunk, n: repeats})
	var ms runtime.MemStats
	var peak uint64
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n%500 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if n != repeats*101 {
		t.Fatalf("read %d flows, want %d", n, repeats*101)
	}
	total := int64(len(chunk)) * int64(repeats)
	t.Logf("read %d flows, %d MB; peak heap in use %.1f MB", n, total>>20, float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("peak heap %d MB while streaming %d MB: the reader does not stream", peak>>20, total>>20)
	}
}

func FuzzReader(f *testing.F) {
	if files, err := filepath.Glob(filepath.Join(sharedData, "*.mitm")); err == nil {
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil && len(data) < 40000 {
				f.Add(data)
			}
		}
	}
	f.Add(smallFlowFile(2))
	f.Add([]byte(`{"log": {"entries": [{"startedDateTime": "2023-07-15T13:37:26.093Z", "time": 1, "request": {"method": "GET", "url": "http://x/", "headers": [], "httpVersion": "HTTP/1.1"}, "response": {"status": 200, "httpVersion": "HTTP/1.1", "headers": [], "content": {"text": "x"}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		var flows []*tnetstring.Dict
		for range 1000 {
			d, err := r.Next()
			if err != nil {
				break
			}
			flows = append(flows, d)
		}
		// Whatever we read, we can write (as 21 and 17) and read back.
		var buf bytes.Buffer
		w := NewWriter(&buf, 21)
		for _, d := range flows {
			if err := w.Write(d); err != nil {
				// Only str values that are not UTF-8 may fail, and the
				// reader never produces those.
				t.Fatalf("write: %v", err)
			}
		}
		back, err := ReadAll(&buf)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(back) != len(flows) {
			t.Fatalf("re-read %d flows, want %d", len(back), len(flows))
		}
		for _, d := range flows {
			_ = NewWriter(io.Discard, 17).Write(d)
			_ = NewHARWriter(io.Discard).Write(d)
		}
	})
}
