package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelpPlaceholders: --help shows mitmproxy's placeholders for the
// values of flags, not words picked out of the help text.
func TestHelpPlaceholders(t *testing.T) {
	code, _, stderr := runCLI("--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{
		"\n  --listen-host HOST ", "\n  -p, --listen-port PORT\n", "\n  -r, --rfile PATH ", "\n  -s, --scripts SCRIPT ",
		"\n  --set option[=value] ", "\n  --commands ", "\n  --upstream-auth USER:PASS\n", "\n  -M, --map-remote PATTERN\n",
		"\n  -k, --ssl-insecure ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, bad := range []string{"--listen-host mode", "--listen-port mode", "stringArray", "[=true|false]", " string ", "--web-debug", "--no-console-mouse"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("--help shows %q:\n%s", bad, stderr)
		}
	}
	for _, line := range strings.Split(stderr, "\n") {
		if len(line) > 79 {
			t.Errorf("--help line longer than 79 columns: %q", line)
		}
	}
}

// TestCommandsFlag: --commands lists the commands with their signatures
// and help, as mitmproxy's mitmdump does.
func TestCommandsFlag(t *testing.T) {
	code, out, stderr := runCLI("--commands", "--set", "confdir="+t.TempDir())
	if code != 0 {
		t.Fatalf("--commands: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"# Set an option. When the value is omitted, booleans are set to true,\n", "\nset option *value\n",
		"\nflow.resume flows\n", "\nflow.mark flows marker\n", "\nflow.mark.toggle flows\n", "\nflow.kill flows\n",
		"\nflow.revert flows\n", "\nflow.set flows attr value\n", "\nflow.decode flows part\n", "\nflow.encode flows part encoding\n",
		"\nreplay.client flows\n", "\nreplay.client.count  -> int\n", "\nreplay.client.stop \n", "\nreplay.server flows\n",
		"\nreplay.server.count  -> int\n", "\nreplay.server.stop \n", "\nexport.file format flow path\n", "\nexport format f -> str\n",
		"\nexport.formats  -> str[]\n", "\ncut flows cuts -> data[][]\n", "\ncut.save flows cuts path\n", "\nsave.file flows path\n",
		"\noptions.load path\n", "\noptions.save path\n", "\noptions.reset \n", "\noptions.reset.one name\n",
	} {
		if !strings.Contains("\n"+out, want) {
			t.Errorf("--commands lacks %q", want)
		}
	}
	// mitmdump has no view: the view's commands belong to mitmweb and the
	// console.
	if strings.Contains(out, "view.flows.resolve") {
		t.Error("mitmdump lists the view's commands")
	}
	if strings.Contains(out, "Loading script") || strings.Contains(out, "listening") {
		t.Errorf("--commands logs:\n%s", out)
	}
}

// TestCommandsLikeMitmproxy compares --commands with Debian's mitmproxy
// 8.1.1 for the commands both have: the same signatures and help.
func TestCommandsLikeMitmproxy(t *testing.T) {
	path, err := exec.LookPath("mitmdump")
	if err != nil || !strings.HasPrefix(path, "/usr/bin/") {
		t.Skip("Debian's mitmdump is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--commands", "--set", "confdir="+t.TempDir())
	theirs, err := cmd.Output()
	if err != nil {
		t.Skipf("mitmdump --commands: %v", err)
	}
	_, ours, _ := runCLI("--commands", "--set", "confdir="+t.TempDir())
	parse := func(s string) map[string]string {
		out := map[string]string{}
		for _, block := range strings.Split(strings.TrimSpace(s), "\n\n") {
			lines := strings.Split(block, "\n")
			sig := lines[len(lines)-1]
			name, _, _ := strings.Cut(sig, " ")
			out[name] = block
		}
		return out
	}
	mine, ref := parse(ours), parse(string(theirs))
	compared := 0
	for name, block := range ref {
		got, ok := mine[name]
		if !ok {
			continue
		}
		compared++
		switch name {
		case "set":
			// mitmproxy 12 changed its help text since 8.1.1.
			got, block = lastLine(got), lastLine(block)
		case "script.run":
			// mitmgo runs the one-shot script's load event, which
			// mitmproxy skips (its help says so); the signature is the
			// same.
			got, block = lastLine(got), lastLine(block)
		case "browser.start":
			// mitmproxy 12 added the browser argument (chrome or
			// firefox) and has no help text for it.
			if got != "browser.start browser" {
				t.Errorf("browser.start:\nmitmgo:\n%s\nmitmproxy 12:\nbrowser.start browser", got)
			}
			continue
		}
		if got != block {
			t.Errorf("%s:\nmitmgo:\n%s\nmitmproxy 8.1.1:\n%s", name, got, block)
		}
	}
	if compared < 25 {
		t.Errorf("only %d commands in common", compared)
	}
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }

// TestConfigSharedWithOtherTools: a config.yaml written for mitmweb or the
// console, and --set of their options, do not stop mitmdump.
func TestConfigSharedWithOtherTools(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(
		"view_filter: '~u example'\nconsole_mouse: false\nweb_open_browser: false\nweb_port: 8082\n"+
			"console_palette: dark\nintercept: '~q'\nview_order: size\ncommand_history: false\n"), 0o644)
	code, _, stderr := runCLI("-n", "--set", "confdir="+dir, "--set", "view_filter=~s", "--set", "web_columns=path")
	if code != 0 {
		t.Errorf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI("-n", "--set", "confdir="+dir, "--set", "web_prot=1")
	if code == 0 || !strings.Contains(stderr, "unknown option: web_prot") {
		t.Errorf("a misspelt option: exit %d: %s", code, stderr)
	}
}
