package addon

import "log/slog"

// Logger returns the context's logger, or one that discards everything
// when there is no context yet (an addon used before Load, as tests and
// embedders do) or it has no logger.
func (c *Context) Logger() *slog.Logger {
	if c == nil || c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}
