package main

import (
	"log/slog"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/google/go-cmp/cmp"
)

func TestJournalField(t *testing.T) {
	for in, want := range map[string]string{"step": "OVFINIT_STEP", "ssh.addr": "OVFINIT_SSH_ADDR", "duration-ms": "OVFINIT_DURATION_MS"} {
		if got := journalField(in); got != want {
			t.Errorf("journalField(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJournalHandler checks what reaches the journal: the message with its
// attributes, the priority of the level, and every attribute (with the
// logger's and the group's) as an OVFINIT_ field.
func TestJournalHandler(t *testing.T) {
	type sent struct {
		msg  string
		pri  journal.Priority
		vars map[string]string
	}
	var got []sent
	h := &journalHandler{level: slog.LevelInfo, send: func(msg string, pri journal.Priority, vars map[string]string) error {
		got = append(got, sent{msg, pri, vars})
		return nil
	}}
	log := slog.New(h).With("boot", "b1")
	log.Debug("not sent")
	log.Info("step finished", "step", "network")
	log.WithGroup("ssh").Warn("slow", "addr", "[::]:22")
	log.Error("failed", "err", "no such MAC")
	want := []sent{
		{"step finished step=network", journal.PriInfo, map[string]string{"SYSLOG_IDENTIFIER": "ovfinit", "OVFINIT_BOOT": "b1", "OVFINIT_STEP": "network"}},
		{"slow ssh.addr=[::]:22", journal.PriWarning, map[string]string{"SYSLOG_IDENTIFIER": "ovfinit", "OVFINIT_BOOT": "b1", "OVFINIT_SSH_ADDR": "[::]:22"}},
		{`failed err="no such MAC"`, journal.PriErr, map[string]string{"SYSLOG_IDENTIFIER": "ovfinit", "OVFINIT_BOOT": "b1", "OVFINIT_ERR": "no such MAC"}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sent{})); diff != "" {
		t.Errorf("journal entries (-want +got):\n%s", diff)
	}
}
