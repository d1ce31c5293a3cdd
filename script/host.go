package script

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmgo/mitmgo/tnetstring"
)

// errHostGone is returned by calls that the child could not answer because
// it exited.
var errHostGone = errors.New("the Python script host exited")

// server answers the child's requests during a call (a body it left out).
type server func(req *tnetstring.Dict) (any, error)

// hostEvents are the addon's handlers for messages the child sends on its
// own. They run on the reader goroutine and must not block on the child.
type hostEvents interface {
	hostLog(level slog.Level, msg string, fromScript bool)
	hostMessage(h *host, msg *tnetstring.Dict)
	hostExited(h *host, err error)
}

// host is one python3 child process and the pipes to it.
type host struct {
	cmd    *exec.Cmd
	w      *os.File // the child's fd 3
	r      *os.File // the child's fd 4
	wmu    sync.Mutex
	events hostEvents

	mu    sync.Mutex
	calls map[int64]pendingCall
	ids   atomic.Int64

	// lastMsg is when the child last sent anything (UnixNano): its
	// watchdog's heartbeat keeps it fresh while script_hook_timeout is set,
	// so a stale one means the child is frozen (see Addon.monitor).
	lastMsg atomic.Int64

	dead    chan struct{} // closed once the child is gone
	deadErr error
	closing atomic.Bool
	end     atomic.Pointer[string] // why mitmgo ended it, for the log

	stderrMu   sync.Mutex
	stderrTail []string

	filters filterCache

	// frames holds buffers for framing messages (*[]byte), so that a
	// hook call's frame is not a new allocation each time.
	frames sync.Pool

	// python is the interpreter's path; version its version, from init.
	python  string
	version string
}

// startHost starts python (an interpreter path) on the extracted tree dir.
func startHost(python, dir string, ev hostEvents) (*host, error) {
	// Pipes: we write to toChild, the child reads it as fd 3; the child
	// writes fd 4, we read fromChild.
	childR, toChild, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating pipes for the Python script host: %w", err)
	}
	fromChild, childW, err := os.Pipe()
	if err != nil {
		childR.Close()
		toChild.Close()
		return nil, fmt.Errorf("creating pipes for the Python script host: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		childR.Close()
		toChild.Close()
		fromChild.Close()
		childW.Close()
		return nil, fmt.Errorf("creating pipes for the Python script host: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		for _, f := range []*os.File{childR, toChild, fromChild, childW, outR, outW} {
			f.Close()
		}
		return nil, fmt.Errorf("creating pipes for the Python script host: %w", err)
	}
	cmd := exec.Command(python, "-u", filepath.Join(dir, hostScript))
	cmd.ExtraFiles = []*os.File{childR, childW}
	cmd.Stdin = nil
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.Env = os.Environ()
	if os.Getenv("PYTHONIOENCODING") == "" {
		cmd.Env = append(cmd.Env, "PYTHONIOENCODING=utf-8:backslashreplace")
	}
	dead := make(chan struct{})
	err = startChild(cmd, dead)
	// The child has its own copies now.
	childR.Close()
	childW.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		toChild.Close()
		fromChild.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting the Python script host (%s): %w", python, err)
	}
	h := &host{
		cmd: cmd, w: toChild, r: fromChild, events: ev, python: python,
		calls: map[int64]pendingCall{},
		dead:  dead,
	}
	h.lastMsg.Store(time.Now().UnixNano())
	var outputs sync.WaitGroup
	outputs.Add(2)
	go h.lines(outR, slog.LevelInfo, &outputs, false)
	go h.lines(errR, slog.LevelWarn, &outputs, true)
	go h.read(&outputs)
	return h, nil
}

// lines logs what the child writes to stdout or stderr (a script's print(),
// Python warnings), one entry per line.
func (h *host) lines(r io.ReadCloser, level slog.Level, wg *sync.WaitGroup, keep bool) {
	defer wg.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if keep {
			h.stderrMu.Lock()
			h.stderrTail = append(h.stderrTail, line)
			if len(h.stderrTail) > 20 {
				h.stderrTail = h.stderrTail[len(h.stderrTail)-20:]
			}
			h.stderrMu.Unlock()
		}
		h.events.hostLog(level, line, true)
	}
}

// stderr returns the last lines the child wrote to stderr.
func (h *host) stderr() string {
	h.stderrMu.Lock()
	defer h.stderrMu.Unlock()
	return strings.Join(h.stderrTail, "\n")
}

// read decodes the child's messages until it closes its end.
func (h *host) read(outputs *sync.WaitGroup) {
	dec := tnetstring.NewDecoder(h.r)
	var readErr error
	for {
		v, err := dec.Decode()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if b, ok := v.([]byte); ok {
			// Marshal data (pywire.go).
			if v, err = decodePy(b); err != nil {
				readErr = fmt.Errorf("a message from the Python script host: %w", err)
				break
			}
		}
		msg, ok := v.(*tnetstring.Dict)
		if !ok {
			readErr = fmt.Errorf("unexpected %T message from the Python script host", v)
			break
		}
		h.lastMsg.Store(time.Now().UnixNano())
		h.dispatch(msg)
	}
	h.r.Close()
	// The child closed fd 4 (it exited, or is about to): wait for it, so the
	// error says how it ended.
	outputs.Wait()
	waitErr := h.cmd.Wait()
	err := readErr
	if waitErr != nil {
		err = waitErr
	}
	if err == nil {
		err = errHostGone
	}
	// The addon learns first, so that a hook call made from the moment the
	// calls in flight fail waits for a restart instead of finding this
	// child dead.
	h.events.hostExited(h, err)
	h.mu.Lock()
	h.deadErr = err
	close(h.dead)
	h.mu.Unlock()
	h.wmu.Lock()
	h.w.Close()
	h.wmu.Unlock()
}

func (h *host) dispatch(msg *tnetstring.Dict) {
	switch msg.Str("cmd") {
	case "ret", "overdue":
		// An overdue call that has returned meanwhile is forgotten.
		h.route(msg.Int("id"), msg)
	case "beat":
	case "req":
		if id := msg.Int("call"); id != 0 && h.route(id, msg) {
			return
		}
		// Requests outside a call (codecs) are answered on their own
		// goroutine: the reader must keep reading.
		go h.answer(context.Background(), msg, nil)
	case "log":
		lvl := slog.LevelInfo
		switch msg.Str("level") {
		case "debug":
			lvl = slog.LevelDebug
		case "warn":
			lvl = slog.LevelWarn
		case "error":
			lvl = slog.LevelError
		case "alert":
			lvl = levelAlert
		}
		h.events.hostLog(lvl, msg.Str("msg"), msg.Bool("script"))
	default:
		h.events.hostMessage(h, msg)
	}
}

// route hands msg to the call with that id; false if there is none.
func (h *host) route(id int64, msg *tnetstring.Dict) bool {
	h.mu.Lock()
	pc, ok := h.calls[id]
	h.mu.Unlock()
	if ok {
		// Never blocks: a call has at most one request, its reply and an
		// "overdue" in flight, and the channel holds four.
		pc.ch <- msg
	}
	return ok
}

// answer replies to a request of the child; ctx is the call's it belongs to
// (see hookCall).
func (h *host) answer(ctx context.Context, req *tnetstring.Dict, serve server) {
	var (
		data any
		err  error
	)
	switch op := req.Str("op"); {
	case op == "codec":
		data, err = codec(req)
	case op == "filter" && serve == nil:
		data, err = h.filterOp(req, nil)
	case op == "readflows":
		data, err = readFlows(req.Bytes("data"), req.Bool("har"))
	case op == "command" || op == "execute" || op == "cmdlist" || op == "addon" || op == "viewlen" || op == "viewat":
		if r, ok := h.events.(requester); ok {
			data, err = r.hostRequest(ctx, h, req)
		} else {
			err = fmt.Errorf("%s is not available", op)
		}
	case serve != nil:
		data, err = serve(req)
	default:
		err = fmt.Errorf("%s is only available while the hook call is in progress", op)
	}
	reply := tnetstring.NewDict()
	reply.Set("cmd", "reply")
	reply.Set("rid", req.Int("rid"))
	if err != nil {
		reply.Set("err", err.Error())
	} else {
		reply.Set("data", data)
	}
	_ = h.send(reply)
}

// send writes one message to the child.
func (h *host) send(msg *tnetstring.Dict) error {
	bp, _ := h.frames.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	p, buf, err := framePieces(msg, *bp)
	if err != nil {
		h.frames.Put(bp)
		return fmt.Errorf("encoding a message for the Python script host: %w", err)
	}
	h.wmu.Lock()
	defer func() {
		h.wmu.Unlock()
		// Written (the pipe copied it): the frame's buffer serves the next
		// message; a large one goes to the garbage collector.
		if cap(buf) <= maxPooledFrame {
			*bp = buf
			h.frames.Put(bp)
		}
	}()
	if len(p) == 1 {
		_, err = h.w.Write(p[0])
	} else {
		// Large bodies stay where they are (framePieces).
		err = writePieces(h.w, p)
	}
	if err != nil {
		return fmt.Errorf("writing to the Python script host: %w", err)
	}
	return nil
}

// maxPooledFrame is the largest frame buffer kept for reuse (large
// bodies are pieces of their own and do not make frames large).
const maxPooledFrame = 64 << 10

// slowCall is how long a hook may run before the log says so. mitmproxy's
// handlers may block for as long as they like (the seed's blocking example
// sleeps 5 s), so without script_hook_timeout a slow call is reported,
// never abandoned.
const slowCall = 30 * time.Second

// pendingCall is a call waiting for its reply.
type pendingCall struct {
	ch    chan *tnetstring.Dict
	cmd   string
	hook  string // the hook of a "hook" call
	start time.Time
	// warned is when the log last said this hook call is slow (zero:
	// never); see warnSlow.
	warned time.Time
}

// overdueError is a hook call the child reported as running past
// script_hook_timeout; the handler is being interrupted.
type overdueError struct {
	script, hook string
	secs         int64
}

func (e *overdueError) Error() string {
	return fmt.Sprintf("the %s hook ran for more than %d s (script_hook_timeout)", e.hook, e.secs)
}

// call sends msg (given a fresh id) and waits for the reply, answering the
// child's requests with serve meanwhile. An "err" in the reply is returned
// as an error, together with the reply.
func (h *host) call(ctx context.Context, msg *tnetstring.Dict, serve server) (*tnetstring.Dict, error) {
	id := h.ids.Add(1)
	ch := make(chan *tnetstring.Dict, 4)
	cmd := msg.Str("cmd")
	pc := pendingCall{ch: ch, cmd: cmd, start: time.Now()}
	if cmd == "hook" {
		pc.hook = msg.Str("hook")
	}
	h.mu.Lock()
	if h.deadErr != nil {
		err := h.deadErr
		h.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", errHostGone, err)
	}
	h.calls[id] = pc
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.calls, id)
		h.mu.Unlock()
	}()
	msg.Set("id", id)
	if err := h.send(msg); err != nil {
		return nil, err
	}
	// A hook call that runs long is reported by warnSlow (from the
	// addon's monitor): no timer per call.
	for {
		select {
		case m := <-ch:
			switch m.Str("cmd") {
			case "req":
				h.answer(ctx, m, serve)
				continue
			case "overdue":
				return nil, &overdueError{script: m.Str("script"), hook: msg.Str("hook"), secs: m.Int("secs")}
			}
			if e := m.Str("err"); e != "" {
				return m, &replyError{msg: e}
			}
			return m, nil
		case <-h.dead:
			return nil, errHostGone
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// warnSlow logs the hook calls that have been running for slowCall since
// they started or since the log last said so.
func (h *host) warnSlow(now time.Time) {
	var msgs []string
	h.mu.Lock()
	for id, pc := range h.calls {
		if pc.cmd != "hook" {
			continue
		}
		last := pc.warned
		if last.IsZero() {
			last = pc.start
		}
		if now.Sub(last) < slowCall {
			continue
		}
		pc.warned = now
		h.calls[id] = pc
		msgs = append(msgs, fmt.Sprintf("Script host: the %s hook has been running for %s; "+
			"a handler may be stuck (the flow waits for it; script_hook_timeout sets a limit)",
			pc.hook, now.Sub(pc.start).Round(time.Second)))
	}
	h.mu.Unlock()
	for _, m := range msgs {
		h.events.hostLog(slog.LevelWarn, m, false)
	}
}

// replyError is an error the child reported for a command (an OptionsError
// in configure, for one).
type replyError struct{ msg string }

func (e *replyError) Error() string { return e.msg }

// busy reports whether a call other than the scripts' "done" is waiting
// for the child (done has its own time limit, see Addon.Done).
func (h *host) busy() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, pc := range h.calls {
		if pc.cmd != "done" {
			return true
		}
	}
	return false
}

// kill ends the child at once; the calls waiting for it fail with
// errHostGone.
func (h *host) kill() {
	_ = h.cmd.Process.Kill()
}

// stop ends the child: it closes the child's input (the child exits at
// EOF, even with a handler running: its watchdog thread sees the pipe
// close) and kills it if it has not gone after grace.
func (h *host) stop(grace time.Duration) {
	h.closing.Store(true)
	h.wmu.Lock()
	h.w.Close()
	h.wmu.Unlock()
	select {
	case <-h.dead:
	case <-time.After(grace):
		_ = h.cmd.Process.Kill()
		<-h.dead
	}
}

// setEnd records why mitmgo is about to end the child (the first reason
// wins); the flows it kills say so.
func (h *host) setEnd(why string) { h.end.CompareAndSwap(nil, &why) }

// endReason says how the child ended, as "the Python script host <...>".
func (h *host) endReason() string {
	if p := h.end.Load(); p != nil {
		return *p
	}
	return "exited"
}

// oldestHook is when the longest-waiting hook call (or chunk for a stream
// callable) was sent; zero if none waits.
func (h *host) oldestHook() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	var t time.Time
	for _, pc := range h.calls {
		if (pc.cmd == "hook" || pc.cmd == "chunk") && (t.IsZero() || pc.start.Before(t)) {
			t = pc.start
		}
	}
	return t
}

// alive reports whether the child has not exited.
func (h *host) alive() bool {
	select {
	case <-h.dead:
		return false
	default:
		return true
	}
}
