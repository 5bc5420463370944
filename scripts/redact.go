package scripts

import (
	"context"
	"log/slog"
	"strings"
)

// Redacted replaces a secret's value in logs and errors.
const Redacted = "[redacted]"

// redactor replaces secret values in text, longest first (so that a secret
// containing another is replaced whole).
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []string) *redactor {
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		// A one- or two-character value ("1", "no") would mangle every
		// line without hiding anything.
		if len(s) < 3 || seen[s] {
			continue
		}
		seen[s] = true
		pairs = append(pairs, s, Redacted)
	}
	if len(pairs) == 0 {
		return nil
	}
	// strings.Replacer picks the first matching old string at each
	// position: order longest first.
	for i := 0; i < len(pairs); i += 2 {
		for j := i + 2; j < len(pairs); j += 2 {
			if len(pairs[j]) > len(pairs[i]) {
				pairs[i], pairs[j] = pairs[j], pairs[i]
			}
		}
	}
	return &redactor{strings.NewReplacer(pairs...)}
}

func (r *redactor) String(s string) string {
	if r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Redact replaces every secret value in s.
func Redact(s string, secrets []string) string { return newRedactor(secrets).String(s) }

// redactLogger returns a logger that replaces the secrets in every message
// and string attribute before log's handler sees them; nil log discards.
func redactLogger(log *slog.Logger, secrets []string) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	r := newRedactor(secrets)
	if r == nil {
		return log
	}
	return slog.New(&redactHandler{next: log.Handler(), r: r})
}

type redactHandler struct {
	next slog.Handler
	r    *redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = h.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(red), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), r: h.r}
}

// redactError removes secrets from a script error's text.
func redactError(err error, secrets []string) error {
	r := newRedactor(secrets)
	if r == nil {
		return err
	}
	if se, ok := err.(*ScriptError); ok {
		se.Msg = r.String(se.Msg)
		se.Backtrace = r.String(se.Backtrace)
		return se
	}
	return err
}
