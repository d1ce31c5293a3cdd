// Package savehar is mitmproxy's savehar addon: with hardump=PATH, every
// completed HTTP flow (response, error, or the end of a WebSocket) is
// written to a HAR 1.2 file on exit, in the layout mitmproxy writes and
// browsers' HAR viewers read. A PATH ending in ".zhar" is zlib-compressed;
// "-" prints the HAR to standard output. Only flows matching
// save_stream_filter (when that option exists and is set) are kept, as in
// mitmproxy.
//
// Unlike mitmproxy, which keeps the flows in memory until exit, each
// flow's HAR entry is written when the flow completes to a temporary file
// next to PATH; Done finishes the JSON and renames it to PATH. Memory thus
// stays flat however long mitmgo runs, and a PATH in a directory that
// cannot be written is refused at start-up.
package savehar

import (
	"bufio"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
)

// Compile-time checks of the hooks SaveHar relies on.
var (
	_ addon.LoadHook            = (*SaveHar)(nil)
	_ addon.ConfigureHook       = (*SaveHar)(nil)
	_ addon.DoneHook            = (*SaveHar)(nil)
	_ addon.ResponseHeadersHook = (*SaveHar)(nil)
	_ addon.ResponseHook        = (*SaveHar)(nil)
	_ addon.ErrorHook           = (*SaveHar)(nil)
	_ addon.WebSocketEndHook    = (*SaveHar)(nil)
)

// SaveHar is the savehar addon. It is safe for concurrent use.
type SaveHar struct {
	// Stdout receives the HAR for hardump=-; it defaults to os.Stdout.
	Stdout io.Writer

	opts    *addon.Options
	log     *slog.Logger
	hardump addon.Opt[string]
	// streamFilter is the save addon's save_stream_filter, looked up in
	// Configure (s.mu); the zero handle while it is not declared.
	streamFilter addon.Opt[*string]

	filt filter.Optional
	on   atomic.Bool // hardump is set

	// pending holds the flows between their responseheaders and response
	// hooks (see Error).
	pending sync.Map // *flow.HTTPFlow -> struct{}

	mu   sync.Mutex
	path string // hardump as given
	tmp  *os.File
	bw   *bufio.Writer
	hw   *flowfile.HARWriter
	err  error // first error writing the temporary file
}

// New returns the savehar addon.
func New() *SaveHar { return &SaveHar{Stdout: os.Stdout} }

// Load declares hardump.
func (s *SaveHar) Load(l *addon.Loader) {
	s.opts = l.Context().Options
	s.log = l.Context().Log
	s.hardump = addon.Declare(l, "hardump", "",
		"HAR dump path. Use - for standard output; a path ending in .zhar is zlib-compressed.")
	s.addCommands(l)
}

// Configure follows hardump and save_stream_filter. Setting hardump
// checks at once that its directory can be written.
func (s *SaveHar) Configure(updated map[string]bool) error {
	s.mu.Lock()
	if s.streamFilter.Name() == "" {
		s.streamFilter, _ = addon.Lookup[*string](s.opts, "save_stream_filter")
	}
	streamFilter := s.streamFilter
	s.mu.Unlock()
	if streamFilter.Changed(updated) {
		var expr string
		if p := streamFilter.Get(); p != nil {
			expr = *p
		}
		if err := s.filt.Set(expr); err != nil {
			return fmt.Errorf("option save_stream_filter: %w", err)
		}
	}
	if !s.hardump.Changed(updated) {
		return nil
	}
	path := s.hardump.Get()
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		s.discardLocked()
		s.path = ""
		s.on.Store(false)
		return nil
	}
	if s.tmp == nil {
		if err := s.startLocked(path); err != nil {
			return fmt.Errorf("option hardump: %w", err)
		}
	} else if path != "-" && path != s.path {
		// The entries so far stay in the temporary file; check that the
		// new destination can be written.
		if err := probeDir(filepath.Dir(expandHome(path))); err != nil {
			return fmt.Errorf("option hardump: %w", err)
		}
	}
	s.path = path
	s.on.Store(true)
	return nil
}

// startLocked creates the temporary file the entries go to.
func (s *SaveHar) startLocked(path string) error {
	dir := os.TempDir()
	if path != "-" {
		dir = filepath.Dir(expandHome(path))
	}
	tmp, err := os.CreateTemp(dir, ".mitmgo-har-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	s.tmp = tmp
	s.bw = bufio.NewWriterSize(tmp, 64<<10)
	s.hw = flowfile.NewHARWriter(s.bw)
	s.err = nil
	return nil
}

func (s *SaveHar) discardLocked() {
	if s.tmp == nil {
		return
	}
	_ = s.tmp.Close()
	_ = os.Remove(s.tmp.Name())
	s.tmp, s.bw, s.hw = nil, nil, nil
}

// probeDir checks that a file can be created in dir.
func probeDir(dir string) error {
	f, err := os.CreateTemp(dir, ".mitmgo-har-*.probe")
	if err != nil {
		return err
	}
	_ = f.Close()
	return os.Remove(f.Name())
}

// ResponseHeaders notes a flow whose response is on its way.
func (s *SaveHar) ResponseHeaders(f *flow.HTTPFlow) {
	if s.on.Load() {
		s.pending.Store(f, struct{}{})
	}
}

// Response keeps a completed flow; WebSocket flows wait for their end.
func (s *SaveHar) Response(f *flow.HTTPFlow) {
	s.pending.Delete(f)
	if f.WebSocket == nil {
		s.add(f)
	}
}

// Error keeps a failed flow (WebSocket flows wait for their end).
//
// A flow loaded from a file may have both a response and an error; it then
// gets both hooks, and mitmproxy would list it twice. It is kept once, at
// its response: a flow with a response that is not pending any more was
// kept already.
func (s *SaveHar) Error(f *flow.HTTPFlow) {
	if f.WebSocket != nil {
		return
	}
	if f.Response != nil {
		if _, ok := s.pending.LoadAndDelete(f); !ok {
			return
		}
	}
	s.add(f)
}

// WebSocketEnd keeps a WebSocket flow with its messages.
func (s *SaveHar) WebSocketEnd(f *flow.HTTPFlow) { s.add(f) }

func (s *SaveHar) add(f *flow.HTTPFlow) {
	if !s.on.Load() {
		return
	}
	if !filter.Match(s.filt.Get(), f) {
		return
	}
	d := f.State()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hw == nil || s.err != nil {
		return
	}
	if err := s.hw.Write(d); err != nil {
		s.err = err
		s.log.Error(fmt.Sprintf("HAR dump: cannot write %s: %v", s.tmp.Name(), err))
	}
}

// Done writes the HAR file.
func (s *SaveHar) Done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tmp == nil {
		return
	}
	n, err := s.finishLocked()
	if err != nil {
		s.log.Error(fmt.Sprintf("HAR dump to %s failed: %v", s.path, err))
		return
	}
	if s.path != "-" {
		s.log.Info(fmt.Sprintf("HAR dump finished (wrote %d bytes to file)", n))
	}
}

// finishLocked completes the JSON and moves it to its destination; it
// returns the size of the JSON text.
func (s *SaveHar) finishLocked() (int64, error) {
	tmp, hw, bw := s.tmp, s.hw, s.bw
	s.tmp, s.hw, s.bw = nil, nil, nil
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	if s.err != nil {
		return 0, s.err
	}
	if err := hw.Close(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if s.path == "-" {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		_, err := io.Copy(s.Stdout, tmp)
		if err == nil {
			_, err = io.WriteString(s.Stdout, "\n")
		}
		return size, err
	}
	dst := expandHome(s.path)
	if strings.HasSuffix(dst, ".zhar") {
		return size, s.compressTo(tmp, dst)
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	// The temporary file is private (0600); give the result the mode of
	// the file it replaces, or the usual 0644.
	mode := os.FileMode(0o644)
	if st, err := os.Stat(dst); err == nil {
		mode = st.Mode().Perm()
	}
	if err := os.Rename(tmp.Name(), dst); err == nil {
		_ = os.Chmod(dst, mode)
		return size, nil
	}
	// Another file system (hardump changed at run time): copy.
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return size, copyToFile(dst, tmp)
}

func (s *SaveHar) compressTo(src *os.File, dst string) error {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	zw, err := zlib.NewWriterLevel(out, zlib.BestCompression)
	if err != nil {
		_ = out.Close()
		return err
	}
	_, err = io.Copy(zw, src)
	return errors.Join(err, zw.Close(), out.Close())
}

func copyToFile(dst string, src io.Reader) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, src)
	return errors.Join(err, out.Close())
}

// expandHome replaces a leading "~" with the user's home directory, as
// Python's os.path.expanduser.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// KeepsFlows is false: it holds flows only between their responseheaders and response hooks, and writes each entry before the response hook returns (see addon.FlowKeeper).
func (s *SaveHar) KeepsFlows() bool { return false }
