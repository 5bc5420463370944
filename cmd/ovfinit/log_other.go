//go:build !linux && !windows

package main

import "log/slog"

// systemHandler: no system log on this OS beyond the console and the file
// (syslog would need its own handler).
func systemHandler(slog.Leveler) slog.Handler { return nil }
