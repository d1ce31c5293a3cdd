package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/internal/browsertest"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/tnetstring"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {99, 10}, {100, 10}, {0, 1}, {10, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestWriteFlowFile: the generated file reads back in both versions, with
// GET and POST alternating and the paths numbered.
func TestWriteFlowFile(t *testing.T) {
	for _, v := range []int{flowfile.Version21, flowfile.Version17} {
		path := filepath.Join(t.TempDir(), "flows")
		if err := writeFlowFile(path, 10, v); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		flows, err := flowfile.ReadAll(bytes.NewReader(data))
		if err != nil || len(flows) != 10 {
			t.Fatalf("v%d: %d flows, %v", v, len(flows), err)
		}
		req, _ := flows[3].Get("request")
		d, _ := req.(*tnetstring.Dict)
		if d == nil {
			t.Fatalf("v%d: no request in %v", v, flows[3])
		}
		m, _ := d.Get("method")
		p, _ := d.Get("path")
		if fmt.Sprint(string(asBytes(m)), " ", string(asBytes(p))) != "POST /f/3" {
			t.Errorf("v%d: flow 3 is %s %s", v, asBytes(m), asBytes(p))
		}
	}
}

func asBytes(v any) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}

// fakeUI is a page with a flow table that a script fills with a row per
// second tick (its status a frame later) and a search input that filters
// the rows by a substring of the path, on Enter.
const fakeUI = `<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<input id="q"><div id="t" style="height:200px;overflow-y:auto"><table><tbody></tbody></table></div>
<script>
const tb = document.querySelector("tbody");
let n = 0;
window.addRow = (path, method) => {
  const tr = document.createElement("tr");
  tr.className = "row";
  tr.innerHTML = '<td class="p"></td><td class="m"></td><td class="s"></td>';
  tr.children[0].textContent = path; tr.children[1].textContent = method;
  tb.appendChild(tr);
  requestAnimationFrame(() => { tr.children[2].textContent = "200"; });
};
const q = document.getElementById("q");
q.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  for (const tr of tb.children) tr.style.display = tr.children[0].textContent.includes(q.value) ? "" : "none";
  for (const tr of [...tb.children]) if (tr.style.display === "none") tr.remove();
});
</script></body></html>`

// TestPageScripts runs the observer and the filter script on fakeUI: every
// row with its status is recorded, after its first appearance, on the
// page's clock; the filter resolves when the table shows its result.
func TestPageScripts(t *testing.T) {
	srv := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, fakeUI)
	}))
	p := browsertest.New(t)
	p.Navigate(srv.URL + "/")
	browsertest.Eval[bool](p, fmt.Sprintf(observerJS, jsCfg(observerCfg{
		Row: "tr.row", Path: ".p", Status: ".s", Prefix: "/wb/", Follow: true,
	})))
	offset, unc, err := clockOffset(p.Ctx)
	if err != nil || offset > 50 || offset < -50 || unc > 50 {
		t.Errorf("clock offset %v ± %v, %v", offset, unc, err)
	}
	before := float64(time.Now().UnixNano()) / 1e6
	browsertest.Eval[bool](p, `(() => { for (let i = 0; i < 20; i++) addRow("http://x/wb/" + i, i % 2 ? "POST" : "GET"); addRow("http://x/other/1", "GET"); return true; })()`)
	p.WaitJS(`window.__wb.count === 20`, "the observer saw %d rows", browsertest.Eval[int](p, `window.__wb.count`))
	type marks struct {
		Seen map[string]float64 `json:"seen"`
		Rows map[string]float64 `json:"rows"`
	}
	got := browsertest.Eval[marks](p, `({seen: window.__wb.seen, rows: window.__wb.rows})`)
	after := float64(time.Now().UnixNano()) / 1e6
	for i := range 20 {
		k := fmt.Sprint(i)
		s, r := got.Seen[k]-offset, got.Rows[k]-offset
		if s < before-5 || s > after+5 || r > s {
			t.Errorf("row %d: appeared %.1f, status %.1f, not within [%.1f, %.1f]", i, r, s, before, after)
		}
	}
	if p.PollJS(time.Second, `document.getElementById("t").scrollTop === 0`) {
		t.Error("the observer does not follow the table's end")
	}

	cfg := filterCfg{Input: "#q", Row: "tr.row", Path: ".p", Method: ".m", Enter: true, Timeout: 5000}
	for _, c := range []struct{ value, want, arg string }{
		{"/wb/7", "one", "/wb/7"},
	} {
		cfg.Value, cfg.Want, cfg.Arg = c.value, c.want, c.arg
		ms := browsertest.Eval[float64](p, fmt.Sprintf(filterJS, jsCfg(cfg)))
		if ms < 0 || ms > 5000 {
			t.Errorf("filter %q: %v", c.value, ms)
		}
	}
	cfg.Input = "#none"
	if ms := browsertest.Eval[float64](p, fmt.Sprintf(filterJS, jsCfg(cfg))); ms != -2 {
		t.Errorf("no input: %v", ms)
	}
	cfg.Input, cfg.Value, cfg.Want, cfg.Arg, cfg.Timeout = "#q", "/nothing", "one", "/nothing", 200
	if ms := browsertest.Eval[float64](p, fmt.Sprintf(filterJS, jsCfg(cfg))); ms != -1 {
		t.Errorf("a filter that never shows: %v", ms)
	}

	// The scroll script moves the table every frame and reports the frames.
	browsertest.Eval[bool](p, `(() => { for (let i = 0; i < 200; i++) addRow("http://x/s/" + i, "GET"); return true; })()`)
	// A second and a few frames: a loaded machine renders few (fewer than
	// five in 300 ms once), and may give two frames one timestamp.
	so := browsertest.Eval[*scrollOut](p, fmt.Sprintf(scrollJS, jsCfg(scrollCfg{Table: "#t", Step: 10, MS: 1000})))
	if so == nil || so.Frames < 3 || len(so.Deltas) < so.Frames-1 || so.Top < 20 {
		t.Errorf("scroll: %+v", so)
	} else {
		for _, d := range so.Deltas {
			if d < 0 {
				t.Errorf("scroll: frame interval %v", d)
			}
		}
	}
	if so := browsertest.Eval[*scrollOut](p, fmt.Sprintf(scrollJS, jsCfg(scrollCfg{Table: "#none", Step: 10, MS: 300}))); so != nil {
		t.Errorf("scroll without a table: %+v", so)
	}
}
