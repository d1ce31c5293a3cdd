package script

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
)

// Content views that scripts add (mitmproxy.contentviews.add): the child
// says which there are ("views": [name, syntax] pairs) whenever that
// changes, and a view renders in the child ("cvprio", "cvrender": name,
// data, content_type).

// viewTimeout bounds one view call: a view is asked while a flow is
// printed, which must not hang on a stuck script.
const viewTimeout = 10 * time.Second

// scriptView is a script's view as a contentview.View.
type scriptView struct {
	a      *Addon
	name   string
	syntax contentview.Syntax
}

var _ contentview.View = scriptView{}

// ContentViews returns the content views the scripts added, for the
// dumper (nil when there are none).
func (a *Addon) ContentViews() []contentview.View {
	p := a.views.Load()
	if p == nil {
		return nil
	}
	return *p
}

// setViews records the views from a "views" message.
func (a *Addon) setViews(l []any) {
	var vs []contentview.View
	for _, v := range l {
		p, ok := v.([]any)
		if !ok || len(p) < 2 {
			continue
		}
		vs = append(vs, scriptView{a: a, name: anyStr(p[0]), syntax: contentview.Syntax(anyStr(p[1]))})
	}
	a.views.Store(&vs)
}

func (v scriptView) Name() string               { return v.name }
func (v scriptView) Syntax() contentview.Syntax { return v.syntax }

func (v scriptView) call(cmd string, data []byte, md *contentview.Metadata) (any, error) {
	h := v.a.liveHost()
	if h == nil {
		return nil, errors.New("the Python script host is not running")
	}
	m := newMsg(cmd)
	m.Set("name", wireStr(v.name))
	m.Set("data", nonNil(data))
	if md != nil && md.ContentType != "" {
		m.Set("content_type", md.ContentType)
	}
	ctx, cancel := context.WithTimeout(context.Background(), viewTimeout)
	defer cancel()
	reply, err := h.call(ctx, m, nil)
	if err != nil {
		return nil, err
	}
	d, _ := reply.Get("data")
	return d, nil
}

// RenderPriority asks the script's view; a view that fails is not chosen.
func (v scriptView) RenderPriority(data []byte, md *contentview.Metadata) float64 {
	d, err := v.call("cvprio", data, md)
	if err != nil {
		return -1
	}
	switch x := d.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return -1
}

// Prettify renders data with the script's view.
func (v scriptView) Prettify(data []byte, md *contentview.Metadata) (string, error) {
	d, err := v.call("cvrender", data, md)
	if err != nil {
		return "", fmt.Errorf("%s", err)
	}
	return anyStr(d), nil
}
