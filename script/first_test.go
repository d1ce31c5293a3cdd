package script

import (
	"testing"
	"time"
)

func TestFirstAddHeader(t *testing.T) {
	s0 := time.Now()
	e := newEnv(t, Config{}, nil, "seed/add_header.py")
	t.Log("env", time.Since(s0))
	for i := 0; i < 5; i++ {
		f := newFlow(t, "GET", "http://example.com/", 200, "hello", "Content-Type", "text/html")
		start := time.Now()
		e.m.Response(f)
		t.Log(time.Since(start))
		if f.Response.Headers.Get("newheader") != "foo" {
			t.Fatalf("no header: %v\n%s", f.Response.Headers, e.log.text())
		}
	}
	s1 := time.Now()
	e.m.Done()
	t.Log("done", time.Since(s1))
}
