package proxy_test

import (
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmgo/mitmgo/flow"
	"github.com/mitmgo/mitmgo/internal/testutil"
)

// tcpInjectScript injects a message each way when the client says
// "inject me", with mitmproxy's inject.tcp command.
const tcpInjectScript = `from mitmproxy import ctx, tcp


def tcp_message(flow: tcp.TCPFlow):
    m = flow.messages[-1]
    if m.from_client and m.content.startswith(b"\x00inject me"):
        ctx.master.commands.call("inject.tcp", flow, True, b"injected to client\n")
        ctx.master.commands.call("inject.tcp", flow, False, b"injected to server\n")
`

// tcpInjectConversation sends "inject me" through the proxy at addr to the
// line-echo origin and reads the three lines that come back: the injected
// one, and the echoes of what the client and the script sent.
func tcpInjectConversation(t *testing.T, addr, origin string) {
	t.Helper()
	c, br, _ := testutil.ConnectTunnel(t, addr, origin)
	io.WriteString(c, "\x00inject me\n")
	var got []string
	for range 3 {
		got = append(got, readLine(t, br))
	}
	slices.Sort(got)
	if want := []string{"echo \x00inject me\n", "echo injected to server\n", "injected to client\n"}; !slices.Equal(got, want) {
		t.Fatalf("client got %q, want %q", got, want)
	}
	c.Close()
}

// tcpContentLines are the message contents of a mitmdump output at
// flow_detail 3 (the lines indented by four spaces), sorted, with the NUL
// byte as mitmproxy 8.1.1 shows it, and the number of client messages.
func tcpContentLines(out string) ([]string, int) {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "    ") {
			lines = append(lines, strings.Replace(strings.TrimSpace(l), `\x00`, ".", 1))
		}
	}
	slices.Sort(lines)
	return lines, strings.Count(out, " -> tcp -> ")
}

// TestInjectTCPScript: a script's inject.tcp through the real mitmdump:
// both messages arrive, the dumper prints them as mitmproxy 8.1.1 does
// (the same contents, each injected message on its own line), and the -w
// file keeps them, in format 21 (read back here) and 17, which mitmproxy
// 8.1.1 reads and prints (skipped when it is not installed).
func TestInjectTCPScript(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (-short)")
	}
	dir := scriptDir(t, map[string]string{"inject.py": tcpInjectScript})
	script := filepath.Join(dir, "inject.py")
	origin := lineEcho(t)
	var outputs = map[string]string{}
	for _, version := range []string{"21", "17"} {
		file := filepath.Join(dir, "flows"+version)
		md := testutil.StartMitmdump(t, "-s", script, "--flow-detail", "3", "-w", file, "--set", "save_stream_version="+version)
		tcpInjectConversation(t, md.Addr, origin.Addr)
		md.WaitOutput(t, "client disconnect", 10*time.Second)
		if code := md.Stop(t); code != 0 {
			t.Fatalf("mitmdump exited with %d:\n%s", code, md.Output())
		}
		outputs[version] = md.Output()
		if version != "21" {
			continue
		}
		flows := readFlowFile(t, file)
		if len(flows) == 0 {
			t.Fatal("no flow in the file")
		}
		var got []string
		for _, m := range flows[0].(*flow.TCPFlow).Messages {
			got = append(got, describeTCPMessage(m))
		}
		// The echoes may come in one piece or two.
		joined := strings.Join(got, "\n")
		for _, want := range []string{`-> "\x00inject me\n"`, `<- "injected to client\n"`, `-> "injected to server\n"`} {
			if !strings.Contains(joined, want) {
				t.Errorf("no %s in the file's messages:\n%s", want, joined)
			}
		}
	}
	gotLines, gotClient := tcpContentLines(outputs["21"])
	wantLines := []string{".inject me", "echo .inject me", "echo injected to server", "injected to client", "injected to server"}
	if !slices.Equal(gotLines, wantLines) || gotClient != 2 {
		t.Errorf("mitmdump printed %q (%d client messages), want %q:\n%s", gotLines, gotClient, wantLines, outputs["21"])
	}

	// mitmproxy 8.1.1, live and reading the format 17 file.
	if _, err := exec.LookPath("mitmdump"); err != nil {
		t.Skip("mitmdump (Debian's mitmproxy 8.1.1) is not installed")
	}
	debAddr, debOut, stop := startDebianMitmdump(t, "-s", script, "--flow-detail", "3")
	tcpInjectConversation(t, debAddr, origin.Addr)
	testutil.Eventually(t, 10*time.Second, func() bool { return strings.Contains(debOut.String(), "client disconnect") },
		"mitmproxy 8.1.1 did not print the disconnect:\n%s", debOut)
	theirs := stop()
	if lines, client := tcpContentLines(theirs); !slices.Equal(lines, gotLines) || client != gotClient {
		t.Errorf("mitmproxy 8.1.1 printed %q (%d client messages), mitmgo %q", lines, client, gotLines)
	}
	cmd := exec.Command("mitmdump", "-n", "-r", filepath.Join(dir, "flows17"), "--flow-detail", "3", "--set", "confdir="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mitmproxy 8.1.1 -r: %v\n%s", err, out)
	}
	if lines, client := tcpContentLines(string(out)); !slices.Equal(lines, gotLines) || client != gotClient {
		t.Errorf("mitmproxy 8.1.1 read %q (%d client messages) from the file, want %q:\n%s", lines, client, gotLines, out)
	}
}
