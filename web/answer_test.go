package web

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo/internal/testutil"
)

// TestAnswerErrorAfterStart: a handler's error is its answer while nothing
// was written; once the header or part of the body went, the status can no
// longer change, so the error is logged and the connection dropped: the
// client never gets a second status line (net/http's "superfluous
// WriteHeader") or the error's text appended to the body as if it were
// part of it, compressed or not.
func TestAnswerErrorAfterStart(t *testing.T) {
	big := strings.Repeat("flow file bytes ", 8192) // past net/http's buffer: the header goes
	for _, tc := range []struct {
		name string
		h    handler
		gzip bool
		// status and body of an answer that is whole; 0 when the
		// client must see the answer cut short.
		status int
		body   string
	}{
		{name: "error first", h: func(w http.ResponseWriter, r *http.Request) error {
			return errorf(400, "Invalid filter argument / regex")
		}, status: 400, body: "Invalid filter argument / regex"},
		{name: "small body, then error", h: func(w http.ResponseWriter, r *http.Request) error {
			_, _ = io.WriteString(w, "partial")
			return errorf(400, "too late")
		}},
		{name: "header, then error", h: func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusAccepted)
			return errorf(400, "too late")
		}},
		{name: "large body, then error", h: func(w http.ResponseWriter, r *http.Request) error {
			_, _ = io.WriteString(w, big)
			return io.ErrUnexpectedEOF
		}},
		{name: "large body compressed, then error", gzip: true, h: func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = io.WriteString(w, big)
			return io.ErrUnexpectedEOF
		}},
		{name: "flushed, then error", h: func(w http.ResponseWriter, r *http.Request) error {
			w.(http.Flusher).Flush()
			return errorf(400, "too late")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs, serverLog testutil.SyncBuffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
			hf := s.answer(tc.h)
			if tc.gzip {
				hf = gzipped(hf)
			}
			srv := httptest.NewUnstartedServer(hf)
			srv.Config.ErrorLog = log.New(&serverLog, "", 0)
			srv.Start()
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL, nil)
			if tc.gzip {
				req.Header.Set("Accept-Encoding", "gzip") // the client does not decode it then
			}
			resp, err := srv.Client().Do(req)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			switch {
			case tc.status != 0:
				if err != nil || resp.StatusCode != tc.status || string(body) != tc.body {
					t.Errorf("answer: %v %v %q; want %d %q", resp, err, body, tc.status, tc.body)
				}
			case err == nil:
				t.Errorf("the client got a whole answer: %d %q...", resp.StatusCode, body[:min(len(body), 80)])
			}
			if strings.Contains(string(body), "too late") {
				t.Errorf("the error's text is in the body")
			}
			srv.Close() // the handler has returned: its log is complete
			if l := serverLog.String(); strings.Contains(l, "superfluous") {
				t.Errorf("net/http: %s", l)
			}
			if logged := strings.Contains(logs.String(), "after the answer started"); logged != (tc.status == 0) {
				t.Errorf("logged %v: %s", logged, logs.String())
			}
		})
	}
}

// TestAnswerWriterPassesOn: the wrapper keeps what GET /updates and
// ResponseController need: Hijack hands the connection over.
func TestAnswerWriterPassesOn(t *testing.T) {
	s := &Server{}
	srv := httptest.NewServer(s.answer(func(w http.ResponseWriter, r *http.Request) error {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		return brw.Flush()
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hijacked" {
		t.Errorf("body %q", b)
	}
}
