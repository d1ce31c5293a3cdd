package proxy_test

import (
	"bytes"
	"fmt"
	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/flowfile"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/internal/testutil"
	"github.com/mitmgo/mitmgo/internal/websocket"
)

// wsScenario is a WebSocket conversation the end-to-end tests hold through
// a proxy, with an origin that plays along.
type wsScenario struct {
	name string
	// ext is what the origin agrees to of permessage-deflate ("": none).
	ext    string
	origin func(o *wsOrigin, p *wsPeer) // nil: echo
	client func(t *testing.T, c *wsPeer)
	// done is what mitmdump prints last.
	done string
}

var wsScenarios = []wsScenario{
	{
		name: "client closes",
		client: func(t *testing.T, c *wsPeer) {
			c.text(t, "hello websocket")
			if ev := c.next(t); string(ev.Payload) != "hello websocket" {
				t.Fatalf("echo: %s", ev)
			}
			c.w.WriteMessage(websocket.OpBinary, []byte{0, 1, 2, 0xff}, nil)
			if ev := c.next(t); ev.Opcode != websocket.OpBinary {
				t.Fatalf("echo: %s", ev)
			}
			c.w.WriteControl(websocket.OpPing, []byte("hi"))
			if ev := c.next(t); ev.Opcode != websocket.OpPong {
				t.Fatalf("pong: %s", ev)
			}
			c.w.WriteClose(1000, "bye")
			if ev := c.next(t); ev.Opcode != websocket.OpClose {
				t.Fatalf("close: %s", ev)
			}
		},
		done: "WebSocket connection closed by client",
	},
	{
		name: "server closes 1001, compressed",
		ext:  "permessage-deflate",
		origin: func(o *wsOrigin, p *wsPeer) {
			ev, err := p.r.Next()
			if err != nil {
				return
			}
			p.w.WriteMessage(ev.Opcode, ev.Payload, nil)
			p.w.WriteClose(1001, "going away")
			p.r.Next()
		},
		client: func(t *testing.T, c *wsPeer) {
			c.text(t, "compress me")
			c.next(t)
			c.next(t)
		},
		done: "WebSocket connection closed by server",
	},
	{
		name: "server closes 4000",
		origin: func(o *wsOrigin, p *wsPeer) {
			p.r.Next()
			p.w.WriteClose(4000, "custom")
			p.r.Next()
		},
		client: func(t *testing.T, c *wsPeer) {
			c.text(t, "x")
			c.next(t)
		},
		done: "Error in WebSocket connection",
	},
	{
		name: "client vanishes",
		client: func(t *testing.T, c *wsPeer) {
			c.text(t, "hello")
			c.next(t)
			c.conn.Close()
		},
		done: "Error in WebSocket connection",
	},
	{
		name: "client breaks the protocol",
		client: func(t *testing.T, c *wsPeer) {
			c.conn.Write(websocket.AppendFrame(nil, websocket.Header{Fin: true, Opcode: websocket.OpText}, []byte("unmasked")))
			c.next(t)
		},
		done: "Error in WebSocket connection",
	},
}

func (sc *wsScenario) run(t *testing.T, addr string, o *wsOrigin) {
	t.Helper()
	offer := ""
	if sc.ext != "" {
		offer = "permessage-deflate"
	}
	c, _ := wsDial(t, addr, o, false, nil, "/chat", offer)
	sc.client(t, c)
}

// startDebianMitmdump runs Debian's mitmdump (mitmproxy 8.1.1) with args on
// 127.0.0.1, or skips the test when it is not installed. It returns its
// address, its output so far and a function that stops it and returns all
// its output.
func startDebianMitmdump(t *testing.T, args ...string) (string, *testutil.SyncBuffer, func() string) {
	t.Helper()
	bin, err := exec.LookPath("mitmdump")
	if err != nil {
		t.Skip("mitmdump (Debian's mitmproxy 8.1.1) is not installed")
	}
	addr := testutil.UnusedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, append([]string{"--listen-host", "127.0.0.1", "-p", port, "--set", "confdir=" + t.TempDir()}, args...)...)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
		return out.String()
	}
	t.Cleanup(func() { stop() })
	if !testutil.Poll(30*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("mitmproxy 8.1.1 did not start listening:\n%s", out.String())
	}
	return addr, out, stop
}

var (
	addrRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	// logRe is a log line as mitmgo prints it, mitmproxy 12's way; 8.1.1
	// printed "client: message".
	logRe = regexp.MustCompile(`^\[\d\d:\d\d:\d\d\.\d{3}\]\[(CLIENT)\] `)
	// hexRe is a line of the hex view, which mitmproxy 12 (and mitmgo)
	// print differently from 8.1.1.
	hexRe = regexp.MustCompile(`^    (0000:   |[0-9a-f]{10} )`)
)

// wsLines are the lines of a mitmdump output from the first one about the
// handshake on, made comparable: the origin's address is ORIGIN, any other
// (the client's) CLIENT; log lines in 8.1.1's form; no hex views, no
// connection logs (those come in whatever order the connections close).
func wsLines(out, origin string) []string {
	out = strings.ReplaceAll(out, origin, "ORIGIN")
	out = addrRe.ReplaceAllString(out, "CLIENT")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		if strings.Contains(l, "GET http://ORIGIN/chat") {
			lines = lines[i:]
			break
		}
	}
	var keep []string
	for _, l := range lines {
		l = logRe.ReplaceAllString(l, "$1: ")
		if strings.Contains(l, "client disconnect") || strings.Contains(l, "server disconnect") ||
			strings.Contains(l, "client connect") || strings.Contains(l, "server connect") || hexRe.MatchString(l) {
			continue
		}
		keep = append(keep, l)
	}
	return keep
}

// TestWebSocketDumperLikeMitmproxy811 holds the same WebSocket
// conversations through mitmdump and through Debian's mitmdump (mitmproxy
// 8.1.1) and compares what they print, line for line (but for the log
// lines' prefix and the hex view, which mitmproxy 12 changed), at
// flow_detail 1, and 3 for the first.
func TestWebSocketDumperLikeMitmproxy811(t *testing.T) {
	for i, sc := range wsScenarios {
		details := []string{"1"}
		if i == 0 {
			details = append(details, "3")
		}
		for _, detail := range details {
			t.Run(sc.name+"/flow_detail="+detail, func(t *testing.T) {
				o := startWSOrigin(t, false, sc.ext, sc.origin)
				origin := o.hostPort()
				debAddr, debOut, stop := startDebianMitmdump(t, "--flow-detail", detail)
				sc.run(t, debAddr, o)
				testutil.Eventually(t, 10*time.Second, func() bool { return strings.Contains(debOut.String(), sc.done) },
					"mitmproxy 8.1.1 did not print %q:\n%s", sc.done, debOut)
				want := wsLines(stop(), origin)

				md := testutil.StartMitmdump(t, "--flow-detail", detail)
				sc.run(t, md.Addr, o)
				md.WaitOutput(t, sc.done, 10*time.Second)
				md.Stop(t)
				got := wsLines(md.Output(), origin)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("mitmgo printed:\n%s\n\nmitmproxy 8.1.1 printed:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

// TestWebSocketDumperLines: mitmdump prints each message and how the
// connection ended as mitmproxy does: a clean close (1000, 1001, 1005)
// says who closed it, with the reason (none here: the line ends in a
// space); no error line.
func TestWebSocketDumperLines(t *testing.T) {
	o := startWSOrigin(t, false, "", nil)
	md := testutil.StartMitmdump(t)
	c, _ := wsDial(t, md.Addr, o, false, nil, "/chat", "")
	c.text(t, "hi")
	c.next(t)
	c.w.WriteClose(1000, "")
	c.next(t)
	md.WaitOutput(t, "WebSocket connection closed by client: 1000 \n", 10*time.Second)
	md.Stop(t)
	out := md.Output()
	// The client as the proxy names it: this connection's own address
	// (the first "client connect" line may be another connection's, the
	// start-up check's).
	client := c.conn.LocalAddr().String()
	for _, want := range []string{
		client + " -> WebSocket text message -> " + o.hostPort() + "/chat\n",
		client + " <- WebSocket text message <- " + o.hostPort() + "/chat\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Error in WebSocket") {
		t.Errorf("an error line for a clean close:\n%s", out)
	}
}

// TestWebSocketFlowFile: mitmdump -w keeps a WebSocket flow's messages and
// close, in format 21 and 17; mitmdump -r replays them (websocket_start,
// each message, websocket_end: the dumper prints them as live), and
// Debian's mitmproxy 8.1.1 reads the format 17 file and prints the same
// (skipped when it is not installed).
func TestWebSocketFlowFile(t *testing.T) {
	o := startWSOrigin(t, false, "permessage-deflate", nil)
	dir := t.TempDir()
	for _, version := range []string{"21", "17"} {
		t.Run("v"+version, func(t *testing.T) {
			out := filepath.Join(dir, "flows"+version)
			md := testutil.StartMitmdump(t, "-w", out, "--set", "save_stream_version="+version)
			sc := wsScenarios[0]
			sc.ext = "permessage-deflate"
			sc.run(t, md.Addr, o)
			md.WaitOutput(t, sc.done, 10*time.Second)
			if code := md.Stop(t); code != 0 {
				t.Fatalf("mitmdump exited with %d", code)
			}
			live := wsLines(md.Output(), o.hostPort())

			// The file, read back (the reader brings it to format 21).
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if v := "7:version;2:" + version + "#"; !strings.Contains(string(raw), v) {
				t.Fatalf("no %q in the file", v)
			}
			d, err := flowfile.NewReader(bytes.NewReader(raw)).Next()
			if err != nil {
				t.Fatal(err)
			}
			if version == "21" {
				v, err := flow.FromState(d)
				if err != nil {
					t.Fatal(err)
				}
				ws := v.(*flow.HTTPFlow).WebSocket
				var got []string
				for _, m := range ws.Messages {
					got = append(got, fmt.Sprintf("%d %v %q", m.Type, m.FromClient, m.Content))
				}
				want := []string{`1 true "hello websocket"`, `1 false "hello websocket"`, `2 true "\x00\x01\x02\xff"`, `2 false "\x00\x01\x02\xff"`}
				if fmt.Sprint(got) != fmt.Sprint(want) || ws.ClosedByClient == nil || !*ws.ClosedByClient || ws.CloseCode != 1000 ||
					ws.CloseReason != "bye" || ws.TimestampEnd == 0 {
					t.Fatalf("read back: %q, %+v", got, ws)
				}
			}

			// mitmdump -r prints what it printed live (but the logs of
			// pings and pongs, which the file does not keep).
			rd := testutil.StartMitmdumpWith(t, testutil.Options{NoListen: true}, "-n", "-r", out)
			if code := rd.Wait(t, 20*time.Second); code != 0 {
				t.Fatalf("mitmdump -r exited with %d:\n%s", code, rd.Output())
			}
			replayed := wsLines(rd.Output(), o.hostPort())
			var wantReplay []string
			for _, l := range live {
				if !strings.Contains(l, "Received WebSocket") {
					wantReplay = append(wantReplay, l)
				}
			}
			if fmt.Sprint(replayed) != fmt.Sprint(wantReplay) {
				t.Errorf("mitmdump -r printed:\n%s\nlive:\n%s", strings.Join(replayed, "\n"), strings.Join(wantReplay, "\n"))
			}
			if version != "17" {
				return
			}
			debian, err := exec.LookPath("mitmdump")
			if err != nil {
				t.Skip("mitmdump (Debian's mitmproxy 8.1.1) is not installed")
			}
			got, err := exec.Command(debian, "-n", "-r", out, "--set", "confdir="+t.TempDir()).CombinedOutput()
			if err != nil {
				t.Fatalf("mitmproxy 8.1.1 could not read the file: %v\n%s", err, got)
			}
			if deb := wsLines(string(got), o.hostPort()); fmt.Sprint(deb) != fmt.Sprint(wantReplay) {
				t.Errorf("mitmproxy 8.1.1 -r printed:\n%s\nwant:\n%s", strings.Join(deb, "\n"), strings.Join(wantReplay, "\n"))
			}
		})
	}
}
