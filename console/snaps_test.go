package console

import (
	"testing"

	"github.com/mitmgo/mitmgo/flow"
)

func wsTexts(f flow.Any) []string {
	var out []string
	for _, m := range f.(*flow.HTTPFlow).WebSocket.Messages {
		out = append(out, string(m.Content))
	}
	return out
}

// TestSnapsShareMessages: the flow view's copy of a WebSocket flow at each
// hook shares the messages that did not change with the last copy, and is
// still a copy: later changes to the flow (a new message, a message's
// content replaced, the content's bytes) do not reach a copy taken before.
func TestSnapsShareMessages(t *testing.T) {
	s := &flowSnaps{}
	f := httpFlow(t, "GET", "http://example.com/ws", 101, "", t0)
	f.WebSocket = &flow.WebSocketData{}
	add := func(text string) {
		f.WebSocket.Messages = append(f.WebSocket.Messages, &flow.WebSocketMessage{Type: 1, Content: []byte(text)})
	}
	add("one")
	add("two")
	s.watch(f.ID)
	if !s.take(f) {
		t.Fatal("not watched")
	}
	c1 := s.get(f.ID)
	add("three")
	s.take(f)
	c2 := s.get(f.ID)
	m1, m2 := c1.(*flow.HTTPFlow).WebSocket.Messages, c2.(*flow.HTTPFlow).WebSocket.Messages
	if m1[0] != m2[0] || m1[1] != m2[1] {
		t.Error("the unchanged messages were copied again")
	}
	if m2[0] == f.WebSocket.Messages[0] {
		t.Error("the copy holds the flow's own message")
	}
	f.WebSocket.Messages[1].Content = []byte("TWO")
	f.WebSocket.Messages[0].Timestamp = 5
	add("four")
	s.take(f)
	c3 := s.get(f.ID)
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"first copy", wsTexts(c1), []string{"one", "two"}},
		{"second copy", wsTexts(c2), []string{"one", "two", "three"}},
		{"third copy", wsTexts(c3), []string{"one", "TWO", "three", "four"}},
	} {
		if len(tc.got) != len(tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
			continue
		}
		for i := range tc.got {
			if tc.got[i] != tc.want[i] {
				t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
				break
			}
		}
	}
	if c3.(*flow.HTTPFlow).WebSocket.Messages[0].Timestamp != 5 {
		t.Error("a message whose timestamp changed was shared")
	}
	f.WebSocket.Messages[2].Content[0] = 'X' // bytes the proxy wrote in place
	if wsTexts(c3)[2] != "three" {
		t.Error("a copy shares the flow's bytes")
	}
}

// TestSnapsStopOnLeave: leaving the flow view stops the copies taken at
// the flow's hooks.
func TestSnapsStopOnLeave(t *testing.T) {
	c, m := newTestConsole(t, 100, 20)
	f := httpFlow(t, "GET", "http://example.com/", 200, "x", t0)
	m.View.Add(f)
	m.View.FocusIndex(0)
	press(c, "enter")
	_ = screen(c)
	if !c.st.snaps.take(f) {
		t.Fatal("the flow shown is not copied")
	}
	press(c, "q")
	_ = screen(c)
	if c.st.snaps.take(f) || c.st.snaps.get(f.ID) != nil {
		t.Error("the flow is still copied after leaving the flow view")
	}
}
