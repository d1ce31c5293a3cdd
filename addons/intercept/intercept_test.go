package intercept_test

import (
	"testing"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/intercept"
	"github.com/mitmgo/mitmgo/flow"
)

func TestIntercept(t *testing.T) {
	m := addon.NewManager()
	i := intercept.New()
	if err := m.Add(i); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureAll(); err != nil {
		t.Fatal(err)
	}
	o := m.Options()
	mk := func(path string) *flow.HTTPFlow {
		req, _ := flow.NewRequest("GET", "http://example.com"+path, nil, nil)
		f := flow.NewHTTPFlow(nil, nil)
		f.Request = req
		return f
	}
	for _, tc := range []struct {
		set    []string
		path   string
		replay string
		want   bool
	}{
		{nil, "/x", "", false},
		{[]string{"intercept=~u /x"}, "/x", "", true},
		{nil, "/y", "", false},
		{nil, "/x", "request", false}, // replays are never intercepted
		{[]string{"intercept_active=false"}, "/x", "", false},
		{[]string{"intercept_active=true"}, "/x", "", true},
		{[]string{"intercept="}, "/x", "", false},
	} {
		if err := o.Set(tc.set...); err != nil {
			t.Fatal(err)
		}
		f := mk(tc.path)
		f.IsReplay = tc.replay
		m.Request(f)
		if f.IsIntercepted() != tc.want {
			t.Errorf("after %v, %s (replay %q): intercepted %v", tc.set, tc.path, tc.replay, f.IsIntercepted())
		}
		f.Resume()
		if tc.want {
			f.Response = flow.NewResponse(200, nil, nil)
			m.Response(f)
			if !f.IsIntercepted() {
				t.Error("not intercepted at the response")
			}
			f.Resume()
		}
	}
	// Setting the filter turns interception on, unsetting it off.
	o.Set("intercept=~q")
	if !o.Bool("intercept_active") {
		t.Error("intercept did not turn intercept_active on")
	}
	o.Set("intercept=")
	if o.Bool("intercept_active") {
		t.Error("unsetting intercept did not turn intercept_active off")
	}
	if err := o.Set("intercept=~u ("); err == nil {
		t.Error("a bad filter was accepted")
	}
	tf := flow.NewTCPFlow(nil, nil)
	o.Set("intercept=~tcp")
	m.TCPMessage(tf)
	if !tf.IsIntercepted() {
		t.Error("a TCP flow was not intercepted at a message")
	}
}
