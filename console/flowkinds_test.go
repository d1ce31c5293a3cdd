package console

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/flow"
)

// otherFlows are a WebSocket, a TCP and a DNS flow.
func otherFlows(t testing.TB) []flow.Any {
	ws := httpFlow(t, "GET", "http://example.com/socket", 101, "", t0)
	ws.WebSocket = &flow.WebSocketData{Messages: []*flow.WebSocketMessage{
		{Type: flow.WebSocketText, FromClient: true, Content: []byte("hello"), Timestamp: t0 + 1},
		{Type: flow.WebSocketText, FromClient: false, Content: []byte(`{"reply": 1}`), Timestamp: t0 + 2},
	}}
	cl := flow.NewClient(flow.Address{Host: "127.0.0.1", Port: 50001}, flow.Address{Host: "127.0.0.1", Port: 8080}, "regular")
	cl.TimestampStart = t0 + 3
	tcp := flow.NewTCPFlow(cl, flow.NewServer(flow.Address{Host: "10.0.0.1", Port: 25}))
	tcp.Messages = []*flow.TCPMessage{
		{FromClient: false, Content: []byte("220 mail ready\r\n"), Timestamp: t0 + 3.1},
		{FromClient: true, Content: []byte("HELO me\r\n"), Timestamp: t0 + 3.2},
	}
	tcp.TimestampCreated = t0 + 3
	tcp.SetLive(false)
	dns := flow.NewDNSFlow(cl, flow.NewServer(flow.Address{Host: "8.8.8.8", Port: 53}))
	dns.Request = &flow.DNSMessage{ID: 1, Query: true, RecursionDesired: true,
		Questions: []flow.DNSQuestion{{Name: "example.com", Type: 1, Class: 1}}, Timestamp: t0 + 4}
	resp := dns.Request.Succeed([]flow.DNSResourceRecord{flow.DNSRecordA("example.com", netip.MustParseAddr("93.184.216.34"), 60)})
	resp.Timestamp = t0 + 4.02
	dns.Response = resp
	dns.TimestampCreated = t0 + 4
	dns.SetLive(false)
	return []flow.Any{ws, tcp, dns}
}

func TestGoldenFlowKinds(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		keys []string
	}{
		{"kinds_table", 120, 8, nil},
		{"kinds_list", 80, 10, nil},
		{"websocket_messages", 100, 12, []string{"enter", "tab", "tab"}},
		{"tcp_stream", 100, 12, []string{"j", "enter"}},
		{"dns_response", 100, 22, []string{"j", "j", "enter", "tab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m := newTestConsole(t, tt.w, tt.h)
			m.View.Add(otherFlows(t)...)
			m.View.FocusIndex(0)
			c.app.Update(refreshMsg{})
			press(c, tt.keys...)
			checkScreen(t, tt.name, c.app.View(), tt.w, tt.h)
		})
	}
}

// TestFlowViewMode picks a content view with m (console.flowview.mode.set,
// a per-flow and per-tab view setting).
func TestFlowViewMode(t *testing.T) {
	c, m := newTestConsole(t, 100, 30)
	m.View.Add(sampleFlows(t)...)
	m.View.FocusIndex(0)
	press(c, "enter", "tab", "m")
	ch, ok := c.app.Top().(*chooser)
	if !ok {
		t.Fatalf("top is %T (%s)", c.app.Top(), statusOf(c))
	}
	for ch.choices[ch.idx] != "hex dump" && ch.choices[ch.idx] != "hexdump" {
		if ch.idx == len(ch.choices)-1 {
			t.Fatalf("no hex view in %v", ch.choices)
		}
		press(c, "j")
	}
	press(c, "enter")
	if got := m.View.Setting(c.st.Focus(), "flowview_mode_1", ""); !strings.HasPrefix(got, "hex") {
		t.Errorf("setting %q (%s)", got, statusOf(c))
	}
	if s := screen(c); !strings.Contains(s, "[m:hex") {
		t.Errorf("screen:\n%s", s)
	}
	if v, err := m.Commands.Execute("console.flowview.mode"); err != nil || !strings.HasPrefix(v.(string), "hex") {
		t.Errorf("console.flowview.mode: %v %v", v, err)
	}
	press(c, "q")
	if _, err := m.Commands.Execute("console.flowview.mode"); err == nil {
		t.Error("console.flowview.mode outside a flow view")
	}
}

var _ = mitmgo.Config{}
