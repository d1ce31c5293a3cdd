package anticomp

import (
	"reflect"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func TestAntiComp(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		headers flow.Headers
		want    flow.Headers
	}{
		{"off by default", nil,
			flow.NewHeaders("Accept-Encoding", "gzip, br"), flow.NewHeaders("Accept-Encoding", "gzip, br")},
		{"on replaces, keeping the spelling and place", []string{"anticomp=true"},
			flow.NewHeaders("Host", "x", "Accept-Encoding", "gzip", "accept-encoding", "br"),
			flow.NewHeaders("Host", "x", "Accept-Encoding", "identity")},
		{"on adds when absent", []string{"anticomp=true"},
			flow.NewHeaders("Host", "x"), flow.NewHeaders("Host", "x", "accept-encoding", "identity")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := addon.NewManager()
			if err := m.Add(New()); err != nil {
				t.Fatal(err)
			}
			if err := m.ConfigureAll(); err != nil {
				t.Fatal(err)
			}
			if err := m.Options().Set(tt.specs...); err != nil {
				t.Fatal(err)
			}
			f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{}, "regular"), nil)
			f.Request = &flow.Request{Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: tt.headers}, Method: "GET"}
			m.Request(f)
			if !reflect.DeepEqual(f.Request.Headers, tt.want) {
				t.Errorf("headers = %v, want %v", f.Request.Headers, tt.want)
			}
		})
	}
}
