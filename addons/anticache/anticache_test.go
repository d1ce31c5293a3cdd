package anticache

import (
	"reflect"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func TestAntiCache(t *testing.T) {
	headers := func() flow.Headers {
		return flow.NewHeaders("Host", "example.com", "If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT",
			"if-none-match", `"abc"`, "Accept", "*/*", "If-None-Match", `"def"`)
	}
	tests := []struct {
		name  string
		specs []string
		want  flow.Headers
	}{
		{"off by default", nil, headers()},
		{"on", []string{"anticache=true"}, flow.NewHeaders("Host", "example.com", "Accept", "*/*")},
		{"switched off again", []string{"anticache=true", "anticache=false"}, headers()},
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
			for _, s := range tt.specs {
				if err := m.Options().Set(s); err != nil {
					t.Fatal(err)
				}
			}
			f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 1}, flow.Address{}, "regular"), nil)
			f.Request = &flow.Request{Message: flow.Message{HTTPVersion: "HTTP/1.1", Headers: headers()}, Method: "GET"}
			m.Request(f)
			if !reflect.DeepEqual(f.Request.Headers, tt.want) {
				t.Errorf("headers = %v, want %v", f.Request.Headers, tt.want)
			}
		})
	}
}
