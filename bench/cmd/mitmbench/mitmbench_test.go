package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestLoadAgainstOrigin runs short, bounded loads against the built-in
// origin, directly and in the absolute form a proxy receives (which the
// origin accepts as well).
func TestLoadAgainstOrigin(t *testing.T) {
	o, err := startOrigin()
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	for _, tt := range []struct {
		path     string
		viaProxy bool
		max      int64
	}{
		{"/small", false, 0}, {"/large", true, 0}, {"/small", true, 50},
	} {
		res, err := runLoad(context.Background(), loadConfig{
			target: o.addr(), viaProxy: tt.viaProxy, originAddr: o.addr(), path: tt.path, conns: 4,
			duration: 200 * time.Millisecond, warmup: 20 * time.Millisecond, maxRequests: tt.max, ioTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if res.errors != 0 || res.requests == 0 || len(res.latencies) != int(res.requests) {
			t.Errorf("%s: %d requests, %d errors, %d latencies", tt.path, res.requests, res.errors, len(res.latencies))
		}
		if want := int64(bodySizes[tt.path]) * res.requests; res.bytes != want {
			t.Errorf("%s: read %d body bytes, want %d", tt.path, res.bytes, want)
		}
		if tt.max > 0 && res.requests > tt.max {
			t.Errorf("%s: %d requests, more than -n %d", tt.path, res.requests, tt.max)
		}
		if res.percentile(50) > res.percentile(99) {
			t.Errorf("percentiles out of order")
		}
	}
}

func TestRoundTripChunked(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		bufio.NewReader(server).ReadString('\n')
		server.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"))
	}()
	n, err := roundTrip(client, bufio.NewReader(client), "GET / HTTP/1.1\r\n\r\n")
	if err != nil || n != 8 {
		t.Errorf("roundTrip = %d, %v; want 8, nil", n, err)
	}
}

func TestRoundTripRejectsErrors(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		bufio.NewReader(server).ReadString('\n')
		server.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"))
	}()
	if _, err := roundTrip(client, bufio.NewReader(client), "GET / HTTP/1.1\r\n\r\n"); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("got %v, want a 502 error", err)
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:1": true,
		"10.0.0.1:8080": false, "example.com:80": false, "nonsense": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add("GET /small HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("GET http://127.0.0.1:1/large HTTP/1.0\r\nConnection: close\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		path, _, err := readRequest(bufio.NewReader(strings.NewReader(in)))
		if err == nil && strings.Contains(path, "://") {
			t.Errorf("absolute-form target not reduced: %q", path)
		}
	})
}
