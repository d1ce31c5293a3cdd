// Package view is mitmproxy's view: the ordered, filtered store of flows
// that mitmweb and the console show (mitmproxy/addons/view.py). It is an
// addon: it takes flows from their hooks, keeps every flow it has seen (the
// store), and maintains the list that is shown, filtered by view_filter
// (and, when asked, marked flows only) and sorted by view_order (time,
// method, url or size), reversed by view_order_reversed. It tracks a
// focused flow, per-flow settings, and tells subscribers about every flow
// added, updated or removed (Subscribe), so a UI can follow without
// polling. Its commands (view.*) are mitmproxy's.
//
// # Concurrency
//
// Hooks run on each flow's own goroutine while commands and UIs run on
// theirs. The view reads a flow's fields (to filter and sort it) only where
// that cannot race with the proxy writing them: in the flow's own hooks; for
// a flow that is over (its response, error or end hook has run) or that is
// waiting while intercepted, from any goroutine. A flow in flight keeps its
// filter result and sort keys from its last hook until its next one, when
// the filter or order changes in between. Code that changes flows outside
// their hooks does so inside addon.Context.EditFlows (the view's EditFlows)
// and then calls Context.Update: the core's flow.* commands do. Code that
// reads or changes more of a flow than its marker, comment and control
// state uses addon.Context.EditReadable (the view's EditReadable), which
// tells it, under the same lock, which flows may be read.
//
// The list is stored in chunks (see sortedList), so that adding a flow,
// finding its position and reading a window of rows stay fast at 100,000
// flows (BenchmarkAdd, BenchmarkWindow, BenchmarkSetFilter).
package view

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/filter"
	"github.com/mitmgo/mitmgo/flow"
)

// Orders are the values of view_order, in mitmproxy's order.
var Orders = []string{"time", "method", "url", "size"}

// EventKind says what happened.
type EventKind int

const (
	// Added: a flow entered the view (Index is its position).
	Added EventKind = iota
	// Updated: a flow in the view changed (Index is its position now).
	Updated
	// Removed: a flow left the view (Index was its position).
	Removed
	// Refreshed: the whole view changed (a new filter or order, a clear):
	// read it again. Flow is nil.
	Refreshed
	// FocusChanged: the focus moved (Flow is the focused flow or nil).
	FocusChanged
	// StoreRemoved: a flow left the store (after Removed, if it was
	// shown). Index is -1.
	StoreRemoved
)

func (k EventKind) String() string {
	return [...]string{"added", "updated", "removed", "refreshed", "focus", "store_removed"}[k]
}

// Event is one change of the view.
type Event struct {
	Kind EventKind
	Flow flow.Any
	// Index is the flow's position in the view as the change left it
	// (for Removed, the position it had); -1 when it does not apply.
	Index int
	// Seq numbers the changes in the order they were made. Events are
	// delivered on the goroutine that made the change, so two made at
	// once may arrive in either order: Seq tells.
	Seq uint64
	// InFlight: the change was made outside the flow's hooks (Update)
	// while the proxy may still write it, so a subscriber must not read
	// the flow beyond what commands change (marker, comment, interception).
	InFlight bool
	// Hook: the change is the flow's own hook, and the event is delivered
	// on the flow's goroutine before the hook returns, so a subscriber may
	// read Flow while it handles the event, though what commands change in
	// flight (marker, comment) only under EditFlows, where they change it.
	// Other events' flows are read only under IfReadable.
	Hook bool
}

// entry is one flow of the store.
type entry struct {
	f    flow.Any
	base *flow.Flow
	// seq is the order of arrival: the store's order, and the tie-break
	// of the sort.
	seq uint64
	// The sort keys, computed where the flow may be read (see
	// evaluate), for every order so that changing it reads no flow.
	method, url string
	size        int64
	created     float64
	// marked caches base.Marked() != ""; matched, whether the filter matched at
	// the last evaluation; shown, whether it is in the list.
	marked, matched, shown bool
	// inFlight: the proxy may still write the flow (between its first and
	// its last hook); parked: it is intercepted and waiting, as its last
	// hook in the view saw.
	inFlight, parked bool
	settings         map[string]string
	removed          bool
	// moved: the last evaluate changed the sort keys (a flow's hooks
	// mostly do not: it then stays where it is in the list).
	moved bool
}

// readable reports whether the flow may be read outside its own hooks.
func (e *entry) readable() bool {
	return !e.inFlight || e.parked && e.base.IsIntercepted()
}

// View is the view addon. Its methods are safe for concurrent use.
type View struct {
	mu      sync.Mutex
	store   map[string]*entry
	ordered []*entry // the store in arrival order (removed entries compacted lazily)
	nDead   int
	list    sortedList
	seq     uint64

	filt       filter.Filter
	filterText string
	order      string
	less       func(a, b *entry) bool
	reversed   bool
	showMarked bool
	focus      *entry
	follow     bool

	ctx         *addon.Context
	optFilter   addon.Opt[*string]
	optOrder    addon.Opt[string]
	optReversed addon.Opt[bool]
	optFollow   addon.Opt[bool]

	evSeq  atomic.Uint64
	subsMu sync.Mutex
	subs   map[int]func(Event)
	nextID int
}

// New returns an empty view, ordered by time.
func New() *View {
	v := &View{store: map[string]*entry{}, subs: map[int]func(Event){}}
	v.setOrderLocked("time")
	return v
}

// Name is mitmproxy's addon name.
func (v *View) Name() string { return "view" }

var (
	_ addon.LoadHook            = (*View)(nil)
	_ addon.ConfigureHook       = (*View)(nil)
	_ addon.RequestHeadersHook  = (*View)(nil)
	_ addon.RequestHook         = (*View)(nil)
	_ addon.ResponseHeadersHook = (*View)(nil)
	_ addon.ResponseHook        = (*View)(nil)
	_ addon.ErrorHook           = (*View)(nil)
	_ addon.WebSocketStartHook  = (*View)(nil)
	_ addon.WebSocketEndHook    = (*View)(nil)
	_ addon.TCPStartHook        = (*View)(nil)
	_ addon.TCPMessageHook      = (*View)(nil)
	_ addon.TCPEndHook          = (*View)(nil)
	_ addon.TCPErrorHook        = (*View)(nil)
	_ addon.UpdateHook          = (*View)(nil)
	_ addon.ReadableEditor      = (*View)(nil)
	_ addon.FlowKeeper          = (*View)(nil)
)

// DeclareOptions declares the view's options (mitmproxy's names, defaults
// and help). The front door declares them for every tool, so that a
// config.yaml shared with mitmweb works with mitmdump too.
func DeclareOptions(l *addon.Loader) (filt addon.Opt[*string], order addon.Opt[string], reversed, follow addon.Opt[bool]) {
	filt = addon.Declare[*string](l, "view_filter", nil, "Limit the view to matching flows.")
	order = addon.Declare(l, "view_order", "time", "Flow sort order.", Orders...)
	reversed = addon.Declare(l, "view_order_reversed", false, "Reverse the sorting order.")
	follow = addon.Declare(l, "console_focus_follow", false, "Focus follows new flows.")
	return
}

// Load declares the options and the view.* commands.
func (v *View) Load(l *addon.Loader) {
	v.ctx = l.Context()
	v.optFilter, v.optOrder, v.optReversed, v.optFollow = DeclareOptions(l)
	v.addCommands(l)
}

// Configure applies view_filter, view_order, view_order_reversed and
// console_focus_follow.
func (v *View) Configure(updated map[string]bool) error {
	if v.optFilter.Changed(updated) {
		var expr string
		if p := v.optFilter.Get(); p != nil {
			expr = *p
		}
		if err := v.SetFilter(expr); err != nil {
			return fmt.Errorf("option view_filter: %w", err)
		}
	}
	if v.optOrder.Changed(updated) {
		if err := v.SetOrder(v.optOrder.Get()); err != nil {
			return fmt.Errorf("option view_order: %w", err)
		}
	}
	if v.optReversed.Changed(updated) {
		v.SetReversed(v.optReversed.Get())
	}
	if v.optFollow.Changed(updated) {
		v.mu.Lock()
		v.follow = v.optFollow.Get()
		v.mu.Unlock()
	}
	return nil
}

// KeepsFlows is true: the view holds every flow it is handed.
func (v *View) KeepsFlows() bool { return true }

// Subscribe calls fn with every change from now on, after the change is
// made, on the goroutine that made it (a flow's hook, a command). fn must
// be safe for concurrent use; it may read the view. It returns the
// function that ends the subscription.
func (v *View) Subscribe(fn func(Event)) (cancel func()) {
	v.subsMu.Lock()
	id := v.nextID
	v.nextID++
	v.subs[id] = fn
	v.subsMu.Unlock()
	return func() {
		v.subsMu.Lock()
		delete(v.subs, id)
		v.subsMu.Unlock()
	}
}

// events collects the events of one change; they are numbered under the
// view's lock and delivered after it is released.
type events []Event

func (v *View) ev(evs *events, kind EventKind, e *entry, idx int) {
	var f flow.Any
	if e != nil {
		f = e.f
	}
	*evs = append(*evs, Event{Kind: kind, Flow: f, Index: idx, Seq: v.evSeq.Add(1)})
}

func (v *View) deliver(evs events) {
	if len(evs) == 0 {
		return
	}
	v.subsMu.Lock()
	subs := make([]func(Event), 0, len(v.subs))
	for _, fn := range v.subs {
		subs = append(subs, fn)
	}
	v.subsMu.Unlock()
	for _, e := range evs {
		for _, fn := range subs {
			fn(e)
		}
	}
}

// Sorting --------------------------------------------------------------

func (v *View) setOrderLocked(order string) {
	v.order = order
	tie := func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) }
	var c func(a, b *entry) int
	switch order {
	case "method":
		c = func(a, b *entry) int { return cmp.Or(strings.Compare(a.method, b.method), tie(a, b)) }
	case "url":
		c = func(a, b *entry) int { return cmp.Or(strings.Compare(a.url, b.url), tie(a, b)) }
	case "size":
		c = func(a, b *entry) int { return cmp.Or(cmp.Compare(a.size, b.size), tie(a, b)) }
	default:
		c = func(a, b *entry) int { return cmp.Or(cmp.Compare(a.created, b.created), tie(a, b)) }
	}
	v.less = func(a, b *entry) bool { return c(a, b) < 0 }
}

// keys computes the sort keys of a flow (mitmproxy's order keys).
func keys(e *entry) {
	e.created = e.base.TimestampCreated
	switch f := e.f.(type) {
	case *flow.HTTPFlow:
		e.method, e.url, e.size = "", "", 0
		if f.Request != nil {
			e.method = f.Request.Method
			e.url = f.Request.URL()
			e.size += int64(len(f.Request.RawContent))
		}
		if f.Response != nil {
			e.size += int64(len(f.Response.RawContent))
		}
	case *flow.TCPFlow:
		e.method = "TCP"
		e.url = ""
		if f.ServerConn != nil {
			e.url = f.ServerConn.Address.String()
		}
		e.size = 0
		for _, m := range f.Messages {
			e.size += int64(len(m.Content))
		}
	default:
		// DNS and UDP flows (dns.go).
		otherKeys(e)
	}
}

// evaluate reads the flow: its keys, its mark and whether the filter
// matches. It runs under the lock, where the flow may be read.
func (v *View) evaluate(e *entry) {
	method, url, size, created := e.method, e.url, e.size, e.created
	keys(e)
	e.moved = e.method != method || e.url != url || e.size != size || e.created != created
	e.marked = e.base.Marked() != ""
	e.matched = filter.Match(v.filt, e.f)
}

func (v *View) wanted(e *entry) bool {
	return e.matched && (!v.showMarked || e.marked)
}

// pos converts an index of the sorted list to a position in the view,
// which is reversed by view_order_reversed.
func (v *View) pos(i int) int {
	if i < 0 || !v.reversed {
		return i
	}
	return v.list.len() - 1 - i
}

// Adding and updating -----------------------------------------------------

// Add puts flows into the store (and the view, if they pass the filter);
// flows already in the store are left alone (mitmproxy's view.add). They
// must not be in flight: flows the proxy is carrying enter through their
// hooks.
func (v *View) Add(flows ...flow.Any) {
	var evs events
	v.mu.Lock()
	for _, f := range flows {
		v.addLocked(f, false, &evs)
	}
	v.mu.Unlock()
	v.deliver(evs)
}

func (v *View) addLocked(f flow.Any, inFlight bool, evs *events) *entry {
	b := f.Base()
	if e, ok := v.store[b.ID]; ok {
		return e
	}
	v.seq++
	e := &entry{f: f, base: b, seq: v.seq, inFlight: inFlight}
	v.store[b.ID] = e
	v.ordered = append(v.ordered, e)
	v.evaluate(e)
	if v.wanted(e) {
		v.showLocked(e, evs)
	}
	return e
}

func (v *View) showLocked(e *entry, evs *events) {
	e.shown = true
	v.ev(evs, Added, e, v.pos(v.list.insert(e, v.less)))
	if v.follow || v.focus == nil {
		v.setFocusLocked(e, evs)
	}
}

func (v *View) hideLocked(e *entry, evs *events) {
	idx := v.pos(v.list.remove(e, v.less))
	e.shown = false
	v.ev(evs, Removed, e, idx)
	if v.focus == e {
		v.refocusAfterRemoveLocked(idx, evs)
	}
}

// refreshLocked re-files an entry whose keys or filter result may have
// changed, with the events that follow.
func (v *View) refreshLocked(e *entry, evs *events) {
	switch want := v.wanted(e); {
	case want && !e.shown:
		v.showLocked(e, evs)
	case !want && e.shown:
		v.hideLocked(e, evs)
	case want:
		if !e.moved {
			v.ev(evs, Updated, e, v.pos(v.list.index(e, v.less)))
			break
		}
		// The keys may have moved it: take it out and put it back.
		v.list.remove(e, v.less)
		v.ev(evs, Updated, e, v.pos(v.list.insert(e, v.less)))
	}
}

// hook handles a flow's own hook: the flow may be read; final is its last
// hook, after which the proxy no longer writes it.
func (v *View) hook(f flow.Any, add, final bool) {
	var evs events
	v.mu.Lock()
	b := f.Base()
	e, ok := v.store[b.ID]
	switch {
	case !ok && add:
		e = v.addLocked(f, true, &evs)
	case !ok:
		v.mu.Unlock()
		return
	default:
		e.f, e.base = f, b
		v.evaluate(e)
		v.refreshLocked(e, &evs)
	}
	e.inFlight = !final
	if final {
		// Readers may look at it from now on: a kill asked for while it
		// ran gets its error before they do, and later kills at once.
		b.Settle()
	}
	e.parked = b.IsIntercepted()
	v.mu.Unlock()
	for i := range evs {
		evs[i].Hook = evs[i].Flow == f
	}
	v.deliver(evs)
}

// RequestHeaders adds the flow (mitmproxy's view takes flows at
// requestheaders).
func (v *View) RequestHeaders(f *flow.HTTPFlow) { v.hook(f, true, false) }

// Request updates the flow (an interception shows here).
func (v *View) Request(f *flow.HTTPFlow) { v.hook(f, false, false) }

// ResponseHeaders updates the flow.
func (v *View) ResponseHeaders(f *flow.HTTPFlow) { v.hook(f, false, false) }

// Response updates the flow; it is over unless it goes on as a WebSocket.
func (v *View) Response(f *flow.HTTPFlow) { v.hook(f, false, f.WebSocket == nil) }

// Error updates the flow, which is over.
func (v *View) Error(f *flow.HTTPFlow) { v.hook(f, false, true) }

// WebSocketStart updates the flow.
func (v *View) WebSocketStart(f *flow.HTTPFlow) { v.hook(f, false, false) }

// WebSocketMessage updates the flow.
func (v *View) WebSocketMessage(f *flow.HTTPFlow) { v.hook(f, false, false) }

// WebSocketEnd updates the flow, which is over.
func (v *View) WebSocketEnd(f *flow.HTTPFlow) { v.hook(f, false, true) }

// TCPStart adds the flow.
func (v *View) TCPStart(f *flow.TCPFlow) { v.hook(f, true, false) }

// TCPMessage updates the flow.
func (v *View) TCPMessage(f *flow.TCPFlow) { v.hook(f, false, false) }

// TCPEnd updates the flow, which is over.
func (v *View) TCPEnd(f *flow.TCPFlow) { v.hook(f, false, true) }

// TCPError updates the flow, which is over.
func (v *View) TCPError(f *flow.TCPFlow) { v.hook(f, false, true) }

// Update re-files flows that changed outside their hooks (the update
// hook). The caller owns them: it changed them, inside EditFlows.
func (v *View) Update(flows []flow.Any) {
	var evs events
	v.mu.Lock()
	for _, f := range flows {
		e, ok := v.store[f.Base().ID]
		if !ok || e.f != f {
			continue
		}
		n := len(evs)
		if e.readable() {
			v.evaluate(e)
			v.refreshLocked(e, &evs)
		} else {
			// In flight: only what commands change may be read.
			e.marked = e.base.Marked() != ""
			v.refreshLocked(e, &evs)
			for i := n; i < len(evs); i++ {
				evs[i].InFlight = true
			}
		}
	}
	v.mu.Unlock()
	v.deliver(evs)
}

// EditFlows runs fn while the view reads no flow (see
// addon.Context.EditFlows).
func (v *View) EditFlows(fn func()) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fn()
}

// EditReadable calls fn for each of flows, under the view's lock, with
// whether it may be read and changed there (as Readable): no command
// resumes a flow between the check and the edit (see
// addon.Context.EditReadable). A flow the view does not have (not added
// yet, or of a kind it does not keep) is readable when addon.Quiet.
func (v *View) EditReadable(flows []flow.Any, fn func(f flow.Any, readable bool)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range flows {
		e, ok := v.store[f.Base().ID]
		if ok && e.f != f {
			ok = false // a copy with the same id (not the flow the view has)
		}
		fn(f, ok && e.readable() || !ok && addon.Quiet(f))
	}
}

// Filter and order --------------------------------------------------------

// SetFilter filters the view by a filter expression; "" shows every flow
// (mitmproxy's view.filter.set; the view_filter option sets it too).
func (v *View) SetFilter(expr string) error {
	var flt filter.Filter
	if expr != "" {
		var err error
		if flt, err = filter.Parse(expr); err != nil {
			return err
		}
	}
	v.mu.Lock()
	v.filt, v.filterText = flt, expr
	evs := v.refilterLocked(true)
	v.mu.Unlock()
	v.deliver(evs)
	return nil
}

// Filter returns the current filter expression ("" for none).
func (v *View) Filter() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.filterText
}

// refilterLocked rebuilds the list from the store. With rematch, flows
// that may be read are matched against the filter again.
func (v *View) refilterLocked(rematch bool) events {
	v.compactLocked()
	shown := make([]*entry, 0, len(v.ordered))
	for _, e := range v.ordered {
		if rematch && e.readable() {
			e.marked = e.base.Marked() != ""
			e.matched = filter.Match(v.filt, e.f)
		}
		e.shown = v.wanted(e)
		if e.shown {
			shown = append(shown, e)
		}
	}
	slices.SortFunc(shown, func(a, b *entry) int {
		if v.less(a, b) {
			return -1
		}
		if v.less(b, a) {
			return 1
		}
		return 0
	})
	v.list.build(shown)
	var evs events
	v.ev(&evs, Refreshed, nil, -1)
	v.refocusLocked(&evs)
	return evs
}

// SetOrder sorts the view by one of Orders (mitmproxy's view.order.set).
func (v *View) SetOrder(order string) error {
	if !slices.Contains(Orders, order) {
		return fmt.Errorf("Unknown flow order: %s", order)
	}
	v.mu.Lock()
	v.setOrderLocked(order)
	evs := v.refilterLocked(false)
	v.mu.Unlock()
	v.deliver(evs)
	return nil
}

// Order returns the current order.
func (v *View) Order() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.order
}

// SetReversed reverses the order, or not (view.order.reverse).
func (v *View) SetReversed(reversed bool) {
	v.mu.Lock()
	changed := v.reversed != reversed
	v.reversed = reversed
	var evs events
	if changed {
		v.ev(&evs, Refreshed, nil, -1)
	}
	v.mu.Unlock()
	v.deliver(evs)
}

// Reversed reports whether the order is reversed.
func (v *View) Reversed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.reversed
}

// SetShowMarked shows only marked flows, or every flow again.
func (v *View) SetShowMarked(only bool) {
	v.mu.Lock()
	v.showMarked = only
	evs := v.refilterLocked(false)
	v.mu.Unlock()
	v.deliver(evs)
}

// ShowMarked reports whether only marked flows are shown.
func (v *View) ShowMarked() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.showMarked
}

// Reading -------------------------------------------------------------------

// Len is the number of flows shown.
func (v *View) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.list.len()
}

// StoreLen is the number of flows in the store, shown or not.
func (v *View) StoreLen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.store)
}

// At returns the flow at position i of the view, or nil.
func (v *View) At(i int) flow.Any {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.list.len()
	if i < 0 || i >= n {
		return nil
	}
	return v.list.at(v.pos(i)).f
}

// Window returns up to limit flows of the view from position offset: the
// rows a UI shows.
func (v *View) Window(offset, limit int) []flow.Any {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.list.len()
	offset = max(offset, 0)
	end := min(offset+max(limit, 0), n)
	if offset >= end {
		return nil
	}
	var es []*entry
	if v.reversed {
		es = v.list.slice(make([]*entry, 0, end-offset), n-end, n-offset)
		slices.Reverse(es)
	} else {
		es = v.list.slice(make([]*entry, 0, end-offset), offset, end)
	}
	out := make([]flow.Any, len(es))
	for i, e := range es {
		out[i] = e.f
	}
	return out
}

// Index returns the position of f in the view, or -1.
func (v *View) Index(f flow.Any) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.store[f.Base().ID]
	if !ok || !e.shown {
		return -1
	}
	return v.pos(v.list.index(e, v.less))
}

// Get returns the flow with the given id from the store.
func (v *View) Get(id string) (flow.Any, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.store[id]
	if !ok {
		return nil, false
	}
	return e.f, true
}

// Shown returns the flows of the view, in order.
func (v *View) Shown() []flow.Any {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.shownLocked()
}

// ShownReadable returns the flows of the view, in order, with whether
// each may be read now (as Readable), taken in one pass under the lock:
// cheaper than Shown and a Readable per flow for a large view.
func (v *View) ShownReadable() ([]flow.Any, []bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.shownReadableLocked()
}

// WithShownReadable calls fn with what ShownReadable returns, under the
// view's lock: fn may read the flows that may be read, and no command
// changes them (EditFlows) nor resumes an intercepted one meanwhile. fn
// must not call the view.
func (v *View) WithShownReadable(fn func(flows []flow.Any, readable []bool)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fn(v.shownReadableLocked())
}

func (v *View) shownReadableLocked() ([]flow.Any, []bool) {
	es := v.list.all(make([]*entry, 0, v.list.len()))
	if v.reversed {
		slices.Reverse(es)
	}
	out := make([]flow.Any, len(es))
	ok := make([]bool, len(es))
	for i, e := range es {
		out[i], ok[i] = e.f, e.readable()
	}
	return out, ok
}

func (v *View) shownLocked() []flow.Any {
	es := v.list.all(make([]*entry, 0, v.list.len()))
	if v.reversed {
		slices.Reverse(es)
	}
	out := make([]flow.Any, len(es))
	for i, e := range es {
		out[i] = e.f
	}
	return out
}

// All returns every flow in the store, in the order they arrived.
func (v *View) All() []flow.Any {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]flow.Any, 0, len(v.store))
	for _, e := range v.ordered {
		if !e.removed {
			out = append(out, e.f)
		}
	}
	return out
}

// Removing --------------------------------------------------------------

// Remove takes flows out of the store and the view, killing those still
// running (mitmproxy's view.flows.remove).
func (v *View) Remove(flows ...flow.Any) {
	var evs events
	v.mu.Lock()
	for _, f := range flows {
		e, ok := v.store[f.Base().ID]
		if !ok {
			continue
		}
		if e.base.Killable() {
			_ = e.base.Kill()
		}
		if e.shown {
			v.hideLocked(e, &evs)
		}
		v.dropLocked(e)
		v.ev(&evs, StoreRemoved, e, -1)
	}
	v.maybeCompactLocked()
	v.mu.Unlock()
	v.deliver(evs)
}

// dropLocked takes e out of the store; maybeCompactLocked later takes it
// out of the arrival order.
func (v *View) dropLocked(e *entry) {
	delete(v.store, e.base.ID)
	e.removed = true
	v.nDead++
}

func (v *View) maybeCompactLocked() {
	if v.nDead > len(v.ordered)/2 {
		v.compactLocked()
	}
}

func (v *View) compactLocked() {
	if v.nDead == 0 {
		return
	}
	live := v.ordered[:0]
	for _, e := range v.ordered {
		if !e.removed {
			live = append(live, e)
		}
	}
	clear(v.ordered[len(live):])
	v.ordered, v.nDead = live, 0
}

// Clear empties the store and the view (view.clear).
func (v *View) Clear() {
	v.mu.Lock()
	v.store = map[string]*entry{}
	v.ordered, v.nDead = nil, 0
	v.list.clear()
	var evs events
	v.ev(&evs, Refreshed, nil, -1)
	v.refocusLocked(&evs)
	v.mu.Unlock()
	v.deliver(evs)
}

// ClearUnmarked removes the flows that are not marked (view.clear_unmarked).
func (v *View) ClearUnmarked() {
	v.mu.Lock()
	for _, e := range v.ordered {
		if !e.removed && !e.marked {
			v.dropLocked(e)
		}
	}
	evs := v.refilterLocked(false)
	v.mu.Unlock()
	v.deliver(evs)
}

// Focus ---------------------------------------------------------------------

// Focus returns the focused flow and its position, or nil and -1.
func (v *View) Focus() (flow.Any, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.focus == nil {
		return nil, -1
	}
	return v.focus.f, v.pos(v.list.index(v.focus, v.less))
}

// SetFocus focuses a flow of the view (nil clears the focus).
func (v *View) SetFocus(f flow.Any) error {
	var evs events
	v.mu.Lock()
	var e *entry
	if f != nil {
		var ok bool
		if e, ok = v.store[f.Base().ID]; !ok || !e.shown {
			v.mu.Unlock()
			return fmt.Errorf("Attempt to set focus to flow not in view")
		}
	}
	v.setFocusLocked(e, &evs)
	v.mu.Unlock()
	v.deliver(evs)
	return nil
}

// FocusIndex focuses the flow at position i of the view (mitmproxy's
// view.focus.go, which counts negative positions from the end and clamps).
func (v *View) FocusIndex(i int) {
	var evs events
	v.mu.Lock()
	n := v.list.len()
	if n > 0 {
		if i < 0 {
			i += n
		}
		i = min(max(i, 0), n-1)
		v.setFocusLocked(v.list.at(v.pos(i)), &evs)
	}
	v.mu.Unlock()
	v.deliver(evs)
}

// FocusNext and FocusPrev move the focus by one (view.focus.next/prev).
func (v *View) FocusNext() { v.moveFocus(1) }

// FocusPrev moves the focus to the previous flow.
func (v *View) FocusPrev() { v.moveFocus(-1) }

func (v *View) moveFocus(d int) {
	var evs events
	v.mu.Lock()
	if v.focus != nil {
		i := v.pos(v.list.index(v.focus, v.less)) + d
		if i >= 0 && i < v.list.len() {
			v.setFocusLocked(v.list.at(v.pos(i)), &evs)
		}
	}
	v.mu.Unlock()
	v.deliver(evs)
}

func (v *View) setFocusLocked(e *entry, evs *events) {
	if v.focus == e {
		return
	}
	v.focus = e
	idx := -1
	if e != nil {
		idx = v.pos(v.list.index(e, v.less))
	}
	v.ev(evs, FocusChanged, e, idx)
}

// refocusAfterRemoveLocked moves the focus off a flow that left the view:
// to the one now at its position, or the last.
func (v *View) refocusAfterRemoveLocked(idx int, evs *events) {
	n := v.list.len()
	if n == 0 {
		v.setFocusLocked(nil, evs)
		return
	}
	v.setFocusLocked(v.list.at(v.pos(min(idx, n-1))), evs)
}

// refocusLocked keeps the focus valid after the view was rebuilt: on the
// same flow if it is still shown, else on the nearest one.
func (v *View) refocusLocked(evs *events) {
	n := v.list.len()
	switch {
	case n == 0:
		v.setFocusLocked(nil, evs)
	case v.focus == nil:
		v.setFocusLocked(v.list.at(v.pos(0)), evs)
	case !v.focus.shown || v.focus.removed:
		// The flow that sorts right after it, or the last.
		i := v.list.rank(v.focus, v.less)
		v.setFocusLocked(v.list.at(min(i, n-1)), evs)
	}
}

// Settings ------------------------------------------------------------------

// Setting returns a per-flow setting (view.settings.getval).
func (v *View) Setting(f flow.Any, key, def string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.store[f.Base().ID]; ok {
		if s, ok := e.settings[key]; ok {
			return s
		}
	}
	return def
}

// SetSetting sets a per-flow setting; it goes with the flow when the flow
// leaves the store (view.settings.setval).
func (v *View) SetSetting(f flow.Any, key, value string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.store[f.Base().ID]
	if !ok {
		return false
	}
	if e.settings == nil {
		e.settings = map[string]string{}
	}
	e.settings[key] = value
	return true
}

// Resolving flow specifications ----------------------------------------------

// Resolve returns the flows a specification names (mitmproxy's
// view.flows.resolve): @all, @focus, @shown, @hidden, @marked, @unmarked,
// @<id>[,<id>...], or a filter expression matched against the store. A
// filter does not match flows in flight that are not intercepted (see the
// package documentation).
func (v *View) Resolve(spec string) ([]flow.Any, error) {
	var flt filter.Filter
	isFilter := !strings.HasPrefix(spec, "@") || !slices.Contains([]string{"@all", "@focus", "@shown", "@hidden", "@marked", "@unmarked"}, spec) && !isIDList(spec)
	if isFilter {
		var err error
		if flt, err = filter.Parse(spec); err != nil {
			return nil, err
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	out := []flow.Any{}
	pick := func(keep func(e *entry) bool) {
		for _, e := range v.ordered {
			if !e.removed && keep(e) {
				out = append(out, e.f)
			}
		}
	}
	switch {
	case spec == "@all":
		pick(func(*entry) bool { return true })
	case spec == "@focus":
		if v.focus != nil {
			out = append(out, v.focus.f)
		}
	case spec == "@shown":
		out = v.shownLocked()
	case spec == "@hidden":
		pick(func(e *entry) bool { return !e.shown })
	case spec == "@marked":
		pick(func(e *entry) bool { return e.marked })
	case spec == "@unmarked":
		pick(func(e *entry) bool { return !e.marked })
	case isFilter:
		pick(func(e *entry) bool { return e.readable() && flt.Match(e.f) })
	default:
		ids := strings.Split(spec[1:], ",")
		pick(func(e *entry) bool { return slices.Contains(ids, e.base.ID) })
	}
	return out, nil
}

// isIDList reports mitmproxy's "@" followed by flow ids (36 or more of
// [0-9a-f-,]).
func isIDList(spec string) bool {
	rest := spec[1:]
	if len(rest) < 36 {
		return false
	}
	for _, c := range rest[:36] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-' || c == ',') {
			return false
		}
	}
	return true
}

// Over reports whether f is in the store and past its last hook: the
// proxy no longer writes it (unlike a flow that is intercepted and
// waiting, which it will).
func (v *View) Over(f flow.Any) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.store[f.Base().ID]
	return ok && !e.inFlight
}

// Readable reports whether f may be read outside its own hooks now: it is
// over, or intercepted and waiting (see the package documentation).
func (v *View) Readable(f flow.Any) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.readableFlow(f)
}

// IfReadable calls fn, under the view's lock, when f may be read (as
// Readable), and reports whether it did: unlike Readable then EditFlows, no
// command can resume the flow between the check and the read. fn must not
// call the view.
func (v *View) IfReadable(f flow.Any, fn func()) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.readableFlow(f) {
		return false
	}
	fn()
	return true
}
