package proxy

import (
	"math/bits"
	"sync"
)

// Large bodies are read into buffers that are used again for later flows:
// allocating (and zeroing) a fresh 64 KiB buffer for every response, and
// collecting it afterwards, cost the proxy about a third of its CPU time per
// request with 64 KiB bodies. A buffer goes back only when no addon may
// still hold the flow it belonged to (addon.FlowKeeper).
const (
	minPooledBody = 16 << 10 // smaller bodies are cheap to allocate
	maxPooledBody = 1 << 20  // larger ones are rare: not worth holding
	bodyClasses   = 7        // 16 KiB, 32 KiB, ... 1 MiB
)

// bodyPool holds body buffers by size class: class i has capacity
// minPooledBody<<i. sync.Pool drops what is not used across garbage
// collections, so an idle proxy holds none.
type bodyPool struct {
	classes [bodyClasses]sync.Pool
}

// bodyClass is the class for a body of n bytes, or -1.
func bodyClass(n int64) int {
	if n < minPooledBody || n > maxPooledBody {
		return -1
	}
	return bits.Len64(uint64(n-1)) - bits.Len64(minPooledBody-1)
}

// get returns a buffer with room for n bytes, or nil when bodies of that
// size are not pooled.
func (p *bodyPool) get(n int64) *[]byte {
	c := bodyClass(n)
	if c < 0 {
		return nil
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, minPooledBody<<c)
	return &b
}

// put gives a buffer from get back.
func (p *bodyPool) put(b *[]byte) {
	if c := bodyClass(int64(cap(*b))); c >= 0 && cap(*b) == minPooledBody<<c {
		p.classes[c].Put(b)
	}
}
