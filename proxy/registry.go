package proxy

import (
	"sync"

	"github.com/mitmgo/mitmgo/flow"
)

// connRegistry finds the live connections of one kind (WebSocket
// connections, TCP flows) by the ID of their client connection, for
// injection.
type connRegistry[C comparable] struct {
	mu sync.Mutex
	m  map[string]C
}

// live returns the connection of client, or ErrNotLive when it has none.
func (r *connRegistry[C]) live(client *flow.Client) (C, error) {
	var none C
	if client == nil {
		return none, ErrNotLive
	}
	r.mu.Lock()
	c := r.m[client.ID]
	r.mu.Unlock()
	if c == none {
		return none, ErrNotLive
	}
	return c, nil
}

func (r *connRegistry[C]) add(id string, c C) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]C{}
	}
	r.m[id] = c
}

// remove forgets c, unless another connection took its place since.
func (r *connRegistry[C]) remove(id string, c C) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[id] == c {
		delete(r.m, id)
	}
}
