package dumper

import (
	"bytes"
	"testing"
)

// BenchmarkDumpFlow is the dumper's cost per flow at the default
// flow_detail 1: what mitmdump adds to every request when it prints flows.
func BenchmarkDumpFlow(b *testing.B) {
	for _, tc := range []struct {
		name string
		tty  bool
	}{{"plain", false}, {"terminal", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var out bytes.Buffer
			d, _ := newTestDumper(b, &out, tc.tty)
			if tc.tty {
				d.SetTerminalWidth(func() int { return 120 })
			}
			f := textFlow(b, "http://example.com/some/path?query=1", "hello world")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Response(f)
				out.Reset()
			}
		})
	}
}
