package core_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// holder hands each flow to the test from its request hook and returns:
// the proxy goes on writing the flow (its server connection, then its
// response) while the test runs commands on it. prepare, if set, runs
// first, in the hook.
type holder struct {
	flows   chan *flow.HTTPFlow
	prepare func(f *flow.HTTPFlow)
}

func (h *holder) Request(f *flow.HTTPFlow) {
	if h.prepare != nil {
		h.prepare(f)
	}
	h.flows <- f
}

// alerts records the log's alerts (the commands' counts) and warnings.
type alerts struct{ alert, warn logs }

func (a *alerts) AddLog(e *addon.LogEntry) {
	switch e.Level {
	case addon.LevelAlert:
		a.alert.AddLog(e)
	case slog.LevelWarn:
		a.warn.AddLog(e)
	}
}

// inFlightCase is one command of TestCommandsInFlight.
type inFlightCase struct {
	name string
	// plain: the request body is not encoded (it is gzip otherwise).
	plain bool
	// prepare runs in the flow's request hook.
	prepare func(f *flow.HTTPFlow)
	// run runs the command on f.
	run func(m *mitmgo.Master, f *flow.HTTPFlow) error
	// refusedAs is the verb of the warning in flight; "" when the
	// command acts in flight. inFlight and after are the alerts then
	// and once the flow is over ("": none).
	refusedAs, inFlight, after string
	// checkInFlight and checkAfter return what is wrong with f then.
	checkInFlight, checkAfter func(f *flow.HTTPFlow) string
}

func call(name string, args ...any) func(m *mitmgo.Master, f *flow.HTTPFlow) error {
	return func(m *mitmgo.Master, f *flow.HTTPFlow) error {
		all := make([]any, 0, len(args))
		for _, a := range args {
			if a == nil { // the flow's place
				a = []flow.Any{f}
			}
			all = append(all, a)
		}
		_, err := m.Commands.Call(name, all...)
		return err
	}
}

// TestCommandsInFlight runs each family of flow commands, through a real
// proxy with and without the view (mitmweb and the console, mitmdump), on
// a flow the proxy is writing: its request hook is done, the proxy
// connects to the origin and sends the request, and the origin does not
// answer until the test is done. Under -race, a command that read or
// changed more than it may in flight races with the proxy (a backup reads
// the whole flow, the server connection included; decode rewrites the
// request the proxy sends). The commands that may not touch the flow
// refuse it, with a warning naming it and a count without it, and work
// once the flow is over; marking and commenting act in flight.
func TestCommandsInFlight(t *testing.T) {
	for _, tc := range []inFlightCase{
		{name: "decode", run: call("flow.decode", nil, "request"),
			refusedAs: "decode", inFlight: "Decoded 0 flows.", after: "Decoded 1 flows.",
			checkAfter: func(f *flow.HTTPFlow) string {
				if enc := f.Request.Headers.Get("content-encoding"); enc != "" || string(f.Request.RawContent) != "hello hello" {
					return fmt.Sprintf("not decoded: %q %q", enc, f.Request.RawContent)
				}
				return ""
			}},
		{name: "encode", run: call("flow.encode", nil, "request", "br"), plain: true,
			refusedAs: "encode", inFlight: "Encoded 0 flows.", after: "Encoded 1 flows.",
			checkAfter: func(f *flow.HTTPFlow) string {
				if enc := f.Request.Headers.Get("content-encoding"); enc != "br" {
					return "encoding " + enc
				}
				return ""
			}},
		{name: "encode.toggle", run: call("flow.encode.toggle", nil, "request"),
			refusedAs: "toggle the encoding of", inFlight: "Toggled encoding on 0 flows.", after: "Toggled encoding on 1 flows."},
		{name: "set", run: call("flow.set", nil, "method", "PUT"),
			refusedAs: "set method on", inFlight: "Set method on  0 flows.", after: "Set method on  1 flows.",
			checkAfter: func(f *flow.HTTPFlow) string {
				if f.Request.Method != "PUT" {
					return "method " + f.Request.Method
				}
				return ""
			}},
		{name: "revert", run: call("flow.revert", nil),
			prepare: func(f *flow.HTTPFlow) {
				f.Backup()
				f.Request.Headers.Set("x-held", "1")
			},
			refusedAs: "revert", inFlight: "Reverted 0 flows.", after: "Reverted 1 flows.",
			checkAfter: func(f *flow.HTTPFlow) string {
				if f.Request.Headers.Get("x-held") != "" {
					return "not reverted"
				}
				return ""
			}},
		{name: "comment", run: func(m *mitmgo.Master, f *flow.HTTPFlow) error {
			_, err := m.Commands.Call("flow.comment", f, "in flight")
			return err
		},
			checkInFlight: func(f *flow.HTTPFlow) string {
				if c := f.Comment(); c != "in flight" {
					return fmt.Sprintf("comment %q", c)
				}
				return ""
			},
			// No backup was taken in flight: nothing to revert.
			checkAfter: func(f *flow.HTTPFlow) string {
				if c := f.Comment(); c != "in flight" || f.Modified() {
					return fmt.Sprintf("comment %q, modified %v", c, f.Modified())
				}
				return ""
			}},
		{name: "mark", run: func(m *mitmgo.Master, f *flow.HTTPFlow) error {
			if err := call("flow.mark", nil, ":heart:")(m, f); err != nil {
				return err
			}
			return call("flow.mark.toggle", nil)(m, f)
		},
			checkInFlight: func(f *flow.HTTPFlow) string {
				if mk := f.Marked(); mk != "" {
					return fmt.Sprintf("marker %q", mk)
				}
				return ""
			}},
	} {
		for _, withView := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/view=%v", tc.name, withView), func(t *testing.T) {
				runInFlight(t, tc, withView)
			})
		}
	}
}

func runInFlight(t *testing.T, tc inFlightCase, withView bool) {
	release := make(chan struct{})
	origin := testutil.HTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-release
		_, _ = io.WriteString(w, "ok")
	}))
	h := &holder{flows: make(chan *flow.HTTPFlow, 1), prepare: tc.prepare}
	lg := &alerts{}
	m, err := mitmgo.New(mitmgo.Config{View: withView, Addons: []any{h, lg}, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Setup([]string{"confdir=" + t.TempDir(), "listen_host=127.0.0.1", "listen_port=0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	body := []byte("hello hello")
	if !tc.plain {
		if body, err = flow.EncodeContent("gzip", body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest("POST", origin.URL+"/x", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !tc.plain {
		req.Header.Set("Content-Encoding", "gzip")
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(m.URL())}, Timeout: 20 * time.Second}
	done := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		done <- err
	}()
	f := <-h.flows
	if err := tc.run(m, f); err != nil {
		t.Fatalf("in flight: %v", err)
	}
	if tc.refusedAs != "" {
		warn := fmt.Sprintf("Cannot %s flow %s: it is in progress", tc.refusedAs, f.ID)
		if !lg.warn.has(warn) {
			t.Errorf("no warning %q in %q", warn, lg.warn.all())
		}
	}
	if got := lg.alert.last(); got != tc.inFlight {
		t.Errorf("in flight: alert %q, want %q", got, tc.inFlight)
	}
	if tc.checkInFlight != nil {
		if msg := tc.checkInFlight(f); msg != "" {
			t.Errorf("in flight: %s", msg)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	over := func() bool { return !f.Running() }
	if withView {
		over = func() bool { return m.View.Readable(f) }
	}
	testutil.Eventually(t, 10*time.Second, over, "the flow is not over")
	if err := tc.run(m, f); err != nil {
		t.Fatalf("over: %v", err)
	}
	if got := lg.alert.last(); got != tc.after {
		t.Errorf("over: alert %q, want %q", got, tc.after)
	}
	if tc.checkAfter != nil {
		if msg := tc.checkAfter(f); msg != "" {
			t.Errorf("over: %s", msg)
		}
	}
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// has reports whether a line starts with prefix.
func (l *logs) has(prefix string) bool {
	return slices.ContainsFunc(l.all(), func(m string) bool { return strings.HasPrefix(m, prefix) })
}
