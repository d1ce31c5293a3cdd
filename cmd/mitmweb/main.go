// Command mitmweb is mitmgo's web interface: mitmdump's proxy, flags,
// options and scripts, with the flows kept in a view and served to the
// browser by the web server on web_host:web_port (package web).
package main

import (
	"os"

	"github.com/mitmgo/mitmgo"
	"github.com/mitmgo/mitmgo/internal/cli"
	"github.com/mitmgo/mitmgo/web"
)

func main() {
	os.Exit(run(os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}

// run is mitmweb: mitmdump's command line, assembled with the view and the
// web server instead of the flow dump.
func run(args []string, env cli.Env) int {
	w := web.New()
	code := cli.MainTool(args, env, cli.Tool{
		Name:   "mitmweb",
		Config: mitmgo.Config{View: true, Addons: []any{w}},
		Attach: w.Attach,
	})
	if code == 0 && w.Failed() {
		// The web server could not listen (the log says why).
		return 1
	}
	return code
}
