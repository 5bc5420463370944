package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"

	"golang.org/x/sys/windows/svc/eventlog"
)

// systemHandler is the Windows event log (Application, source ovfinit), when
// the source is registered (ovfinit install does it through kardianos) ; nil
// otherwise.
func systemHandler(level slog.Leveler) slog.Handler {
	l, err := eventlog.Open("ovfinit")
	if err != nil {
		return nil
	}
	return &eventlogHandler{log: l, level: level}
}

// eventlogHandler formats each record as text and reports it with the
// event type of its level.
type eventlogHandler struct {
	log   *eventlog.Log
	level slog.Leveler
	attrs []slog.Attr
	group string
}

func (h *eventlogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *eventlogHandler) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	var th slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	if len(h.attrs) > 0 {
		th = th.WithAttrs(h.attrs)
	}
	if h.group != "" {
		th = th.WithGroup(h.group)
	}
	if err := th.Handle(ctx, r); err != nil {
		return err
	}
	const id = 1
	switch {
	case r.Level >= slog.LevelError:
		return h.log.Error(id, buf.String())
	case r.Level >= slog.LevelWarn:
		return h.log.Warning(id, buf.String())
	}
	return h.log.Info(id, buf.String())
}

func (h *eventlogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &n
}

func (h *eventlogHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.group = name
	return &n
}

const oNoCTTY = 0

// stderrIsJournal: no journal on Windows.
func stderrIsJournal(io.Writer) bool { return false }
