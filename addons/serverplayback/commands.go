package serverplayback

import (
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/addons/readfile"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

func anyFlows(flows []flow.Any) []any {
	out := make([]any, len(flows))
	for i, f := range flows {
		out[i] = f
	}
	return out
}

// addCommands registers replay.server, replay.server.add,
// replay.server.file, replay.server.stop and replay.server.count.
func (s *ServerPlayback) addCommands(l *addon.Loader) {
	flows := []command.Param{{Name: "flows", Type: command.Flows}}
	l.AddCommand(command.Command{Name: "replay.server", Params: flows, Help: "Replay server responses from flows.",
		Run: func(a command.Args) (any, error) { s.LoadFlows(anyFlows(a.Flows(0))); return nil, nil }})
	l.AddCommand(command.Command{Name: "replay.server.add", Params: flows, Help: "Add responses from flows to server replay list.",
		Run: func(a command.Args) (any, error) { s.AddFlows(anyFlows(a.Flows(0))); return nil, nil }})
	l.AddCommand(command.Command{Name: "replay.server.file", Params: []command.Param{{Name: "path", Type: command.Path}},
		Run: func(a command.Args) (any, error) {
			fl, err := readfile.ReadFlows([]string{a.Str(0)})
			if err != nil {
				return nil, &command.Error{Msg: err.Error(), Err: err}
			}
			s.LoadFlows(fl)
			return nil, nil
		}})
	l.AddCommand(command.Command{Name: "replay.server.stop", Help: "Stop server replay.",
		Run: func(command.Args) (any, error) { s.Clear(); return nil, nil }})
	l.AddCommand(command.Command{Name: "replay.server.count", Returns: command.Int,
		Run: func(command.Args) (any, error) { return s.Count(), nil }})
}
