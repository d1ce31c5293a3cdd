package export

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
)

func TestCommands(t *testing.T) {
	m := addon.NewManager()
	if err := m.Add(New()); err != nil {
		t.Fatal(err)
	}
	reg := m.Commands()
	formats, err := reg.Call("export.formats")
	if err != nil || !reflect.DeepEqual(formats, []string{"curl", "httpie", "raw", "raw_request", "raw_response"}) {
		t.Errorf("export.formats: %v %v", formats, err)
	}
	req, _ := flow.NewRequest("GET", "http://example.com/x", nil, nil)
	f := flow.NewHTTPFlow(nil, nil)
	f.Request = req
	got, err := reg.Call("export", "curl", f)
	if err != nil || got != "curl http://example.com/x" {
		t.Errorf("export curl: %q %v", got, err)
	}
	path := filepath.Join(t.TempDir(), "req")
	if _, err := reg.Call("export.file", "raw_request", f, path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "GET /x HTTP/1.1\r\n") {
		t.Errorf("export.file wrote %q", b)
	}
	for _, tc := range []struct {
		args []any
		err  string
	}{
		{[]any{"pdf", f}, "No such export format: pdf"},
		{[]any{"curl", flow.NewTCPFlow(nil, nil)}, "Can't export flow with no request."},
		{[]any{"raw_response", f}, "Can't export flow with no response."},
	} {
		if _, err := reg.Call("export", tc.args...); err == nil || err.Error() != tc.err {
			t.Errorf("export %v: %v, want %q", tc.args, err, tc.err)
		}
	}
}
