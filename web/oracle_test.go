package web

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/pyoracle"
)

// oracleScript loads a flow file with mitmproxy and prints each flow's
// mitmweb JSON (mitmproxy 8.1's flow_to_json, which has the same HTTP
// fields as mitmproxy 12's).
const oracleScript = `
import json, sys
from mitmproxy import io
from mitmproxy.tools.web.app import flow_to_json
path = json.load(sys.stdin)
out = {}
with open(path, "rb") as f:
    for fl in io.FlowReader(f).stream():
        out[fl.id] = flow_to_json(fl)
json.dump(out, sys.stdout)
`

// TestFlowJSONOracle: the JSON of real flows (HTTP and HTTPS, with the
// server's certificate) is what mitmproxy's flow_to_json makes of the same
// flows, read from a flow file.
func TestFlowJSONOracle(t *testing.T) {
	python := pyoracle.Find(t, "/usr/bin/python3", "mitmproxy.tools.web.app")
	// The flows as save writes them in their hooks: what is compared is
	// FlowJSON against flow_to_json of the same flows, read from one file.
	path := filepath.Join(t.TempDir(), "flows")
	e := start(t, "ssl_insecure=true", "save_stream_file="+path, "save_stream_version=17")
	tlsOrigin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	t.Cleanup(tlsOrigin.Close)
	e.get("/plain")
	c := &http.Client{Timeout: wait, Transport: &http.Transport{
		Proxy: http.ProxyURL(e.m.URL()), TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(tlsOrigin.URL + "/secure?q=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := e.m.Close(); err != nil { // flushes the file
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var flows []flow.Any
	rd := flowfile.NewReader(file)
	for {
		d, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f, err := flow.FromState(d)
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f.(flow.Any))
	}
	if len(flows) != 2 {
		t.Fatalf("%d flows saved, want 2", len(flows))
	}
	var want map[string]map[string]any
	pyoracle.Run(t, python, oracleScript, path, &want)
	for _, f := range flows {
		b, err := json.Marshal(FlowJSON(f))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.Unmarshal(b, &got)
		w := want[f.Base().ID]
		if w == nil {
			t.Fatalf("mitmproxy did not read flow %s", f.Base().ID)
		}
		for k := range w {
			if !reflect.DeepEqual(got[k], w[k]) {
				gb, _ := json.Marshal(got[k])
				wb, _ := json.Marshal(w[k])
				t.Errorf("flow %s %s:\n got %s\nwant %s", f.(*flow.HTTPFlow).Request.Path, k, gb, wb)
			}
		}
		if hf := f.(*flow.HTTPFlow); hf.Request.Scheme == "https" {
			if sc, _ := got["server_conn"].(map[string]any); sc == nil || sc["cert"] == nil || sc["tls_version"] == nil {
				t.Errorf("the HTTPS flow has no server certificate or TLS version: %v", got["server_conn"])
			}
		}
		for k := range got {
			if _, ok := w[k]; !ok {
				t.Errorf("flow %s: %s is not in mitmproxy's JSON", f.Base().ID, k)
			}
		}
	}
}
