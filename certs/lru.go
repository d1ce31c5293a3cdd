package certs

import (
	"container/list"
	"crypto/tls"
	"sync"
	"time"
)

// renewBefore is how long before its expiry a cached leaf is minted anew, so
// that a long-running proxy never hands out a leaf about to expire.
const renewBefore = 24 * time.Hour

// lru is a bounded least-recently-used cache of minted leaves.
type lru struct {
	mu    sync.Mutex
	max   int // <= 0: nothing is kept
	ll    *list.List
	items map[string]*list.Element
}

type lruEntry struct {
	key  string
	cert *tls.Certificate
}

func newLRU(max int) *lru {
	return &lru{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil
	}
	ent := e.Value.(*lruEntry)
	if time.Now().Add(renewBefore).After(ent.cert.Leaf.NotAfter) {
		c.ll.Remove(e)
		delete(c.items, key)
		return nil
	}
	c.ll.MoveToFront(e)
	return ent.cert
}

func (c *lru) add(key string, cert *tls.Certificate) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry).cert = cert
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&lruEntry{key: key, cert: cert})
	for c.ll.Len() > c.max {
		oldest := c.ll.Back()
		c.ll.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
