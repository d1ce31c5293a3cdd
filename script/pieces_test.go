package script

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// TestFramePieces: a message framed in pieces is, joined, the message
// framed whole; its large bytes values are pieces of their own, not
// copies; what marshal cannot carry goes as a tnetstring all the same.
func TestFramePieces(t *testing.T) {
	big := bytes.Repeat([]byte("b"), bigBytes)
	huge := bytes.Repeat([]byte("h"), 3<<20)
	small := []byte("small")
	part := func(content []byte) any {
		v, err := piecesPart(64, func(w *pyw) {
			w.beginDict()
			w.key("content")
			w.bytes(content)
			w.key("n")
			w.int(int64(len(content)))
			w.endDict()
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	inline := func(content []byte) any {
		v := part(content)
		if p, ok := v.(pyPieces); ok {
			return pyInline(p)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		msg  func() *tnetstring.Dict
		refs [][]byte // values that must not be copied
	}{
		{"small", func() *tnetstring.Dict {
			m := newMsg("hook")
			m.Set("data", small)
			m.Set("rq", part(small))
			return m
		}, nil},
		{"just below", func() *tnetstring.Dict {
			m := newMsg("chunk")
			m.Set("data", big[1:])
			return m
		}, nil},
		{"top-level", func() *tnetstring.Dict {
			m := newMsg("chunk")
			m.Set("data", big)
			m.Set("after", int64(1))
			return m
		}, [][]byte{big}},
		{"in parts", func() *tnetstring.Dict {
			m := newMsg("hook")
			m.Set("rq", part(big))
			m.Set("rs", part(huge))
			m.Set("ws", inline(big))
			m.Set("f", part(small))
			return m
		}, [][]byte{big, huge}},
		{"frame of 10 MB", func() *tnetstring.Dict {
			m := newMsg("chunk")
			m.Set("a", huge)
			m.Set("b", huge)
			m.Set("c", huge)
			m.Set("d", huge)
			return m
		}, [][]byte{huge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.msg()
			p, _, err := framePieces(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.refs {
				found := false
				for _, x := range p {
					found = found || (len(x) == len(r) && &x[0] == &r[0])
				}
				if !found {
					t.Errorf("a %d-byte value was copied into the frame", len(r))
				}
			}
			whole, err := frameMsg(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.join(), whole) {
				t.Fatal("the pieces differ from the frame")
			}
			// Framed again in a used buffer (host.send's pool).
			scratch := bytes.Repeat([]byte{'?'}, 1<<16)
			p2, buf, err := framePieces(m, scratch[:0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p2.join(), whole) {
				t.Fatal("framed in a used buffer, the pieces differ")
			}
			if &buf[:1][0] != &scratch[0] {
				t.Error("the buffer given was not used")
			}
			v, rest, err := tnetstring.Unmarshal(whole)
			if err != nil || len(rest) != 0 {
				t.Fatalf("frame: %v, %d bytes after it", err, len(rest))
			}
			got, err := decodePy(v.([]byte))
			if err != nil {
				t.Fatal(err)
			}
			want, err := plainValue(m)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(norm(got), norm(want)) {
				t.Errorf("the frame decodes to something else")
			}
		})
	}
	// A bytes key: the tnetstring way, parts joined.
	m := newMsg("hook")
	m.Entries = append(m.Entries, tnetstring.Entry{Key: "k", BytesKey: true, Value: int64(1)})
	m.Set("rq", part(big))
	m.Set("ws", inline(big))
	whole, err := frameMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := tnetstring.Unmarshal(whole)
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*tnetstring.Dict)
	if rq, _ := decodePy(d.Bytes("rq")); rq.(*tnetstring.Dict).Int("n") != int64(len(big)) {
		t.Errorf("rq decodes to %v", rq)
	}
	if ws := d.Dict("ws"); !bytes.Equal(ws.Bytes("content"), big) {
		t.Errorf("ws decodes to %v", ws)
	}
}

// TestWritePieces writes pieces larger than a pipe holds to a real pipe
// that another goroutine reads.
func TestWritePieces(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var want []byte
	var p [][]byte
	for i, n := range []int{5, 0, bigBytes, 1 << 20, 3, 300 << 10, 1} {
		b := bytes.Repeat([]byte{byte('a' + i)}, n)
		p = append(p, b)
		want = append(want, b...)
	}
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = got.ReadFrom(r)
	}()
	if err := writePieces(w, p); err != nil {
		t.Fatal(err)
	}
	w.Close()
	wg.Wait()
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("read %d bytes, want %d (or different ones)", got.Len(), len(want))
	}
}

// TestLargeMessagesThroughHost: WebSocket messages and bodies of every size
// around bigBytes cross to the script and back, read and changed.
func TestLargeMessagesThroughHost(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.py")
	writeBench(t, path, `
def websocket_message(flow):
    m = flow.websocket.messages[-1]
    flow.metadata["seen"] = len(m.content)
    if m.content[:1] == b"u":
        m.content = m.content.upper()

def response(flow):
    flow.response.headers["x-len"] = str(len(flow.response.content))
    if flow.request.path == "/upper":
        flow.response.content = flow.response.content.upper()
`)
	e := newEnv(t, Config{BodyInlineLimit: 4 << 20}, nil, path)
	f := newFlow(t, "GET", "http://example.com/ws", 101, "")
	f.WebSocket = &flow.WebSocketData{}
	for i, n := range []int{1, 100, bigBytes - 1, bigBytes, 64 << 10, 3 << 20} {
		for _, upper := range []bool{false, true} {
			c := bytes.Repeat([]byte("x"), n)
			if upper {
				c[0] = 'u'
			}
			msg := &flow.WebSocketMessage{Type: 2, FromClient: i%2 == 0, Content: c, Timestamp: 1}
			f.WebSocket.Messages = append(f.WebSocket.Messages, msg)
			e.m.WebSocketMessage(f)
			if seen, _ := f.Metadata.Get("seen"); fmt.Sprint(seen) != fmt.Sprint(n) {
				t.Errorf("%d bytes: the script saw %v", n, seen)
			}
			want := bytes.Repeat([]byte("x"), n)
			if upper {
				want = bytes.ToUpper(c)
			}
			if !bytes.Equal(msg.Content, want) {
				t.Errorf("%d bytes, upper %v: the message is now %.20q... (%d bytes)", n, upper, msg.Content, len(msg.Content))
			}
		}
	}
	for _, n := range []int{100, bigBytes, 1 << 20} {
		for _, p := range []string{"/same", "/upper"} {
			body := strings.Repeat("y", n)
			r := newFlow(t, "GET", "http://example.com"+p, 200, body)
			e.m.Response(r)
			if got := r.Response.Headers.Get("x-len"); got != fmt.Sprint(n) {
				t.Errorf("%s, %d bytes: x-len %q", p, n, got)
			}
			want := body
			if p == "/upper" {
				want = strings.ToUpper(body)
			}
			if string(r.Response.RawContent) != want {
				t.Errorf("%s, %d bytes: the body changed wrongly", p, n)
			}
		}
	}
}

// TestConcurrentCallers: hook calls of many flows at once all get their
// own replies, in order per flow.
func TestConcurrentCallers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "count.py")
	writeBench(t, path, `
import hashlib

def response(flow):
    n = int(flow.response.headers.get("x-n", "0"))
    flow.response.headers["x-n"] = str(n + 1)
    flow.response.headers["x-id"] = flow.id
    flow.response.headers["x-sha"] = hashlib.sha256(flow.response.content).hexdigest()
`)
	e := newEnv(t, Config{}, nil, path)
	const flows, calls = 8, 20
	// Bodies on both sides of bigBytes (written in place, several pieces
	// to one writev) and up to 3 MiB (more than a pipe holds), each
	// flow's different, so that a reply mixed up or a piece written out
	// of place shows in the hash.
	sizes := []int{0, 100, bigBytes - 1, bigBytes, 100 << 10, 3 << 20, 64 << 10, 1}
	var wg sync.WaitGroup
	errs := make(chan error, flows)
	for i := 0; i < flows; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte('a' + i)}, sizes[i%len(sizes)])
			f := newFlow(t, "GET", fmt.Sprintf("http://example.com/%d", i), 200, "")
			f.Response.RawContent = body
			sum := sha256.Sum256(body)
			want := hex.EncodeToString(sum[:])
			for j := 1; j <= calls; j++ {
				e.m.Response(f)
				if got := f.Response.Headers.Get("x-n"); got != fmt.Sprint(j) {
					errs <- fmt.Errorf("flow %d, call %d: x-n %q", i, j, got)
					return
				}
				if got := f.Response.Headers.Get("x-id"); got != f.ID {
					errs <- fmt.Errorf("flow %d got the reply of flow %s", i, got)
					return
				}
				if got := f.Response.Headers.Get("x-sha"); got != want {
					errs <- fmt.Errorf("flow %d (%d bytes), call %d: the script saw a body with sha256 %s, want %s", i, len(body), j, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
