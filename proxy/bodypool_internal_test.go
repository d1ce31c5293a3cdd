package proxy

import "testing"

func TestBodyClass(t *testing.T) {
	tests := []struct {
		n    int64
		want int // class; -1: not pooled
	}{
		{0, -1},
		{minPooledBody - 1, -1},
		{minPooledBody, 0},
		{minPooledBody + 1, 1},
		{32 << 10, 1},
		{64 << 10, 2},
		{64<<10 + 1, 3},
		{maxPooledBody, bodyClasses - 1},
		{maxPooledBody + 1, -1},
	}
	for _, tt := range tests {
		if got := bodyClass(tt.n); got != tt.want {
			t.Errorf("bodyClass(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	var p bodyPool
	for _, tt := range tests {
		b := p.get(tt.n)
		capacity := -1
		if b != nil {
			capacity = cap(*b)
		}
		if (b == nil) != (tt.want < 0) || b != nil && capacity != minPooledBody<<tt.want {
			t.Errorf("get(%d) = buffer of capacity %d (-1: none)", tt.n, capacity)
		}
	}
	// A buffer of a foreign size is not taken.
	odd := make([]byte, 20<<10)
	p.put(&odd)
	if b := p.get(20 << 10); cap(*b) != 32<<10 {
		t.Errorf("put took a buffer of capacity %d", cap(odd))
	}
}
