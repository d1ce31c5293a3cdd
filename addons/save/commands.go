package save

import (
	"fmt"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
)

// addCommands registers save.file.
func (s *Save) addCommands(l *addon.Loader) {
	l.AddCommand(command.Command{Name: "save.file",
		Params: []command.Param{{Name: "flows", Type: command.Flows}, {Name: "path", Type: command.Path}},
		Help:   "Save flows to a file. If the path starts with a +, flows are\nappended to the file, otherwise it is over-written.",
		Run: func(a command.Args) (any, error) {
			flows := a.Flows(0)
			path := a.Str(1)
			list := make([]any, len(flows))
			for i, f := range flows {
				list[i] = f
			}
			if err := s.SaveFlows(path, list...); err != nil {
				return nil, &command.Error{Msg: err.Error(), Err: err}
			}
			if strings.HasSuffix(path, ".har") || strings.HasSuffix(path, ".zhar") {
				s.log.Log(nil, addon.LevelAlert, "Saved as mitmproxy dump file. To save HAR files, use the `save.har` command.")
			} else {
				s.log.Log(nil, addon.LevelAlert, fmt.Sprintf("Saved %d flows.", len(flows)))
			}
			return nil, nil
		}})
}
