// Command mitmdump is mitmgo's command-line proxy: mitmproxy's mitmdump,
// with the same flags, options, output and scripts.
package main

import (
	"os"

	"github.com/mitmgo/mitmgo/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
