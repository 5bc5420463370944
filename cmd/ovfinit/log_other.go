//go:build !linux && !windows

package main

import (
	"io"
	"log/slog"
)

// systemHandler: no system log on this OS beyond the console and the file
// (syslog would need its own handler).
func systemHandler(slog.Leveler) slog.Handler { return nil }

const oNoCTTY = 0

// stderrIsJournal: no journal on this OS.
func stderrIsJournal(io.Writer) bool { return false }
