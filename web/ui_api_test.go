package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// firstFlow makes one request through the proxy and returns its flow's id
// once the response is in /flows.
func (e *env) firstFlow(path string) string {
	e.t.Helper()
	e.get(path)
	var id string
	testutil.Eventually(e.t, wait, func() bool {
		for _, f := range e.flows() {
			if f["response"] != nil {
				id = f["id"].(string)
				return true
			}
		}
		return false
	}, "the flow in /flows")
	return id
}

// TestFlowExport: the web UI's export dialog gets curl, httpie and raw
// text from the export command, and HAR from GET /flows/<id>/har.
func TestFlowExport(t *testing.T) {
	e := start(t)
	e.login()
	id := e.firstFlow("/exported?q=1")
	for _, tc := range []struct{ format, want string }{
		{"curl", "curl "},
		{"httpie", "http "},
		{"raw_request", "/exported?q=1 HTTP/1.1"},
		{"raw_response", "hello from /exported"},
		{"raw", "hello from /exported"},
	} {
		var res map[string]any
		body := `{"arguments": ["` + tc.format + `", "@` + id + `"]}`
		if err := json.Unmarshal(e.call("POST", "/commands/export", body), &res); err != nil {
			t.Fatal(err)
		}
		if v, _ := res["value"].(string); !strings.Contains(v, tc.want) {
			t.Errorf("export %s: %v, want it to contain %q", tc.format, res, tc.want)
		}
	}
	var har struct {
		Log struct {
			Entries []struct {
				Request struct {
					Method, URL string
				}
				Response struct {
					Status int
				}
			}
		}
	}
	r := e.req(nil, "GET", "/flows/"+id+"/har", nil, nil)
	if err := json.NewDecoder(r.Body).Decode(&har); err != nil || r.StatusCode != 200 {
		t.Fatalf("HAR: %d %v", r.StatusCode, err)
	}
	if len(har.Log.Entries) != 1 || har.Log.Entries[0].Request.Method != "GET" ||
		!strings.HasSuffix(har.Log.Entries[0].Request.URL, "/exported?q=1") || har.Log.Entries[0].Response.Status != 200 {
		t.Errorf("HAR: %+v", har)
	}
	if r := e.req(nil, "GET", "/flows/nope/har", nil, nil); r.StatusCode != 404 {
		t.Errorf("HAR of an unknown flow: %d", r.StatusCode)
	}
}

// TestContentViewNames: every name /state lists can be asked for, also
// those with a space or a slash (escaped in the URL), and a script's
// content view is listed and renders.
func TestContentViewNames(t *testing.T) {
	var specs []string
	script := ""
	if _, err := exec.LookPath("python3"); err == nil && !testing.Short() {
		dir := t.TempDir()
		script = filepath.Join(dir, "views.py")
		src := "from mitmproxy import contentviews\n\n" +
			"class SwapCase(contentviews.Contentview):\n" +
			"    def prettify(self, data, metadata):\n        return data.swapcase().decode()\n\n" +
			"contentviews.add(SwapCase)\n"
		if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, "scripts="+script)
	}
	e := start(t, specs...)
	e.login()
	id := e.firstFlow("/views")
	var names []string
	if script != "" {
		testutil.Eventually(t, wait, func() bool {
			var st struct{ ContentViews []string }
			_ = json.Unmarshal(e.call("GET", "/state", nil), &st)
			names = st.ContentViews
			return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, "swapcase") })
		}, "the script's content view in /state")
	} else {
		t.Log("python3 absent or -short: the script's content view is not checked")
		var st struct{ ContentViews []string }
		_ = json.Unmarshal(e.call("GET", "/state", nil), &st)
		names = st.ContentViews
	}
	if !slices.Contains(names, "hex dump") || !slices.Contains(names, "http/3 frames") || names[0] != "auto" {
		t.Errorf("content views: %v", names)
	}
	for _, n := range names {
		r := e.req(nil, "GET", "/flows/"+id+"/response/content/"+url.PathEscape(n)+".json", nil, nil)
		var cv map[string]any
		if err := json.NewDecoder(r.Body).Decode(&cv); err != nil || r.StatusCode != 200 {
			t.Errorf("view %q: %d %v", n, r.StatusCode, err)
			continue
		}
		if strings.EqualFold(n, "swapcase") && cv["text"] != "HELLO FROM /VIEWS" {
			t.Errorf("script view: %v", cv)
		}
	}
}

// TestEditHeadersAndContent: an edit of headers and body together leaves
// the Content-Length the new body needs, whatever order the JSON has.
func TestEditHeadersAndContent(t *testing.T) {
	e := start(t)
	e.login()
	id := e.firstFlow("/edit")
	for i := 0; i < 10; i++ { // map order is random: try it a few times
		body := `{"response": {"headers": [["Content-Type", "text/plain"], ["Content-Length", "15"], ["X-Edit", "1"]], "content": "new body ` + strings.Repeat("x", i) + `", "code": 202}}`
		e.call("PUT", "/flows/"+id, body)
		var resp map[string]any
		for _, f := range e.flows() {
			if f["id"] == id {
				resp = f["response"].(map[string]any)
			}
		}
		want := len("new body ") + i
		var cl string
		for _, h := range resp["headers"].([]any) {
			if p := h.([]any); strings.EqualFold(p[0].(string), "content-length") {
				cl = p[1].(string)
			}
		}
		if cl != strconv.Itoa(want) || resp["contentLength"] != float64(want) || resp["status_code"] != 202.0 {
			t.Fatalf("after edit %d: content-length %q, response %v", i, cl, resp)
		}
	}
}

// TestLiveMessages: the messages of a TCP flow still open can be shown
// (from the copy its hooks leave), and again once it is over.
func TestLiveMessages(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			_, _ = c.Write(append([]byte("echo: "), buf[:n]...))
		}
	}()
	e := start(t, "tcp_hosts=127.0.0.1")
	e.login()
	c, err := net.Dial("tcp", e.m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %[1]s\r\n\r\n", ln.Addr())
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("CONNECT: %q %v", line, err)
	}
	for {
		if line, _ := br.ReadString('\n'); line == "\r\n" || line == "" {
			break
		}
	}
	msgs := func(id string) []map[string]any {
		r := e.req(nil, "GET", "/flows/"+id+"/messages/content/auto.json", nil, nil)
		var out []map[string]any
		if r.StatusCode != 200 || json.NewDecoder(r.Body).Decode(&out) != nil {
			return nil
		}
		return out
	}
	var id string
	for i, text := range []string{"one needle", "two"} {
		fmt.Fprint(c, text)
		buf := make([]byte, 100)
		n, err := br.Read(buf)
		if err != nil || string(buf[:n]) != "echo: "+text {
			t.Fatalf("echo: %q %v", buf[:n], err)
		}
		testutil.Eventually(t, wait, func() bool {
			for _, f := range e.flows() {
				if f["type"] == "tcp" {
					id = f["id"].(string)
					return len(msgs(id)) == 2*(i+1)
				}
			}
			return false
		}, "the open flow's messages")
	}
	got := msgs(id)
	if got[0]["text"] != "one needle" || got[0]["from_client"] != true || got[1]["text"] != "echo: one needle" ||
		got[1]["from_client"] != false || got[3]["text"] != "echo: two" {
		t.Errorf("live messages: %v", got)
	}
	c.Close()
	testutil.Eventually(t, wait, func() bool {
		e.w.live.mu.Lock()
		defer e.w.live.mu.Unlock()
		_, kept := e.w.live.m[id]
		return !kept && len(msgs(id)) == 4
	}, "the closed flow's messages, without the copy")
	if r := e.req(nil, "GET", "/flows/"+id+"/har", nil, nil); r.StatusCode != 400 {
		t.Errorf("HAR of a TCP flow: %d", r.StatusCode)
	}
}
