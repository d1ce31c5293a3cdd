package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mitmgo/mitmgo/addon"
	"github.com/mitmgo/mitmgo/command"
)

// completions answers GET /commands/{cmd}/completions: the completions of
// the command's argument number index (from 0) that start with text, as the
// console completes them: flow specifications for flows, option names
// for set and then the option's values, the values of a choice, command
// names, booleans, markers, cut specifications and paths. args are the
// arguments before it (set's values depend on its option). mitmweb 12's
// command bar completes command names only; this route is mitmgo's.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("cmd")
	c, ok := s.cmds.Get(name)
	if !ok {
		return errorf(404, "Unknown command: %s", name)
	}
	q := r.URL.Query()
	idx, err := strconv.Atoi(q.Get("index"))
	if err != nil || idx < 0 {
		return errorf(400, "Invalid index: %s", q.Get("index"))
	}
	text := q.Get("text")
	return writeJSON(w, s.completeArg(c, idx, q["arg"], text))
}

// completeArg lists the completions of c's argument idx.
func (s *Server) completeArg(c *command.Command, idx int, args []string, text string) []string {
	var typ command.Type
	switch n := len(c.Params); {
	case idx < n:
		typ = c.Params[idx].Type
	case n > 0 && c.Params[n-1].Variadic:
		typ = c.Params[n-1].Type
	default:
		return []string{}
	}
	var cands []string
	filter := true
	switch {
	case c.Name == "set" && idx == 0:
		cands = s.opts.Names()
	case c.Name == "set":
		// The option's values: its choices, or a boolean's.
		if len(args) > 0 {
			if o, _, ok := s.opts.Lookup(args[0]); ok {
				cands = o.Choices
				if o.Kind == addon.Bool {
					cands = []string{"true", "false", "toggle"}
				}
			}
		}
	case typ == command.Flow || typ == command.Flows:
		cands = command.FlowSpecPrefixes
	case typ == command.Path:
		// Paths on the proxy's machine, completed from what is typed.
		cands, filter = typ.Complete(s.cmds, text), false
	default:
		cands = typ.Complete(s.cmds, text)
	}
	out := []string{}
	for _, cand := range cands {
		if !filter || strings.HasPrefix(cand, text) {
			out = append(out, cand)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
