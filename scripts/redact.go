package scripts

import (
	"log/slog"

	"github.com/ovfinit/ovfinit/internal/redact"
)

// Redacted replaces a secret's value, or a form derived from it (quoted,
// JSON, upper case, base64, ...), in logs, progress messages and errors.
const Redacted = redact.Mark

// redactLogger returns a logger that replaces the secrets in every message
// and attribute before log's handler sees them; nil log discards.
func redactLogger(log *slog.Logger, r *redact.Redactor) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	if r.Empty() {
		return log
	}
	return redact.Logger(log, r)
}

// redactError removes secrets from a script error's text.
func redactError(err error, r *redact.Redactor) error {
	if r.Empty() {
		return err
	}
	if se, ok := err.(*ScriptError); ok {
		se.Msg = r.String(se.Msg)
		se.Backtrace = r.String(se.Backtrace)
		return se
	}
	return err
}
