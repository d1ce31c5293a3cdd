package readfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
)

// FuzzLoadFlows feeds arbitrary bytes through the reader and the event
// dispatch: whatever the input, no panic, and the flows dispatched are
// those before the error.
func FuzzLoadFlows(f *testing.F) {
	// Small seeds keep the fuzzer fast: the smallest flow files of
	// several eras, and a HAR file.
	for _, name := range []string{"dumpfile-10.mitm", "dumpfile-011.mitm", "flows/corrupted_gzip_body.mitm", "har_files/insomnia.har"} {
		if data, err := os.ReadFile(filepath.Join(flowsDir, name)); err == nil {
			f.Add(data)
			f.Add(data[:len(data)/2])
		}
	}
	f.Add([]byte("29:7:version;2:21#4:type;4:http;}"))
	f.Add([]byte("{\"log\":{\"entries\":[]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := addon.NewManager()
		rf := New(m)
		rec := &recorder{}
		if err := m.Add(rf, rec); err != nil {
			t.Fatal(err)
		}
		n, _ := rf.LoadFlows(context.Background(), bytes.NewReader(data))
		if n != len(rec.flows) {
			t.Fatalf("LoadFlows reported %d flows, %d dispatched", n, len(rec.flows))
		}
	})
}

func FuzzParseReverse(f *testing.F) {
	for _, s := range []string{"reverse:https://example.com", "reverse:http://[::1]:8080/", "reverse:example.com:443@8080", "regular", "reverse:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tg := parseReverse(s); tg != nil && (tg.host == "" || tg.port < 0 || tg.port > 65535) {
			t.Fatalf("parseReverse(%q) = %+v", s, tg)
		}
	})
}
