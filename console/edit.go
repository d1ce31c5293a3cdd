package console

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/shlex"
)

// execDoneMsg is sent when an external program (editor, pager) returns;
// apply, when set, takes its result into the state.
type execDoneMsg struct{ apply func(st *State) }

// spawn runs an external program on the terminal (the UI is suspended
// while it runs) and then sends done's message. Tests replace it.
type spawnFunc func(cmd *exec.Cmd, done func(error) tea.Msg) tea.Cmd

// spawnCounted runs cmd through Bubble Tea's exec, counting it in
// Console.externalRuns while it runs.
func (c *Console) spawnCounted(cmd *exec.Cmd, done func(error) tea.Msg) tea.Cmd {
	return tea.Exec(&countedCmd{Cmd: cmd, n: &c.externalRuns}, func(err error) tea.Msg { return done(err) })
}

// countedCmd is an exec.Cmd as tea.ExecCommand that counts itself in n
// while it runs; the terminal is given to it where it has no streams of
// its own.
type countedCmd struct {
	*exec.Cmd
	n *atomic.Int32
}

func (c *countedCmd) Run() error {
	c.n.Add(1)
	defer c.n.Add(-1)
	return c.Cmd.Run()
}

func (c *countedCmd) SetStdin(r io.Reader) {
	if c.Stdin == nil {
		c.Stdin = r
	}
}

func (c *countedCmd) SetStdout(w io.Writer) {
	if c.Stdout == nil {
		c.Stdout = w
	}
}

func (c *countedCmd) SetStderr(w io.Writer) {
	if c.Stderr == nil {
		c.Stderr = w
	}
}

// editorCommand is mitmproxy's editor (master.get_editor):
// $MITMPROXY_EDITOR, $EDITOR, the first of sensible-editor, nano and vim
// found on $PATH, or vi; split as Python's shlex.split does, so that
// `code --wait` or a quoted path with spaces works.
func editorCommand() ([]string, error) {
	return envCommand([]string{"MITMPROXY_EDITOR", "EDITOR"}, []string{"sensible-editor", "nano", "vim"}, "vi")
}

// pagerCommand is mitmproxy's external viewer (spawn_external_viewer):
// $MITMPROXY_EDITOR, $PAGER, $EDITOR, or less, in that order.
func pagerCommand() ([]string, error) {
	return envCommand([]string{"MITMPROXY_EDITOR", "PAGER", "EDITOR"}, nil, "less")
}

// envCommand is the first of the environment variables vars that is set
// and not empty, split into words; else the first program of onPath that
// is found; else fallback.
func envCommand(vars, onPath []string, fallback string) ([]string, error) {
	for _, v := range vars {
		if e := os.Getenv(v); e != "" {
			words, err := shlex.Split(e)
			if err != nil {
				return nil, command.Errorf("$%s: %s", v, err)
			}
			if len(words) == 0 {
				continue
			}
			return words, nil
		}
	}
	for _, p := range onPath {
		if _, err := exec.LookPath(p); err == nil {
			return []string{p}, nil
		}
	}
	return []string{fallback}, nil
}

// external writes data to a temporary file, runs the program that
// program says on it and, when it returns, hands the file's new content to
// then (on the UI goroutine).
func (c *Console) external(program func() ([]string, error), data []byte, suffix string, then func(st *State, edited []byte)) error {
	prog, err := program()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "mitmproxy.*"+suffix)
	if err != nil {
		return command.Errorf("cannot create a temporary file: %s", err)
	}
	name := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return command.Errorf("cannot write %s: %s", name, err)
	}
	args := append(slices.Clone(prog[1:]), name)
	cmd := exec.Command(prog[0], args...)
	spawn := c.spawn
	if spawn == nil {
		spawn = c.spawnCounted
	}
	c.do(func(st *State) {
		st.Do(spawn(cmd, func(err error) tea.Msg {
			edited, rerr := os.ReadFile(name)
			os.Remove(name)
			return execDoneMsg{apply: func(st *State) {
				switch {
				case err != nil:
					st.Error(fmt.Errorf("%s: %w", prog[0], err))
				case rerr != nil:
					st.Error(rerr)
				case then != nil:
					then(st, edited)
				}
			}}
		}))
	})
	return nil
}

// bodyView opens a request or response body in the pager (console.bodyview).
func (c *Console) bodyView(f flow.Any, part string) error {
	hf, ok := f.(*flow.HTTPFlow)
	if !ok {
		return command.Errorf("Part must be either request or response, not %s.", part)
	}
	var content []byte
	var err error
	c.readFlow(hf, func() {
		var m *flow.Message
		switch part {
		case "request":
			if hf.Request != nil {
				m = &hf.Request.Message
			}
		case "response":
			if hf.Response != nil {
				m = &hf.Response.Message
			}
		default:
			err = command.Errorf("Part must be either request or response, not %s.", part)
			return
		}
		if m == nil {
			err = command.Errorf("Part must be either request or response, not %s.", part)
			return
		}
		if content, err = m.Content(); err != nil {
			content, err = m.RawContent, nil
		}
	})
	if err != nil {
		return err
	}
	if len(content) == 0 {
		return command.Errorf("No content to view.")
	}
	return c.external(pagerCommand, content, "", nil)
}

// readFlow runs fn while the flow may be read (it is over or intercepted),
// under the view's lock; otherwise it is an error.
func (c *Console) readFlow(f flow.Any, fn func()) error {
	// Checked and read in one hold of the view's lock: a command (mitmweb,
	// a script) could otherwise resume the flow in between.
	if !c.st.View.IfReadable(f, fn) {
		return command.Errorf("Flow is in progress; intercept it to change it.")
	}
	return nil
}

// editOptions lists what console.edit.focus can edit on the focused flow.
func (c *Console) editOptions() ([]string, error) {
	f := c.st.Focus()
	switch f := f.(type) {
	case nil:
		return nil, command.Errorf("No flow selected.")
	case *flow.TCPFlow:
		return []string{"tcp-message", "comment"}, nil
	case *flow.UDPFlow:
		return []string{"udp-message", "comment"}, nil
	case *flow.HTTPFlow:
		opts := []string{"cookies", "urlencoded form", "path", "method", "query", "reason",
			"request-headers", "response-headers", "request-body", "response-body", "status_code",
			"set-cookies", "url"}
		// From the row: the flow may be in flight.
		if c.st.rowOf(f).ws {
			opts = append(opts, "websocket-message")
		}
		return append(opts, "comment"), nil
	case *flow.DNSFlow:
		return nil, command.Errorf("Cannot edit DNS flows yet, please submit a patch.")
	}
	return []string{"comment"}, nil
}

// editFocus edits a part of the focused flow (console.edit.focus): the
// method, status code and reason on the command prompt (flow.set), the
// comment with flow.comment, headers, query, form and cookies in the grid
// editor (gridflow.go), everything else (bodies, URL, path, messages) in
// $EDITOR.
func (c *Console) editFocus(part string) error {
	f := c.st.Focus()
	if f == nil {
		return command.Errorf("No flow selected.")
	}
	switch part {
	case "method", "status_code", "reason":
		c.do(func(st *State) { c.app.commandPrompt("flow.set @focus " + part + " ") })
		return nil
	case "comment":
		var cur string
		c.st.View.EditFlows(func() { cur = f.Base().Comment() })
		c.do(func(st *State) { c.app.commandPrompt("flow.comment @focus " + command.Quote(cur)) })
		return nil
	}
	if hf, ok := f.(*flow.HTTPFlow); ok && gridParts[part] != nil {
		return c.editGrid(hf, part)
	}
	var text []byte
	var err error
	if rerr := c.readFlow(f, func() { text, err = editText(f, part) }); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	return c.external(editorCommand, text, "", func(st *State, edited []byte) {
		if bytes.Equal(edited, text) {
			return
		}
		strip := st.opts.stripNewlines.Get()
		if err := c.applyToFlow(st, f, func() error { return applyEdit(f, part, edited, strip) }); err != nil {
			st.Error(err)
		}
	})
}

// applyToFlow applies an edit to a flow (every editor's way in): the flow
// must still be over or intercepted; it is backed up (for flow.revert)
// and changed under the view's lock, and its update goes to the addons
// and the view, so that a resumed flow carries it.
func (c *Console) applyToFlow(st *State, f flow.Any, change func() error) error {
	var err error
	if !st.View.IfReadable(f, func() {
		f.Backup()
		err = change()
	}) {
		return fmt.Errorf("the flow went on while it was edited; the edit is lost")
	}
	if err != nil {
		return err
	}
	c.ctx.Update(f)
	return nil
}

// editText is the text of a flow part as $EDITOR shows it: bodies and
// messages as they are, the URL and path on a line.
func editText(f flow.Any, part string) ([]byte, error) {
	switch f := f.(type) {
	case *flow.TCPFlow:
		if len(f.Messages) == 0 {
			return nil, command.Errorf("No messages to edit.")
		}
		return slices.Clone(f.Messages[len(f.Messages)-1].Content), nil
	case *flow.UDPFlow:
		if len(f.Messages) == 0 {
			return nil, command.Errorf("No messages to edit.")
		}
		return slices.Clone(f.Messages[len(f.Messages)-1].Content), nil
	case *flow.HTTPFlow:
		q := f.Request
		if q == nil {
			return nil, command.Errorf("No request.")
		}
		switch part {
		case "url":
			return []byte(q.URL() + "\n"), nil
		case "path":
			return []byte(q.Path + "\n"), nil
		case "request-body":
			b, err := q.Content()
			if err != nil {
				b = q.RawContent
			}
			return slices.Clone(b), nil
		case "response-body":
			placeholderResponse(f)
			r := f.Response
			b, err := r.Content()
			if err != nil {
				b = r.RawContent
			}
			return slices.Clone(b), nil
		case "websocket-message":
			if f.WebSocket == nil || len(f.WebSocket.Messages) == 0 {
				return nil, command.Errorf("No messages to edit.")
			}
			return slices.Clone(f.WebSocket.Messages[len(f.WebSocket.Messages)-1].Content), nil
		}
	}
	return nil, command.Errorf("Cannot edit %s.", part)
}

// placeholderResponse gives f the empty response mitmproxy makes to edit a
// response that is not there yet, after backing f up as mitmproxy's
// edit_focus does first: flow.revert then takes the placeholder away.
// Called under the view's lock, on a flow that may be changed.
func placeholderResponse(f *flow.HTTPFlow) {
	if f.Response != nil {
		return
	}
	f.Backup()
	f.Response = flow.NewResponse(200, []byte{}, flow.Headers{})
}

// applyEdit takes the edited text into the flow (under the view's lock).
func applyEdit(f flow.Any, part string, text []byte, strip bool) error {
	body := text
	if strip {
		body = bytes.TrimRight(body, "\n")
	}
	switch f := f.(type) {
	case *flow.TCPFlow:
		f.Messages[len(f.Messages)-1].Content = bytes.TrimRight(body, "\n")
		return nil
	case *flow.UDPFlow:
		f.Messages[len(f.Messages)-1].Content = bytes.TrimRight(body, "\n")
		return nil
	case *flow.HTTPFlow:
		q := f.Request
		switch part {
		case "url":
			u := strings.TrimSpace(string(text))
			if _, err := url.Parse(u); err != nil {
				return fmt.Errorf("invalid URL %q: %w", u, err)
			}
			return q.SetURL(u)
		case "path":
			q.Path = strings.TrimSpace(string(text))
		case "request-body":
			q.SetContent(body)
		case "response-body":
			f.Response.SetContent(body)
		case "websocket-message":
			m := f.WebSocket.Messages[len(f.WebSocket.Messages)-1]
			m.Content = bytes.TrimRight(body, "\n")
		default:
			return fmt.Errorf("cannot edit %s", part)
		}
		return nil
	}
	return fmt.Errorf("cannot edit %s", part)
}

// snapshotOf returns the copy of a flow in flight taken at its last hook
// while the flow view shows it, or nil.
func (st *State) snapshotOf(f flow.Any) flow.Any {
	if st.snaps == nil {
		return nil
	}
	return st.snaps.get(f.Base().ID)
}
