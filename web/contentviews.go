package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/addons/dumper/contentview"
	"github.com/mitmgo/mitmgo/flow"
)

// extraViews are the content views scripts add (the script host's).
func (s *Server) extraViews() []contentview.View {
	a, ok := s.ctx.Addon("scriptloader")
	if !ok {
		return nil
	}
	if cv, ok := a.(interface{ ContentViews() []contentview.View }); ok {
		return cv.ContentViews()
	}
	return nil
}

// cutLines keeps the first n lines of text (mitmproxy's
// cut_after_n_lines).
func cutLines(text string, n int) string {
	i := 0
	for ; n > 0; n-- {
		j := strings.IndexByte(text[i:], '\n')
		if j < 0 {
			return text
		}
		i += j + 1
	}
	if i > 0 {
		return text[:i-1]
	}
	return ""
}

func viewJSON(res contentview.Result, maxLines int) map[string]any {
	text := res.Text
	if maxLines > 0 {
		text = cutLines(text, maxLines)
	}
	syntax := string(res.Syntax)
	return map[string]any{"text": text, "view_name": res.ViewName, "syntax_highlight": syntax, "description": res.Description}
}

// contentView renders a message body, or a WebSocket/TCP/UDP flow's
// messages, with a content view (app.py FlowContentView).
func (s *Server) contentView(w http.ResponseWriter, r *http.Request) error {
	f, err := s.readable(r)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(r.PathValue("view"), ".json")
	if strings.EqualFold(name, "auto") {
		name = "auto"
	}
	maxLines := 0
	if l := r.URL.Query().Get("lines"); l != "" {
		if maxLines, err = strconv.Atoi(l); err != nil {
			return errorf(400, "Invalid lines: %s", l)
		}
	}
	extra := s.extraViews()
	var out any
	s.ctx.EditFlows(func() {
		if r.PathValue("message") != "messages" {
			m, hf, e := httpMessage(f, r.PathValue("message"))
			if e != nil {
				err = e
				return
			}
			var req *flow.Request
			if r.PathValue("message") == "request" {
				req = hf.Request
			}
			out = viewJSON(contentview.PrettifyWith(contentview.ForHTTP(m, req), name, extra), maxLines)
			return
		}
		type msg struct {
			content    []byte
			fromClient bool
			ts         float64
		}
		var msgs []msg
		switch f := f.(type) {
		case *flow.HTTPFlow:
			if f.WebSocket == nil {
				err = errorf(400, "This flow has no messages.")
				return
			}
			for _, m := range f.WebSocket.Messages {
				msgs = append(msgs, msg{m.Content, m.FromClient, m.Timestamp})
			}
		case *flow.TCPFlow:
			for _, m := range f.Messages {
				msgs = append(msgs, msg{m.Content, m.FromClient, m.Timestamp})
			}
		case *flow.UDPFlow:
			for _, m := range f.Messages {
				msgs = append(msgs, msg{m.Content, m.FromClient, m.Timestamp})
			}
		default:
			err = errorf(400, "This flow has no messages.")
			return
		}
		list := []any{}
		left := maxLines
		for _, m := range msgs {
			d := viewJSON(contentview.PrettifyWith(contentview.ForData(m.content), name, extra), left)
			d["from_client"] = m.fromClient
			d["timestamp"] = m.ts
			list = append(list, d)
			if maxLines > 0 {
				left -= strings.Count(d["text"].(string), "\n") + 1
				if left <= 0 {
					break
				}
			}
		}
		out = list
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}
