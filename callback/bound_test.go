package callback

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// spoolEvents reads the spool's events in file (emission) order.
func spoolEvents(t *testing.T, dir string) []Event {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var out []Event
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, ev)
	}
	return out
}

// fastTempDir is a temporary directory on a tmpfs when there is one, where
// the spool's fsync costs nothing: 11,500 fsyncs on a disk take a minute.
func fastTempDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "ovfinit-spool-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// TestBoundedWhileManagerDown (issue 13, defect 14): with the manager
// answering 503 for good, 10,000 SSH logins and 1,000 progress events
// leave at most 1,000 events queued and spooled, at most 10 of them
// logins, the last saying how many logins went; the ready event stays, and
// what remains is in emission order.
func TestBoundedWhileManagerDown(t *testing.T) {
	const maxEvents, maxLogins = 1000, 10 // the documented defaults
	dir := filepath.Join(fastTempDir(t), "spool")
	rec := newRecorder(t, func(int, Event) int { return 503 })
	s := NewSender(testLogger(t), "boot1")
	defer s.Close()
	if err := s.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	emitSteps(s, 1, 20)
	s.Emit(TypeReady, Data{Result: ResultReady, Percent: 100})
	cfg := fastConfig(rec.srv.URL)
	cfg.InitialInterval, cfg.MaxInterval, cfg.MaxElapsed = time.Hour, time.Hour, 24*time.Hour
	if err := s.Start(cfg); err != nil {
		t.Fatal(err)
	}
	for i := range 10_000 {
		s.Emit(TypeLogin, Data{Message: fmt.Sprintf("alice logged in from 10.0.%d.%d with publickey", i/256, i%256)})
		if i%10 == 0 {
			s.Emit(TypeProgress, Data{Step: "script", Message: fmt.Sprintf("%d%% busy", i%100)})
		}
	}
	evs := spoolEvents(t, dir)
	if n := s.Pending(); n > maxEvents || len(evs) > maxEvents {
		t.Errorf("after 10,000 logins: %d events queued, %d spooled; want at most %d", n, len(evs), maxEvents)
	}
	var logins []Event
	ready := 0
	for i, ev := range evs {
		if i > 0 && ev.Sequence <= evs[i-1].Sequence {
			t.Errorf("spool order: %s (sequence %d) after %s (sequence %d)", ev.ID, ev.Sequence, evs[i-1].ID, evs[i-1].Sequence)
		}
		switch ev.Type {
		case TypeLogin:
			logins = append(logins, ev)
		case TypeReady:
			ready++
		}
	}
	if ready != 1 {
		t.Errorf("spool holds %d ready events, want the one ready event kept", ready)
	}
	if len(logins) == 0 || len(logins) > maxLogins {
		t.Fatalf("spool holds %d login events, want 1 to %d", len(logins), maxLogins)
	}
	last := logins[len(logins)-1]
	if !strings.HasPrefix(last.Data.Message, "alice logged in from 10.0.39.15 ") || !strings.Contains(last.Data.Message, "earlier logins not sent") {
		t.Errorf("last login message = %q, want the 10,000th login with the count of those dropped", last.Data.Message)
	}
}

// TestSpoolAgeBound: events older than 7 days found in the spool are
// dropped, except an outcome; the rest is kept in order.
func TestSpoolAgeBound(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-8 * 24 * time.Hour).UTC()
	for i, ev := range []Event{
		{ID: "b-1", Type: TypeStepStarted, Time: old, Sequence: 1},
		{ID: "b-2", Type: TypeFailed, Time: old, Sequence: 2},
		{ID: "b-3", Type: TypeLogin, Time: old, Sequence: 3},
		{ID: "b-4", Type: TypeLogin, Time: time.Now().UTC(), Sequence: 4},
	} {
		b, _ := json.Marshal(ev)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d.json", i+1)), b, 0o600)
	}
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	if err := s.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range spoolEvents(t, dir) {
		ids = append(ids, ev.ID)
	}
	if want := []string{"b-2", "b-4"}; !slices.Equal(ids, want) || s.Pending() != 2 {
		t.Errorf("spool after OpenSpool = %v (%d queued), want %v: old events dropped, the failed outcome kept", ids, s.Pending(), want)
	}
}
