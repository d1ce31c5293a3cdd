package web

import (
	"net/http"
	"strconv"
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
	return writeJSON(w, s.cmds.CompleteArg(c, idx, q["arg"], text))
}
