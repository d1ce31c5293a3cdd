package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/mitmgo/mitmgo/internal/websocket"
)

// updatesReader is a WebSocket client of the target's /updates in the
// harness: it records when each flow with its response arrives, on the
// harness's clock, independently of the browser (whose main thread also
// runs the UI, and so delays a WebSocket handler in the page when the UI
// is busy).
type updatesReader struct {
	conn net.Conn
	mu   sync.Mutex
	at   map[int]time.Time
	done chan struct{}
}

// respPathRe finds the request path of a flow message that has a response
// (cheaper than decoding every message; checked with a decode when it
// matches).
var respPathRe = regexp.MustCompile(`"path":\s*"` + regexp.QuoteMeta("/wb/") + `(\d+)"`)

// dialUpdates opens /updates on the target's web server.
func dialUpdates(t *target) (*updatesReader, error) {
	u, err := url.Parse(t.web)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	path := "/updates"
	if t.token != "" {
		path += "?token=" + t.token
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n", path, u.Host, base64.StdEncoding.EncodeToString(key), t.web)
	if t.token != "" {
		req += "Authorization: Bearer " + t.token + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 1<<16)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("/updates: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("/updates: %s", resp.Status)
	}
	_ = conn.SetReadDeadline(time.Time{})
	r := &updatesReader{conn: conn, at: map[int]time.Time{}, done: make(chan struct{})}
	go r.read(websocket.NewReader(br, websocket.Client, nil))
	return r, nil
}

func (r *updatesReader) read(rd *websocket.Reader) {
	defer close(r.done)
	for {
		ev, err := rd.Next()
		if err != nil {
			return
		}
		now := time.Now()
		if ev.Opcode != websocket.OpText {
			continue
		}
		m := respPathRe.FindSubmatch(ev.Payload)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		r.mu.Lock()
		_, seen := r.at[n]
		r.mu.Unlock()
		if seen || !hasResponse(ev.Payload) {
			continue
		}
		r.mu.Lock()
		r.at[n] = now
		r.mu.Unlock()
	}
}

// hasResponse reports whether a flows/add or flows/update message
// (mitmproxy 12's {"type", "payload": {"flow"}} or 8.1.1's {"resource",
// "cmd", "data"}) carries a flow with a response.
func hasResponse(b []byte) bool {
	var m struct {
		Type    string `json:"type"`
		Payload struct {
			Flow struct {
				Response json.RawMessage `json:"response"`
			} `json:"flow"`
		} `json:"payload"`
		Resource string `json:"resource"`
		Data     struct {
			Response json.RawMessage `json:"response"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	ok := func(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }
	return ok(m.Payload.Flow.Response) || ok(m.Data.Response)
}

// arrivals returns what was recorded so far, by flow number.
func (r *updatesReader) arrivals() map[int]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int]time.Time, len(r.at))
	for k, v := range r.at {
		out[k] = v
	}
	return out
}

func (r *updatesReader) close() {
	r.conn.Close()
	<-r.done
}
