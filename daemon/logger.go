package daemon

import (
	"io"
	"log/slog"

	"callgate/internal/config"
)

// NewLogger is the process log the log: section asks for, on w.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	lvl, _ := config.ParseLevel(c.Level) // validated with the config
	opts := &slog.HandlerOptions{Level: slog.Level(lvl)}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
