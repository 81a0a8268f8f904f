package heed

import "log/slog"

// Log levels and attribute helper, short names for the call sites.
const (
	slogInfo = slog.LevelInfo
	slogWarn = slog.LevelWarn
)

func attr(key string, v any) slog.Attr { return slog.Any(key, v) }
