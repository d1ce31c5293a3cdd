package flow

import (
	"bytes"
	"sync"
	"testing"
)

// TestBodyProgressWhileStreaming: readers copy what was published while
// the writer appends to the same buffer past it (checked by -race), see
// a prefix of the body each time, and nothing once it is finished, when
// the buffer belongs to the flow and may be changed in place.
func TestBodyProgressWhileStreaming(t *testing.T) {
	f := &HTTPFlow{}
	if f.StreamProgress(true) != nil || f.StreamProgress(false) != nil {
		t.Fatal("a new flow streams nothing")
	}
	p := new(BodyProgress)
	f.SetStreamProgress(true, p)
	want := bytes.Repeat([]byte("0123456789"), 1000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, n, ok := f.StreamProgress(true).Snapshot()
				if !ok {
					continue
				}
				if int64(len(c)) != n || !bytes.HasPrefix(want, c) {
					t.Errorf("snapshot of %d bytes (%d passed) is not a prefix", len(c), n)
					return
				}
			}
		}()
	}
	var kept []byte
	for i := 0; i < len(want); i += 7 {
		piece := want[i:min(i+7, len(want))]
		kept = append(kept, piece...)
		p.Publish(int64(len(kept)), kept)
	}
	p.Finish()
	kept[0] = 'x' // the flow's now: a hook may change it in place
	close(stop)
	wg.Wait()
	if c, n, ok := p.Snapshot(); ok || c != nil || n != int64(len(want)) {
		t.Errorf("after Finish: %d bytes, %d passed, %v", len(c), n, ok)
	}
	if _, _, streaming := p.Passed(); streaming {
		t.Error("still streaming after Finish")
	}
	var none *BodyProgress
	none.Publish(1, nil)
	none.Finish()
	if _, _, ok := none.Snapshot(); ok {
		t.Error("nil progress streams")
	}
	if c := f.Copy(); c.StreamProgress(true) != nil {
		t.Error("a copy shares the progress")
	}
}
