package savehar

import (
	"bytes"
	"compress/zlib"
	"os"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flowfile"
	"github.com/mitmgo/mitmgo/tnetstring"
)

// addCommands registers save.har.
func (s *SaveHar) addCommands(l *addon.Loader) {
	l.AddCommand(command.Command{Name: "save.har",
		Params: []command.Param{{Name: "flows", Type: command.Flows}, {Name: "path", Type: command.Path}},
		Help:   "Export flows to an HAR (HTTP Archive) file.",
		Run: func(a command.Args) (any, error) {
			var states []*tnetstring.Dict
			for _, f := range a.Flows(0) {
				if f.Type() == "http" {
					states = append(states, f.State())
				}
			}
			var buf bytes.Buffer
			if err := flowfile.WriteHAR(&buf, states); err != nil {
				return nil, err
			}
			out := buf.Bytes()
			if path := a.Str(1); strings.HasSuffix(path, ".zhar") {
				var z bytes.Buffer
				zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
				_, _ = zw.Write(out)
				_ = zw.Close()
				out = z.Bytes()
			}
			if err := os.WriteFile(a.Str(1), out, 0o644); err != nil {
				return nil, err
			}
			return nil, nil
		}})
}
