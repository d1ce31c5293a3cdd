package console

import (
	"fmt"
	"strings"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

// The grid editors of a flow's parts (console.edit.focus on headers,
// query, form, cookies and set-cookies), as mitmproxy's editors.py.

// gridPart reads a part of an HTTP flow into rows and writes rows back;
// both run under the view's lock.
type gridPart struct {
	title string
	cols  []string
	read  func(f *flow.HTTPFlow) [][]string
	write func(f *flow.HTTPFlow, rows [][]string) error
	// check is the grid's cell check (gridEditor.check); nil for none.
	check func(row []string, col int) string
}

// gridParts are the parts console.edit.focus edits in a grid.
var gridParts = map[string]*gridPart{
	"request-headers": {"Editing request headers", []string{"Key", "Value"},
		func(f *flow.HTTPFlow) [][]string { return headerRows(f.Request.Headers) },
		func(f *flow.HTTPFlow, rows [][]string) error {
			h, err := rowHeaders(rows)
			if err == nil {
				f.Request.Headers = h
			}
			return err
		}, headerCellError},
	"response-headers": {"Editing response headers", []string{"Key", "Value"},
		func(f *flow.HTTPFlow) [][]string { return headerRows(f.Response.Headers) },
		func(f *flow.HTTPFlow, rows [][]string) error {
			h, err := rowHeaders(rows)
			if err == nil {
				f.Response.Headers = h
			}
			return err
		}, headerCellError},
	"query": {"Editing query", []string{"Key", "Value"},
		func(f *flow.HTTPFlow) [][]string { return pairRows(f.Request.Query()) },
		func(f *flow.HTTPFlow, rows [][]string) error { f.Request.SetQuery(rowPairs(rows)); return nil }, nil},
	"urlencoded form": {"Editing URL-encoded form", []string{"Key", "Value"},
		func(f *flow.HTTPFlow) [][]string { return pairRows(f.Request.URLEncodedForm()) },
		func(f *flow.HTTPFlow, rows [][]string) error { f.Request.SetURLEncodedForm(rowPairs(rows)); return nil }, nil},
	"cookies": {"Editing request cookies", []string{"Name", "Value"},
		func(f *flow.HTTPFlow) [][]string { return pairRows(f.Request.Cookies()) },
		func(f *flow.HTTPFlow, rows [][]string) error { f.Request.SetCookies(rowPairs(rows)); return nil }, nil},
	"set-cookies": {"Editing response SetCookie header", []string{"Name", "Value", "Attributes"},
		func(f *flow.HTTPFlow) [][]string {
			var rows [][]string
			for _, v := range f.Response.Headers.GetAll("set-cookie") {
				nv, attrs, _ := strings.Cut(v, ";")
				n, val, _ := strings.Cut(nv, "=")
				rows = append(rows, []string{strings.TrimSpace(n), strings.TrimSpace(val), strings.TrimSpace(attrs)})
			}
			return rows
		},
		func(f *flow.HTTPFlow, rows [][]string) error {
			for i, r := range rows {
				if r[0] == "" {
					return fmt.Errorf("set-cookies: row %d has no name", i+1)
				}
			}
			f.Response.Headers.Del("set-cookie")
			for _, r := range rows {
				v := r[0] + "=" + r[1]
				if r[2] != "" {
					v += "; " + r[2]
				}
				f.Response.Headers.Add("Set-Cookie", v)
			}
			return nil
		},
		func(row []string, col int) string {
			if col == 0 && row[0] == "" {
				return "a cookie needs a name"
			}
			return ""
		}},
}

// headerCellError checks a header row's cell: a name, without ':' or
// whitespace; a value on one line. mitmproxy's header editor checks none
// and sends such a header as typed (a name with a space makes a request
// no server parses); mitmgo marks the cell and leaves the row out.
func headerCellError(row []string, col int) string {
	switch name := strings.TrimSpace(row[0]); {
	case col == 0 && name == "":
		return "a header needs a name"
	case col == 0 && strings.ContainsAny(name, ": \t\r\n"):
		return fmt.Sprintf("invalid header name %q", row[0])
	case col == 1 && strings.ContainsAny(row[1], "\r\n"):
		return "a header value cannot hold a line break"
	}
	return ""
}

func headerRows(h flow.Headers) [][]string {
	rows := make([][]string, len(h))
	for i, f := range h {
		rows[i] = []string{f.Name, f.Value}
	}
	return rows
}

func rowHeaders(rows [][]string) (flow.Headers, error) {
	h := make(flow.Headers, 0, len(rows))
	for i, r := range rows {
		for col := range 2 {
			if msg := headerCellError(r, col); msg != "" {
				return nil, fmt.Errorf("headers: row %d: %s", i+1, msg)
			}
		}
		h = append(h, flow.Field{Name: strings.TrimSpace(r[0]), Value: r[1]})
	}
	return h, nil
}

func pairRows(d flow.MultiDict) [][]string {
	rows := make([][]string, len(d))
	for i, p := range d {
		rows[i] = []string{p.Key, p.Value}
	}
	return rows
}

func rowPairs(rows [][]string) flow.MultiDict {
	d := make(flow.MultiDict, 0, len(rows))
	for _, r := range rows {
		d = append(d, flow.Pair{Key: r[0], Value: r[1]})
	}
	return d
}

// editGrid opens the grid editor on a part of an HTTP flow that may be
// changed (over or intercepted); leaving it applies the rows to the flow
// as the text editor's edits are applied (applyToFlow).
func (c *Console) editGrid(f *flow.HTTPFlow, part string) error {
	gp := gridParts[part]
	var rows [][]string
	err := c.readFlow(f, func() {
		if f.Request == nil {
			return
		}
		if part == "response-headers" || part == "set-cookies" {
			// As mitmproxy: editing a response that is not there yet
			// makes one.
			placeholderResponse(f)
		}
		rows = gp.read(f)
	})
	if err != nil {
		return err
	}
	if f.Request == nil {
		return command.Errorf("No request.")
	}
	g := newGrid(gp.title, gridHelpText, gp.cols, rows, func(st *State, rows [][]string) error {
		return c.applyToFlow(st, f, func() error { return gp.write(f, rows) })
	})
	g.check = gp.check
	c.do(func(st *State) { st.Push(g) })
	return nil
}
