package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
	"github.com/mitmgo/mitmgo/view"
)

// TestRenderKeepNewestWins: a command's change to a flow in flight (its
// JSON copied from the kept one) and the flow's last hook (its JSON made
// from the flow) at the same moment: the kept JSON is the hook's, with the
// command's marker. The copy is made slow (a kept JSON of many keys) so
// that the hook's render lands inside it on most rounds; before renderKeep
// was one step the copy then replaced the hook's JSON, without the
// response.
func TestRenderKeepNewestWins(t *testing.T) {
	s := benchServer(t, 0)
	stale := make(map[string]any, 200_000)
	for i := range 200_000 {
		stale[fmt.Sprint("k", i)] = i
	}
	for round := range 8 {
		f := benchFlows(t, 1)[0].(*flow.HTTPFlow)
		resp := f.Response
		f.Response = nil
		s.view.Add(f) // over: kept encoded
		id := f.ID
		// The JSON a hook kept before the response came.
		s.flowsMu.Lock()
		s.flows[id] = stale
		delete(s.enc, id)
		s.flowsMu.Unlock()
		f.Response = resp
		f.SetMarked(":default:")
		var wg sync.WaitGroup
		ready := make(chan struct{})
		wg.Go(func() { <-ready; s.renderKeep(f, true, false) }) // the command's copy
		wg.Go(func() { <-ready; s.renderKeep(f, false, true) }) // the last hook's render
		close(ready)
		wg.Wait()
		j := s.flowJSON(f)
		if j["response"] == nil || j["marked"] != markedJSON(":default:") {
			_, hasK := j["k0"]
			t.Fatalf("round %d: kept JSON without the hook's response or the marker (stale copy kept: %v): response %v marked %v",
				round, hasK, j["response"], j["marked"])
		}
	}
}

// TestErrorAnswers: the API's errors are plain text (never markup, though
// they quote the request) with nosniff, with mitmproxy's statuses and
// messages; an unexpected error tells nothing of its cause.
func TestErrorAnswers(t *testing.T) {
	e := start(t)
	e.login()
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"GET", "/flows/nope/har", nil, 404, "Flow not found."},
		{"PUT", "/flows/nope", `{}`, 404, "Flow not found."},
		{"PUT", "/options", `{"<script>alert(1)</script>": 1}`, 400, "Unknown option(s): <script>alert(1)</script>"},
		{"PUT", "/options", []byte(`{}`), 400, "Invalid Content-Type, expected application/json."},
		{"GET", "/flows/dump?filter=~u%20(", nil, 400, "Invalid filter argument / regex"},
		{"GET", "/flows/x/y/content/auto?lines=z", nil, 400, "Invalid lines: z"},
	} {
		r := e.req(nil, tc.method, tc.path, tc.body, map[string]string{"Accept-Encoding": "gzip"})
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != tc.status || string(b) != tc.msg {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, r.StatusCode, b, tc.status, tc.msg)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, r.Header)
		}
	}
	// An error that is not the API's: the status, no details.
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Disposition", "attachment; filename=x")
	e.w.writeError(rec, httptest.NewRequest("GET", "/flows/dump", nil), fmt.Errorf("disk: %w", io.ErrUnexpectedEOF))
	if rec.Code != 500 || rec.Body.String() != "500: Internal Server Error" || rec.Header().Get("Content-Disposition") != "" {
		t.Errorf("internal error: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

// TestEditRacesResume: edits, content reads and content views of an
// intercepted flow race a resume from another client; each is answered
// either as done on the flow or 409, and (under -race) none reads or
// writes the flow while the proxy carries it on: the check that it may be
// read and the read or edit are one hold of the view's lock. What the
// answers say is what happened: the flow keeps the path and body of the
// edits answered 200 and of no other; the origin saw the edited path only
// if the edit was answered 200, and the held one if it was refused (an
// edit that came after the resume is applied once the flow is over,
// after the origin saw the request).
func TestEditRacesResume(t *testing.T) {
	e := start(t, "intercept=~q ~u /held")
	e.login()
	for i := range 6 {
		path := fmt.Sprintf("/held/%d", i)
		edited := fmt.Sprintf("/edited/%d", i)
		type answer struct {
			body string
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			resp, err := e.proxied().Get(e.origin + path)
			var b []byte
			if err == nil {
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			done <- answer{string(b), err}
		}()
		var id string
		testutil.Eventually(t, wait, func() bool {
			for _, f := range e.flows() {
				if f["intercepted"] == true {
					id = f["id"].(string)
					return true
				}
			}
			return false
		}, "flow %s intercepted", path)
		var wg sync.WaitGroup
		statuses := make(chan string, 8)
		try := func(method, p string, body any) int {
			r := e.req(nil, method, p, body, nil)
			if r.StatusCode != 200 && r.StatusCode != 409 {
				b, _ := io.ReadAll(r.Body)
				statuses <- fmt.Sprintf("%s %s: %d %s", method, p, r.StatusCode, b)
			}
			return r.StatusCode
		}
		var putStatus, bodyStatus int
		wg.Go(func() { putStatus = try("PUT", "/flows/"+id, `{"request": {"path": "`+edited+`"}}`) })
		wg.Go(func() { try("GET", "/flows/"+id+"/request/content.data", nil) })
		wg.Go(func() { try("GET", "/flows/"+id+"/request/content/auto.json", nil) })
		wg.Go(func() { bodyStatus = try("POST", "/flows/"+id+"/request/content.data", []byte("body")) })
		wg.Go(func() { try("GET", "/flows/dump", nil) })
		wg.Go(func() { try("POST", "/flows/"+id+"/resume", nil) })
		wg.Wait()
		close(statuses)
		for s := range statuses {
			t.Error(s)
		}
		a := <-done
		if a.err != nil {
			t.Fatal(a.err)
		}
		switch a.body {
		case "hello from " + edited:
			if putStatus != 200 {
				t.Errorf("round %d: the origin saw the edited path, and the edit was answered %d", i, putStatus)
			}
		case "hello from " + path:
			if putStatus == 409 {
				break
			}
			if putStatus != 200 {
				t.Errorf("round %d: the edit was answered %d", i, putStatus)
			}
		default:
			t.Errorf("round %d: the client got %q", i, a.body)
		}
		// The flow is over once its response reached the client.
		var req map[string]any
		testutil.Eventually(t, wait, func() bool {
			for _, f := range e.flows() {
				if f["id"] == id && f["response"] != nil {
					req, _ = f["request"].(map[string]any)
					return true
				}
			}
			return false
		}, "flow %s over", path)
		if want := map[int]string{200: edited, 409: path}[putStatus]; req["path"] != want {
			t.Errorf("round %d: the edit answered %d, the flow's path is %v", i, putStatus, req["path"])
		}
		if want := map[int]float64{200: 4, 409: 0}[bodyStatus]; req["contentLength"] != want {
			t.Errorf("round %d: the body's change answered %d, the flow's request contentLength is %v", i, bodyStatus, req["contentLength"])
		}
	}
}

// TestFilterChangeRacesRefilter: a browser changes a filter while a
// flows/reset answers its filters again (a new view filter); the change
// it made last stays in force and is answered last. refilter used to copy
// the filters before answering them one by one (each a match of the whole
// view), and then put back the old expression of one changed meanwhile.
func TestFilterChangeRacesRefilter(t *testing.T) {
	s := benchServer(t, 4000)
	c := sinkConn()
	s.hub.add(c)
	for round := range 3 {
		for i := range 6 {
			s.updateFilter(c, fmt.Sprint("other", i), "~u /f/1")
		}
		s.updateFilter(c, "search", "~u /f/1$")
		ready := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-ready; s.hub.refilter(s) })
		wg.Go(func() { <-ready; s.updateFilter(c, "search", "~u /f/2$") })
		close(ready)
		wg.Wait()
		c.mu.Lock()
		expr := c.exprs["search"]
		c.mu.Unlock()
		if expr != "~u /f/2$" {
			t.Fatalf("round %d: the filter in force is %q, want the browser's last, ~u /f/2$", round, expr)
		}
		// The last answer for "search" is the new filter's.
		var last []byte
		for _, q := range c.take() {
			if strings.Contains(string(q.b), `"name":"search"`) {
				last = q.b
			}
		}
		if want := `"matching_flow_ids":["`; !strings.Contains(string(last), want) {
			t.Fatalf("round %d: last answer %s", round, last)
		}
		var ans struct {
			Payload struct {
				IDs []string `json:"matching_flow_ids"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(last, &ans); err != nil || len(ans.Payload.IDs) != 1 {
			t.Fatalf("round %d: last answer %s: %v", round, last, err)
		}
		if f, _ := s.view.Get(ans.Payload.IDs[0]); f == nil || f.(*flow.HTTPFlow).Request.Path != "/f/2" {
			t.Fatalf("round %d: last answer matches %v, not /f/2", round, f)
		}
	}
}

// TestKillLiveFlow: a flow in flight that is not intercepted may be killed
// (mitmproxy's KillFlow kills any killable flow): the browsers are told at
// once, the response that comes later is not forwarded, and the flow ends
// killed.
func TestKillLiveFlow(t *testing.T) {
	e := start(t)
	e.login()
	id, free, done := e.slowFlow()
	e.call("POST", "/flows/"+id+"/kill", nil)
	killed := func(f map[string]any) bool {
		er, _ := f["error"].(map[string]any)
		return er != nil && er["msg"] == flow.KilledMessage
	}
	if f := e.flows()[0]; !killed(f) || f["response"] != nil {
		t.Errorf("after the kill, in flight: error %v response %v", f["error"], f["response"])
	}
	free()
	if r := <-done; r.err == nil && strings.Contains(r.body, "late") {
		t.Fatalf("the killed flow's response reached the client: %q", r.body)
	}
	testutil.Eventually(t, wait, func() bool {
		f := e.flows()[0]
		return killed(f)
	}, "the flow over, killed")
	// A second kill is no error (the flow is no longer killable).
	e.call("POST", "/flows/"+id+"/kill", nil)
}

// TestLoginPage: a browser that opens the page without the token or
// password gets mitmproxy's login form (403), which logs it in with the
// password (or token) and the XSRF token, and says so when the password
// was wrong; nothing else is shown, and the form's post obeys the XSRF,
// Host and Origin checks.
func TestLoginPage(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		password   func(e *env) string
	}{
		{"token", "", func(e *env) string { return e.token }},
		{"password", "web_password=secret", func(*env) string { return "secret" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var specs []string
			if tc.spec != "" {
				specs = append(specs, tc.spec)
			}
			e := start(t, specs...)
			pw := tc.password(e)
			// A browser: cookies kept, no token.
			r := e.req(nil, "GET", "/", nil, nil)
			page, _ := io.ReadAll(r.Body)
			if r.StatusCode != 403 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(page), "403 Authentication Required") || !strings.Contains(string(page), `name="token"`) {
				t.Fatalf("GET / without auth: %d %q %s", r.StatusCode, r.Header.Get("Content-Type"), page)
			}
			if strings.Contains(string(page), "<script") || strings.Contains(string(page), pw) || strings.Contains(string(page), "Invalid") {
				t.Errorf("login page shows more than the form: %s", page)
			}
			xsrf := e.xsrf()
			if xsrf == "" || !strings.Contains(string(page), `name="_xsrf" value="`+xsrf+`"`) {
				t.Fatalf("login page's _xsrf is not the cookie's %q: %s", xsrf, page)
			}
			for _, h := range []string{"X-Frame-Options", "Content-Security-Policy", "X-Content-Type-Options"} {
				if r.Header.Get(h) == "" {
					t.Errorf("login page without %s", h)
				}
			}
			form := func(token, xsrf string, hdr map[string]string) *http.Response {
				h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-XSRFToken": ""}
				for k, v := range hdr {
					h[k] = v
				}
				return e.req(nil, "POST", "/", []byte(url.Values{"token": {token}, "_xsrf": {xsrf}}.Encode()), h)
			}
			// A wrong password: the form again, saying so, and nothing more.
			r = form("wrong", xsrf, nil)
			page, _ = io.ReadAll(r.Body)
			if r.StatusCode != 403 || !strings.Contains(string(page), "403 Invalid Password") || len(r.Cookies()) != 0 {
				t.Fatalf("wrong password: %d %v %s", r.StatusCode, r.Cookies(), page)
			}
			if r := e.req(nil, "GET", "/flows", nil, nil); r.StatusCode != 403 {
				t.Fatalf("/flows after a wrong password: %d", r.StatusCode)
			}
			// The right password without the XSRF token, from another
			// origin, or for another host name: a bare 403, no session.
			for name, tc := range map[string]struct {
				xsrf string
				hdr  map[string]string
			}{
				"no xsrf":      {"", nil},
				"wrong xsrf":   {"nope", nil},
				"cross-site":   {xsrf, map[string]string{"Sec-Fetch-Site": "cross-site"}},
				"other origin": {xsrf, map[string]string{"Origin": "http://evil.example"}},
				"rebound host": {xsrf, map[string]string{"Host": "evil.example"}},
			} {
				r := form(pw, tc.xsrf, tc.hdr)
				b, _ := io.ReadAll(r.Body)
				if r.StatusCode != 403 || len(b) != 0 || len(r.Cookies()) != 0 {
					t.Errorf("%s: %d %q %v, want a bare 403", name, r.StatusCode, b, r.Cookies())
				}
			}
			if r := e.req(nil, "GET", "/flows", nil, nil); r.StatusCode != 403 {
				t.Fatalf("/flows after refused logins: %d", r.StatusCode)
			}
			// The right password: the page, and a session.
			r = form(pw, xsrf, nil)
			page, _ = io.ReadAll(r.Body)
			if r.StatusCode != 200 || !strings.Contains(string(page), "<html") || strings.Contains(string(page), "Authentication Required") {
				t.Fatalf("login: %d %s", r.StatusCode, page)
			}
			if r := e.req(nil, "GET", "/flows", nil, nil); r.StatusCode != 200 {
				t.Fatalf("/flows after the login: %d", r.StatusCode)
			}
			if r := e.req(nil, "GET", "/", nil, nil); r.StatusCode != 200 {
				t.Fatalf("/ after the login: %d", r.StatusCode)
			}
		})
	}
}

// TestFilterMatchesFlowsInFlight: a filter a browser sets (search,
// highlight) is matched against the flows still in flight too, as
// mitmproxy's view matches every flow: a request waiting for its response
// is found by ~u, not by ~s, and a command that marks it in flight keeps
// it matched; once it ends it is matched as it is then.
func TestFilterMatchesFlowsInFlight(t *testing.T) {
	e := start(t)
	e.login()
	rd, conn := e.wsDial()
	w := websocket.NewWriter(conn, websocket.Client, nil)
	msgs := wsMessages(rd)
	// answer sets a filter and returns the ids its answer names.
	answer := func(name, expr string) []any {
		t.Helper()
		msg, _ := json.Marshal(map[string]any{"type": "flows/updateFilter", "payload": map[string]any{"name": name, "expr": expr}})
		if err := w.WriteMessage(websocket.OpText, msg, nil); err != nil {
			t.Fatal(err)
		}
		for m := range msgs {
			if p, _ := m["payload"].(map[string]any); m["type"] == "flows/filterUpdate" && p["name"] == name {
				ids, _ := p["matching_flow_ids"].([]any)
				return ids
			}
		}
		t.Fatalf("no answer to %s", expr)
		return nil
	}
	// The browser filters already (flows in flight are copied for the
	// filters only while one does: see updateFilter).
	if ids := answer("highlight", "~d nothing.example"); len(ids) != 0 {
		t.Fatalf("highlight: %v", ids)
	}
	id, free, done := e.slowFlow()
	if ids := answer("search", "~u /slow"); len(ids) != 1 || ids[0] != id {
		t.Errorf("~u /slow in flight: %v, want [%s]", ids, id)
	}
	if ids := answer("highlight", "~s"); len(ids) != 0 {
		t.Errorf("~s in flight (no response yet): %v", ids)
	}
	// A command changes the flow in flight: its update says it still
	// matches the search.
	e.call("POST", "/commands/flow.mark", `{"arguments": ["@`+id+`", ":default:"]}`)
	for m := range msgs {
		p, _ := m["payload"].(map[string]any)
		if m["type"] != "flows/update" || p["flow"].(map[string]any)["marked"] == "" {
			continue
		}
		if mf := p["matching_filters"].(map[string]any); mf["search"] != true || mf["highlight"] != false {
			t.Errorf("marked in flight: matching_filters %v", mf)
		}
		break
	}
	free()
	if r := <-done; r.err != nil {
		t.Fatal(r.err)
	}
	testutil.Eventually(t, wait, func() bool { return e.flows()[0]["response"] != nil }, "the flow over")
	if ids := answer("highlight", "~s"); len(ids) != 1 || ids[0] != id {
		t.Errorf("~s once over: %v, want [%s]", ids, id)
	}
}

// FuzzApplyEdit: the JSON of an edit (PUT /flows/<id>) never panics, and an
// edit that is refused leaves the flow as it was once reverted, as
// editFlow does.
func FuzzApplyEdit(f *testing.F) {
	for _, s := range []string{
		`{"request": {"path": "/x", "port": 8080, "headers": [["a", "b"]], "content": "hi"}}`,
		`{"response": {"code": "404", "reason": "No", "trailers": [["t", 1]]}}`,
		`{"marked": ":default:", "comment": null}`,
		`{"request": {"port": "x"}}`, `{"request": {"headers": [["a"]]}}`, `{"nope": 1}`,
		`{"request": 5, "response": {"content": 1.5}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var upd map[string]any
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if dec.Decode(&upd) != nil {
			return
		}
		fl := benchFlows(t, 1)[0]
		before, _ := json.Marshal(FlowJSON(fl))
		fl.Backup()
		if err := applyEdit(fl, upd); err != nil {
			fl.Revert()
			if after, _ := json.Marshal(FlowJSON(fl)); string(after) != string(before) {
				t.Fatalf("a refused edit %s left %s, was %s", b, after, before)
			}
		}
	})
}

// TestInFlightChangeBeforeFirstRender: a command's change to a flow in
// flight that no hook rendered yet (its first hook's event not here yet)
// reads nothing of the flow, whose proxy goroutine is writing it (the race
// detector sees a read), keeps nothing and sends nothing; the hook's
// render then shows the flow.
func TestInFlightChangeBeforeFirstRender(t *testing.T) {
	s := benchServer(t, 0)
	c := sinkConn()
	defer c.close()
	s.hub.add(c)
	f := benchFlows(t, 1)[0].(*flow.HTTPFlow)
	f.SetLive(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the proxy, carrying the flow on
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f.Request.Path = fmt.Sprint("/p/", i)
			if i == 1000 {
				return
			}
		}
	})
	s.viewEvent(view.Event{Kind: view.Updated, Flow: f, InFlight: true})
	close(stop)
	wg.Wait()
	s.flowsMu.Lock()
	_, kept := s.flows[f.ID]
	s.flowsMu.Unlock()
	if kept || len(c.take()) != 0 {
		t.Fatalf("a change in flight before the first render was kept (%v) or sent", kept)
	}
	// The flow's first hook renders it.
	s.viewEvent(view.Event{Kind: view.Added, Flow: f})
	if q := c.take(); len(q) != 1 || !strings.Contains(string(q[0].b), `"type":"flows/add"`) {
		t.Fatalf("after the hook: %d messages", len(q))
	}
}

// TestFlowsSkipsUnrenderedInFlight: GET /flows (and a command's result)
// never renders a flow in flight itself: one whose first hook's render has
// not reached the server yet is left out (the browser gets it as
// flows/add), and the race detector sees no read of it while the proxy
// writes it.
func TestFlowsSkipsUnrenderedInFlight(t *testing.T) {
	s := benchServer(t, 1)
	s.unsubscribe() // the hook's event does not reach the server
	f := benchFlows(t, 1)[0].(*flow.HTTPFlow)
	f.Response = nil
	f.SetLive(true)
	s.view.RequestHeaders(f)
	var wg sync.WaitGroup
	wg.Go(func() { // the proxy, carrying the flow on
		for i := range 1000 {
			f.Request.Path = fmt.Sprint("/p/", i)
		}
	})
	var got []map[string]any
	if err := json.Unmarshal(s.flowsJSON(s.view.Shown()), &got); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.commandValue(f).(map[string]any); j != nil {
		t.Errorf("a command's result renders the flow in flight")
	}
	wg.Wait()
	if len(got) != 1 || got[0]["id"] == f.ID {
		t.Fatalf("GET /flows: %v, want only the flow that is over", got)
	}
}
