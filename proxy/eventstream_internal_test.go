package proxy

import "testing"

// isEventStreamType is the full rule (the media type before any
// parameters, trimmed, is text/event-stream); notEventStream must agree
// with it wherever it rules a type out.
func TestEventStreamType(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		want bool
	}{
		{"text/event-stream", true},
		{"Text/Event-Stream; charset=utf-8", true},
		{" \ttext/event-stream ;x=y", true},
		{"\vtext/event-stream\r", true},
		{"text/event-stream2", false},
		{"text/event-streamx; charset=utf-8", false},
		{"text/plain; charset=utf-8", false},
		{"application/json", false},
		{"", false},
		{"text/event-strea", false},
		{"\u00a0text/event-stream", true},   // TrimSpace trims U+00A0
		{"text/event-\u017ftream", true},    // EqualFold folds ſ to s
		{"text/event-stream\u00a0;a", true}, // trailing Unicode space
		{";text/event-stream", false},
	} {
		if got := !notEventStream(tc.ct) && isEventStreamType(tc.ct); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.ct, got, tc.want)
		}
		if spec := isEventStreamType(tc.ct); spec != tc.want {
			t.Errorf("%q: the table says %v, the rule %v", tc.ct, tc.want, spec)
		}
	}
}

// FuzzNotEventStream checks that the quick look never rules out a
// Content-Type the full rule accepts.
func FuzzNotEventStream(f *testing.F) {
	for _, s := range []string{"text/event-stream", " TEXT/EVENT-STREAM;a", "text/html", "\u00a0text/event-stream", "text/event-\u017ftream", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		spec := isEventStreamType(ct)
		if notEventStream(ct) && spec {
			t.Fatalf("%q: ruled out, but it is text/event-stream", ct)
		}
		if got := !notEventStream(ct) && isEventStreamType(ct); got != spec {
			t.Fatalf("%q: %v, the rule says %v", ct, got, spec)
		}
	})
}
