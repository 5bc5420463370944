package main

import (
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
)

// addLogSinks builds the logger run uses: the console (w, the serial
// console at first boot), the log file under root (0640, appended to), and
// the system log when there is one (the journal under systemd, the Windows
// event log), combined with slog.NewMultiHandler. Secrets never reach any
// of them: the steps never log them (see agent).
func addLogSinks(console *slog.Logger, level, root, file string) (*slog.Logger, func(), error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	handlers := []slog.Handler{console.Handler()}
	closeFn := func() {}
	if file != "" {
		f, err := openRotating(root, path.Join("/", filepath.ToSlash(file)), logFileMax)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file %s: %w", file, err)
		}
		handlers = append(handlers, slog.NewTextHandler(f, &slog.HandlerOptions{Level: l}))
		closeFn = func() { f.Close() }
	}
	if h := systemHandler(l); h != nil {
		handlers = append(handlers, h)
	}
	return slog.New(slog.NewMultiHandler(handlers...)), closeFn, nil
}
