package mitmgo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/addon"
)

type netListener = net.Listener

// StartupError is returned by Start when errors were logged while mitmgo
// started (a script that failed to load, a certificate that could not be
// read): mitmproxy's errorcheck, after which its tools exit.
type StartupError struct {
	Messages []string
}

func (e *StartupError) Error() string {
	plural := ""
	if len(e.Messages) > 1 {
		plural = "s"
	}
	return fmt.Sprintf("Error%s logged during startup:\n%s", plural, strings.Join(e.Messages, "\n"))
}

// LoggedError is an error that the master has logged already (through the
// addons' log, which termlog prints); a tool need not print it again.
type LoggedError struct{ Err error }

func (e *LoggedError) Error() string { return e.Err.Error() }
func (e *LoggedError) Unwrap() error { return e.Err }

// errorCheck records error-level log entries until the proxy is running,
// as mitmproxy's errorcheck addon.
type errorCheck struct {
	fromScript func(*addon.LogEntry) bool
	mu         sync.Mutex
	running    bool
	errs       []string
}

func (s *errorCheck) Name() string { return "errorcheck" }

func (s *errorCheck) AddLog(e *addon.LogEntry) {
	// A script's own output (ctx.log.error) is not a start-up failure;
	// the script host logs load failures itself.
	if s.fromScript != nil && s.fromScript(e) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running && e.Level >= slog.LevelError && e.Level < addon.LevelAlert {
		s.errs = append(s.errs, e.Msg)
	}
}

func (s *errorCheck) Running() {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
}

func (s *errorCheck) failed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// Start configures the addons (if Configure has not run), starts the proxy
// server (unless the server option is off), fires the running hook and
// starts reading the rfile option's flows. It returns once the proxy
// accepts connections. Errors logged while starting fail it with a
// *StartupError. After a failed Start the master is closed.
func (m *Master) Start() error {
	if err := m.Configure(); err != nil {
		m.closeAfterFailure()
		return err
	}
	m.mu.Lock()
	if m.started || m.closed {
		m.mu.Unlock()
		return errors.New("mitmgo: Start called twice")
	}
	m.started = true
	m.mu.Unlock()
	// As mitmproxy: errors from configuring (a script that does not
	// load) stop mitmgo before it listens.
	if errs := m.errCheck.failed(); len(errs) > 0 {
		m.closeAfterFailure()
		return &StartupError{Messages: errs}
	}
	if m.Opts.Server.Get() {
		// One server per mode, all listening before any serves (as
		// mitmproxy, a mode that cannot listen stops the start).
		lns, err := m.Server.ListenModes()
		if err != nil {
			m.closeAfterFailure()
			return err
		}
		for _, l := range lns {
			m.Addons.Log().Info(l.ListeningMessage())
		}
		m.mu.Lock()
		for _, l := range lns {
			// Addr and URL name the first mode that has a TCP listener.
			if m.listener == nil && l.TCP() != nil {
				m.listener = l.TCP()
			}
		}
		if len(lns) > 0 {
			// (An empty mode list runs no server, as in mitmproxy.)
			m.serveDone = make(chan error, 1)
			go func() { m.serveDone <- m.Server.ServeModes(lns) }()
		}
		m.mu.Unlock()
	}
	if errs := m.errCheck.failed(); len(errs) > 0 {
		m.closeAfterFailure()
		return &StartupError{Messages: errs}
	}
	m.Addons.Running()
	ctx, cancel := context.WithCancel(context.Background())
	m.readDone = make(chan error, 1)
	go func() {
		defer cancel()
		go func() {
			select {
			case <-m.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		m.readDone <- m.readFile.ReadAll(ctx)
	}()
	return nil
}

func (m *Master) closeAfterFailure() { _ = m.Close() }

// Addr is the address the proxy listens on; nil before Start or without
// the server.
func (m *Master) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listener == nil {
		return nil
	}
	return m.listener.Addr()
}

// URL is the proxy's URL, for http.ProxyURL; nil before Start or without
// the server.
func (m *Master) URL() *url.URL {
	a := m.Addr()
	if a == nil {
		return nil
	}
	host := a.String()
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
	}
	return &url.URL{Scheme: "http", Host: host}
}

// Shutdown asks a running master to stop (mitmproxy's master.shutdown);
// Run returns then. It is safe to call from any goroutine, and more than
// once.
func (m *Master) Shutdown() { m.stopOnce.Do(func() { close(m.stop) }) }

// Stopping is closed once Shutdown was called.
func (m *Master) Stopping() <-chan struct{} { return m.stop }

// Run starts the master (see Start) and runs until ctx ends, Shutdown is
// called (by an addon, a command, keepserving once mitmdump's work is
// done) or the proxy server fails; then it closes the master. Errors it
// logged already are *LoggedError values in the returned error.
func (m *Master) Run(ctx context.Context) error {
	if err := m.Start(); err != nil {
		return err
	}
	log := m.Addons.Log()
	var errs []error
	// Without a server and without work that ends by itself there is
	// nothing to do.
	if !m.Opts.Server.Get() && !m.Opts.KeepServing.Get() && !m.exitsWhenDone() {
		m.Shutdown()
	}
	readDone, serveDone := m.readDone, m.serveDone
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-m.stop:
			break wait
		case err := <-readDone:
			readDone = nil
			if err != nil {
				log.Error(err.Error())
				errs = append(errs, &LoggedError{err})
			}
		case err := <-serveDone:
			if err != nil {
				err = fmt.Errorf("proxy server stopped: %w", err)
				log.Error(err.Error())
				errs = append(errs, &LoggedError{err})
			}
			break wait
		}
	}
	m.Shutdown()
	if readDone != nil {
		if err := <-readDone; err != nil {
			log.Error(err.Error())
			errs = append(errs, &LoggedError{err})
		}
	}
	if err := m.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// exitsWhenDone asks the keepserving addon whether mitmdump has work (-r,
// -C, -S) after which it stops by itself.
func (m *Master) exitsWhenDone() bool {
	a, ok := m.Addons.Get("keepserving")
	if !ok {
		return false
	}
	k, ok := a.(interface{ ExitsWhenDone() bool })
	return ok && k.ExitsWhenDone()
}

// Close stops the proxy (requests in flight get a few seconds to finish)
// and fires the done hook. It returns an error when flows could not be
// saved. Closing twice does nothing.
func (m *Master) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.Shutdown()
	// Addons that bound the shutdown learn first (the script host: from
	// now on its child's death is expected, and a hook still running when
	// its grace ends is stopped, so that a flow stuck in a script cannot
	// hold the proxy's shutdown forever).
	for _, name := range m.Addons.Names() {
		if a, ok := m.Addons.Get(name); ok {
			if s, ok := a.(interface{ BeginShutdown() }); ok {
				s.BeginShutdown()
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.Server.Shutdown(ctx)
	m.Addons.Done()
	if s, ok := m.Addons.Get("save"); ok {
		if se, ok := s.(interface{ Err() error }); ok && se.Err() != nil {
			return fmt.Errorf("saving flows failed: %w", se.Err())
		}
	}
	return nil
}
