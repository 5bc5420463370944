package main

import "testing"

func TestJournalField(t *testing.T) {
	for in, want := range map[string]string{"step": "OVFINIT_STEP", "ssh.addr": "OVFINIT_SSH_ADDR", "duration-ms": "OVFINIT_DURATION_MS"} {
		if got := journalField(in); got != want {
			t.Errorf("journalField(%q) = %q, want %q", in, got, want)
		}
	}
}
