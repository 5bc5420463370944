package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/journal"
)

// systemHandler is the journal when journald's socket is there (systemd
// runs); nil otherwise.
func systemHandler(level slog.Leveler) slog.Handler {
	if !journal.Enabled() {
		return nil
	}
	return &journalHandler{level: level, send: journal.Send}
}

// journalHandler sends each record to the journal with its attributes as
// fields (OVFINIT_STEP=hostname...), so `journalctl -u ovfinit
// OVFINIT_STEP=network` works.
type journalHandler struct {
	level  slog.Leveler
	send   func(msg string, pri journal.Priority, vars map[string]string) error
	prefix string
	attrs  map[string]string
}

func (h *journalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *journalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "ovfinit"}
	for k, v := range h.attrs {
		vars[k] = v
	}
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		k, v := journalField(h.prefix+a.Key), a.Value.Resolve().String()
		vars[k] = v
		msg += fmt.Sprintf(" %s=%s", h.prefix+a.Key, quoteIfSpace(v))
		return true
	})
	pri := journal.PriInfo
	switch {
	case r.Level >= slog.LevelError:
		pri = journal.PriErr
	case r.Level >= slog.LevelWarn:
		pri = journal.PriWarning
	case r.Level < slog.LevelInfo:
		pri = journal.PriDebug
	}
	return h.send(msg, pri, vars)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &journalHandler{level: h.level, send: h.send, prefix: h.prefix, attrs: map[string]string{}}
	for k, v := range h.attrs {
		n.attrs[k] = v
	}
	for _, a := range as {
		n.attrs[journalField(h.prefix+a.Key)] = a.Value.Resolve().String()
	}
	return n
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

// journalField makes a journal field name: upper case letters, digits and
// underscores, prefixed OVFINIT_ so it never collides with trusted fields.
func journalField(k string) string {
	var b strings.Builder
	b.WriteString("OVFINIT_")
	for _, r := range strings.ToUpper(k) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func quoteIfSpace(s string) string {
	if strings.ContainsAny(s, " \t\n\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// oNoCTTY keeps /dev/console from becoming the controlling terminal.
const oNoCTTY = syscall.O_NOCTTY

// stderrIsJournal says whether w is this process's stderr and systemd
// connected it to the journal while the journal handler is in use: then
// the console handler must not write there (consoleWriter).
func stderrIsJournal(w io.Writer) bool {
	if f, ok := w.(*os.File); !ok || f != os.Stderr || !journal.Enabled() {
		return false
	}
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok
}
