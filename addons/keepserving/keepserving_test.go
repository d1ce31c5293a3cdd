package keepserving

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
)

// worker is an addon that is busy until released.
type worker struct{ busy atomic.Bool }

func (w *worker) Busy() bool { return w.busy.Load() }

func setup(t *testing.T, specs ...string) (*KeepServing, *worker, *addon.Manager, *atomic.Int32) {
	t.Helper()
	m := addon.NewManager()
	o := m.Options()
	o.MustAdd("rfile", addon.OptionalString, nil, "")
	o.MustAdd("client_replay", addon.Strings, []string{}, "")
	o.MustAdd("server_replay", addon.Strings, []string{}, "")
	k := New(m)
	k.Interval = 5 * time.Millisecond
	w := &worker{}
	w.busy.Store(true)
	if err := m.Add(w, k); err != nil {
		t.Fatal(err)
	}
	if err := o.Set(specs...); err != nil {
		t.Fatal(err)
	}
	var stops atomic.Int32
	m.SetShutdown(func() { stops.Add(1) })
	t.Cleanup(m.Done)
	return k, w, m, &stops
}

func TestExitsWhenDone(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		exits bool
	}{
		{"nothing to do", nil, false},
		{"rfile", []string{"rfile=x.mitm"}, true},
		{"client replay", []string{"client_replay=x.mitm"}, true},
		{"server replay", []string{"server_replay=x.mitm"}, true},
		{"keepserving", []string{"rfile=x.mitm", "keepserving=true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, w, m, stops := setup(t, tt.specs...)
			if k.ExitsWhenDone() != tt.exits {
				t.Fatalf("ExitsWhenDone() = %v", !tt.exits)
			}
			m.Running()
			time.Sleep(30 * time.Millisecond)
			if stops.Load() != 0 {
				t.Fatal("shut down while an addon was busy")
			}
			w.busy.Store(false)
			deadline := time.Now().Add(5 * time.Second)
			for stops.Load() == 0 && tt.exits && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if !tt.exits {
				time.Sleep(30 * time.Millisecond)
			}
			if got := stops.Load(); (got == 1) != tt.exits || got > 1 {
				t.Errorf("shutdown called %d times, exits %v", got, tt.exits)
			}
		})
	}
}

func TestDoneStopsWatching(t *testing.T) {
	_, w, m, stops := setup(t, "rfile=x.mitm")
	m.Running()
	m.Done()
	w.busy.Store(false)
	time.Sleep(30 * time.Millisecond)
	if stops.Load() != 0 {
		t.Error("shutdown after done")
	}
}

// TestWithReadFile: mitmdump -r FILE exits once the file is read, not
// before ReadAll starts.
func TestWithReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.mitm")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m := addon.NewManager()
	rf := readfile.New(m)
	k := New(m)
	k.Interval = 2 * time.Millisecond
	m.Options().MustAdd("client_replay", addon.Strings, []string{}, "")
	m.Options().MustAdd("server_replay", addon.Strings, []string{}, "")
	if err := m.Add(k, rf); err != nil {
		t.Fatal(err)
	}
	if err := m.Options().Set("rfile=" + path); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	var once atomic.Bool
	m.SetShutdown(func() {
		if once.CompareAndSwap(false, true) {
			close(stopped)
		}
	})
	defer m.Done()
	m.Running()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("shut down before the file was read")
	default:
	}
	if err := rf.ReadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown after the file was read")
	}
}
