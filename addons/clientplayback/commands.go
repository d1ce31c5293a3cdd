package clientplayback

import (
	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/flow"
)

// addCommands registers replay.client, replay.client.count,
// replay.client.stop and replay.client.file.
func (c *ClientPlayback) addCommands(l *addon.Loader) {
	l.AddCommand(command.Command{Name: "replay.client.count", Returns: command.Int,
		Help: "Approximate number of flows queued for replay.",
		Run:  func(command.Args) (any, error) { return c.Count(), nil }})
	l.AddCommand(command.Command{Name: "replay.client.stop", Help: "Clear the replay queue.",
		Run: func(command.Args) (any, error) { c.Stop(); return nil, nil }})
	l.AddCommand(command.Command{Name: "replay.client", Params: []command.Param{{Name: "flows", Type: command.Flows}},
		Help: "Add flows to the replay queue, skipping flows that can't be replayed.",
		Run: func(a command.Args) (any, error) {
			flows := a.Flows(0)
			list := make([]any, len(flows))
			for i, f := range flows {
				list[i] = f
			}
			c.StartReplay(list)
			return nil, nil
		}})
	l.AddCommand(command.Command{Name: "replay.client.file", Params: []command.Param{{Name: "path", Type: command.Path}},
		Help: "Load flows from file, and add them to the replay queue.",
		Run: func(a command.Args) (any, error) {
			if err := c.LoadFile(a.Str(0)); err != nil {
				return nil, &command.Error{Msg: err.Error(), Err: err}
			}
			return nil, nil
		}})
}

// updated fires the update hook for flows the addon changed.
func (c *ClientPlayback) updated(flows []*flow.HTTPFlow) {
	if len(flows) == 0 {
		return
	}
	list := make([]flow.Any, len(flows))
	for i, f := range flows {
		list[i] = f
	}
	c.m.Context().Update(list...)
}
