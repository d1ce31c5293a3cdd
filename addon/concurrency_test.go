package addon

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

// counter reads options from its hooks, as real addons do, while options
// change under it.
type counter struct {
	m          *Manager
	requests   atomic.Int64
	responses  atomic.Int64
	configured atomic.Int64
	logs       atomic.Int64
}

func (c *counter) Load(l *Loader) {
	c.m = l.m
	l.AddOption("flow_limit", Int, 10, "A limit.")
	l.AddOption("hosts", Strings, nil, "Hosts.")
}

func (c *counter) Configure(updated map[string]bool) error {
	c.configured.Add(1)
	_ = c.m.Options().Strings("hosts")
	if c.m.Options().Int("flow_limit") < 0 {
		return fmt.Errorf("flow_limit: must not be negative")
	}
	return nil
}

func (c *counter) Request(f *flow.HTTPFlow) {
	c.requests.Add(1)
	f.Request.Headers.Set("x-limit", fmt.Sprint(c.m.Options().Int("flow_limit")))
	_ = c.m.Options().Strings("hosts")
	c.m.Log().Debug("request seen", ClientKey, "127.0.0.1:1")
}

func (c *counter) Response(f *flow.HTTPFlow) { c.responses.Add(1) }
func (c *counter) AddLog(*LogEntry)          { c.logs.Add(1) }

// Many goroutines dispatch hooks for their own flows while options are
// updated (some updates rejected and rolled back) and addons register.
// Run with -race. Every hook call and every log entry must arrive.
func TestConcurrentDispatchAndOptions(t *testing.T) {
	m := NewManager()
	c := &counter{}
	if err := m.Add(c); err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 16, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				f := flow.NewHTTPFlow(flow.NewClient(flow.Address{Host: "127.0.0.1", Port: w}, flow.Address{}, "regular"), nil)
				f.Request = &flow.Request{Message: flow.Message{Headers: flow.NewHeaders("Host", "example.com")}}
				m.RequestHeaders(f)
				m.Request(f)
				f.Response = flow.NewResponse(200, nil, nil)
				m.Response(f)
				m.Log().Info("flow done", "worker", w, "i", i)
				_ = m.Names()
			}
		}()
	}
	var updates, rejected atomic.Int64
	for u := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				var err error
				switch i % 4 {
				case 0:
					err = m.Options().Set(fmt.Sprintf("flow_limit=%d", i))
				case 1:
					err = m.Options().Set("hosts=a", fmt.Sprintf("hosts=b%d", u))
				case 2:
					// Concurrent updates are not serialised against each
					// other (a configure sees the current values), so a
					// rejected update here could fail a concurrent valid one;
					// rejections are checked after the workers, below.
					err = m.Options().Set(fmt.Sprintf("flow_limit=%d", i+1))
				case 3:
					_ = m.Options().Dump()
					err = m.Add(named2{fmt.Sprintf("late-%d-%d", u, i)})
				}
				if err != nil {
					t.Error(err)
					return
				}
				updates.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := c.requests.Load(); got != workers*perWorker {
		t.Errorf("request hook ran %d times, want %d", got, workers*perWorker)
	}
	if got := c.responses.Load(); got != workers*perWorker {
		t.Errorf("response hook ran %d times, want %d", got, workers*perWorker)
	}
	// One debug entry per request and one info entry per flow.
	if got := c.logs.Load(); got != 2*workers*perWorker {
		t.Errorf("log hook saw %d entries, want %d", got, 2*workers*perWorker)
	}
	for range 50 {
		if err := m.Options().Update(map[string]any{"flow_limit": -1}); err != nil {
			rejected.Add(1)
		}
	}
	if rejected.Load() != 50 || m.Options().Int("flow_limit") < 0 {
		t.Errorf("rejected %d updates; flow_limit %d", rejected.Load(), m.Options().Int("flow_limit"))
	}
	if len(m.Names()) != 1+50 {
		t.Errorf("%d addons registered", len(m.Names()))
	}
}
