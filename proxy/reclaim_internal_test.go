package proxy

import (
	"testing"
	"time"
)

func TestReclaimer(t *testing.T) {
	var r reclaimer
	t0 := time.Unix(1000, 0)
	for n := 1; n <= 1000; n++ {
		r.opened(n)
	}
	if r.closed(999, t0) || r.closed(251, t0) {
		t.Fatal("reclaimed while most connections were still open")
	}
	if !r.closed(250, t0) {
		t.Fatal("not reclaimed at a quarter of the peak")
	}
	if r.closed(0, t0.Add(time.Second)) {
		t.Fatal("reclaimed again within reclaimEvery, and without a new peak")
	}
	for n := 1; n <= 300; n++ {
		r.opened(n)
	}
	if !r.closed(10, t0.Add(reclaimEvery)) {
		t.Fatal("not reclaimed after a second burst")
	}
	var small reclaimer
	for n := 1; n <= 100; n++ {
		small.opened(n)
	}
	if small.closed(0, t0) {
		t.Fatal("reclaimed after a burst too small to matter")
	}
}
