package export

import (
	"os"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

func param(name string, t command.Type) command.Param { return command.Param{Name: name, Type: t} }

// addCommands registers export, export.file and export.formats.
func (e *Export) addCommands(l *addon.Loader) {
	l.AddCommand(command.Command{Name: "export.formats", Help: "Return a list of the supported export formats.", Returns: command.Strs,
		Run: func(command.Args) (any, error) { return Formats(), nil }})
	l.AddCommand(command.Command{Name: "export.file",
		Params: []command.Param{param("format", command.Str), param("flow", command.Flow), param("path", command.Path)},
		Help:   "Export a flow to path.",
		Run: func(a command.Args) (any, error) {
			format := a.Str(0)
			if _, ok := formats[format]; !ok {
				return nil, command.Errorf("No such export format: %s", format)
			}
			b, err := e.Options().Bytes(format, httpFlow(a.Flow(1)))
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(a.Str(2), b, 0o644); err != nil {
				// mitmproxy logs a failed write rather than failing the
				// command.
				e.ctx.Log.Error(err.Error())
			}
			return nil, nil
		}})
	l.AddCommand(command.Command{Name: "export", Params: []command.Param{param("format", command.Str), param("f", command.Flow)}, Returns: command.Str,
		Help: "Export a flow and return the result.",
		Run: func(a command.Args) (any, error) {
			if _, ok := formats[a.Str(0)]; !ok {
				return nil, command.Errorf("No such export format: %s", a.Str(0))
			}
			return e.Options().Text(a.Str(0), httpFlow(a.Flow(1)))
		}})
}

// httpFlow is f as an HTTP flow, or nil (the formats then say the flow
// has no request).
func httpFlow(f flow.Any) *flow.HTTPFlow {
	hf, _ := f.(*flow.HTTPFlow)
	return hf
}
