package savehar

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func TestSaveHarCommand(t *testing.T) {
	_, m := setup(t)
	f := httpFlow(t, "GET", "http://example.com/a")
	complete(m, f, 200, "hello")
	dir := t.TempDir()
	for _, name := range []string{"out.har", "out.zhar"} {
		path := filepath.Join(dir, name)
		if _, err := m.Commands().Call("save.har", []flow.Any{f, flow.NewTCPFlow(nil, nil)}, path); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		if filepath.Ext(name) == ".zhar" {
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			data, _ = io.ReadAll(zr)
		}
		var har struct {
			Log struct {
				Entries []struct {
					Request struct{ URL string }
				}
			}
		}
		if err := json.Unmarshal(data, &har); err != nil || len(har.Log.Entries) != 1 || har.Log.Entries[0].Request.URL != "http://example.com/a" {
			t.Errorf("%s: %v %+v", name, err, har)
		}
	}
}
