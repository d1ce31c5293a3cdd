package proxy

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestIdleUntilReadable: an idle stream gives its buffers back while it
// waits; data that arrives is read first through the reader, with nothing
// lost; a connection that ends while idle leaves the stream parked, so that
// its buffers are not taken again only to be dropped.
func TestIdleUntilReadable(t *testing.T) {
	tests := []struct {
		name    string
		peer    func(c net.Conn)
		want    string
		wantErr bool
	}{
		{"data arrives", func(c net.Conn) { io.WriteString(c, "GET / HTTP/1.1\r\n\r\n") }, "GET / HTTP/1.1\r\n\r\n", false},
		{"more than the probe array", func(c net.Conn) { io.WriteString(c, string(make([]byte, 3000))) }, string(make([]byte, 3000)), false},
		{"closed while idle", func(c net.Conn) { c.Close() }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			var pools bufPools
			st := plainStream(newIdleConn(a, time.Minute), &pools)
			go tt.peer(b)
			err := st.idleUntilReadable(false)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error for a connection closed while idle")
				}
				if st.r != nil || st.w != nil {
					t.Fatal("the stream took its buffers again for a connection that ended")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.r == nil || st.w == nil {
				t.Fatal("the stream has no buffers after data arrived")
			}
			if got := st.r.Buffered(); got == 0 {
				t.Error("what arrived is not in the reader (HeadBuffered would not see it)")
			}
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(st.r, got); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}
