package flow

import (
	"sync"
	"testing"
)

// TestConnEndWhileFlowsAreRead: the proxy sets a connection's end when it
// closes, which may be after the flows sharing it are done, while other
// goroutines (a command, a UI) read those flows or copy them. Run with
// -race; it fails there when TimestampEnd is a plain field.
func TestConnEndWhileFlowsAreRead(t *testing.T) {
	f := NewHTTPFlow(NewClient(Address{Host: "127.0.0.1", Port: 1}, Address{Host: "127.0.0.1", Port: 8080}, "regular"),
		NewServer(Address{Host: "example.com", Port: 80}))
	req, err := NewRequest("GET", "http://example.com/", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Request = req
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.ClientConn.SetTimestampEnd(2.5)
		f.ServerConn.SetTimestampEnd(3.5)
	}()
	go func() {
		defer wg.Done()
		_ = f.State()
		_ = f.Copy()
		_ = f.ClientConn.Clone()
	}()
	wg.Wait()
	if got := f.ClientConn.TimestampEnd(); got != 2.5 {
		t.Errorf("client end %v, want 2.5", got)
	}
	c := f.ClientConn.Clone()
	c.SetTimestampEnd(9)
	if f.ClientConn.TimestampEnd() != 2.5 {
		t.Error("a clone shares its end with the original")
	}
	st := f.State()
	g, err := FromState(st)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.(*HTTPFlow).ServerConn.TimestampEnd(); got != 3.5 {
		t.Errorf("server end after a state round trip %v, want 3.5", got)
	}
}
