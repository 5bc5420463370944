package callback

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/wine"
)

// TestSpoolCrashRecovery: a first Sender spools events while the manager is
// unreachable and is then "killed" (Close abandons the queue, as a crash
// would; the files stay). A second Sender, a new boot, opens the same spool,
// emits its own events and delivers everything: the old events first, with
// their original ids, then the new, each file gone once acknowledged.
func TestSpoolCrashRecovery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")

	s1 := NewSender(testLogger(t), "boot1")
	emitSteps(s1, 1, 2) // before the spool is opened: written by OpenSpool
	if err := s1.OpenSpool(dir); err != nil {
		t.Fatalf("OpenSpool() = %v, want nil", err)
	}
	emitSteps(s1, 3, 3)
	s1.Close() // killed before the environment (and so the URL) was known
	if got, want := spoolIDs(t, dir), wantIDs("boot1", 5); !cmp.Equal(got, want) {
		t.Fatalf("spool after the crash = %v, want %v", got, want)
	}
	checkModes(t, dir)

	// A half-written temp file of the interrupted write is cleaned up, a
	// corrupt file set aside.
	os.WriteFile(filepath.Join(dir, ".00000000000000000009.json.tmp123"), []byte(`{"id":`), 0o600)
	os.WriteFile(filepath.Join(dir, "00000000000000000003.json"), []byte(`not json`), 0o600)

	rec := newRecorder(t, nil)
	s2 := NewSender(testLogger(t), "boot2")
	defer s2.Close()
	emitSteps(s2, 1, 1)
	if err := s2.OpenSpool(dir); err != nil {
		t.Fatalf("OpenSpool() = %v, want nil", err)
	}
	emitSteps(s2, 2, 3)
	if err := s2.Start(fastConfig(rec.srv.URL)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	want := []string{"boot1-1", "boot1-2", "boot1-4", "boot1-5", "boot2-1", "boot2-2", "boot2-3", "boot2-4"}
	if diff := cmp.Diff(want, rec.acked()); diff != "" {
		t.Errorf("delivered after the restart (-want +got):\n%s", diff)
	}
	// The replayed events were completed at Start like the new ones.
	for _, q := range rec.requests() {
		if q.event.Source != "urn:ovfinit:instance:inst-1" || q.event.Data.Attempt != 2 {
			t.Errorf("event %s has source %q attempt %d, want urn:ovfinit:instance:inst-1 and 2", q.event.ID, q.event.Source, q.event.Data.Attempt)
		}
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if !cmp.Equal(left, []string{"00000000000000000003.json.bad"}) {
		t.Errorf("spool after delivery holds %v, want only the corrupt file set aside", left)
	}
}

// TestSpoolNumbering: numbers go on from the largest in the spool, so file
// order stays emission order across runs.
func TestSpoolNumbering(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "00000000000000000041.json"), []byte(`{"id":"old-1","sequence":"0000000001"}`), 0o600)
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	if err := s.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	emitSteps(s, 1, 2)
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	want := []string{"00000000000000000041.json", "00000000000000000042.json", "00000000000000000043.json"}
	if !slices.Equal(names, want) {
		t.Errorf("spool files = %v, want %v", names, want)
	}
	if got := s.Pending(); got != 3 {
		t.Errorf("Pending() = %d, want 3", got)
	}
}

// TestSpoolOtherInstanceDropped: events spooled for another instance (an
// image captured with a full spool) are not sent to this one's manager.
func TestSpoolOtherInstanceDropped(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t, nil)
	s1 := NewSender(testLogger(t), "old")
	s1.OpenSpool(dir)
	cfg := fastConfig("http://127.0.0.1:1/unreachable")
	cfg.InstanceID = "template"
	cfg.MaxElapsed = 10 * time.Millisecond
	s1.Start(cfg)
	emitSteps(s1, 1, 2)
	s1.Wait(waitCtx(t))
	s1.Close()
	if got := spoolIDs(t, dir); len(got) != 2 {
		t.Fatalf("spool = %v, want the 2 undelivered events", got)
	}

	s2 := NewSender(testLogger(t), "new")
	defer s2.Close()
	s2.OpenSpool(dir)
	emitSteps(s2, 1, 2)
	if err := s2.Start(fastConfig(rec.srv.URL)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	if diff := cmp.Diff(wantIDs("new", 2), rec.acked()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if got := spoolIDs(t, dir); len(got) != 0 {
		t.Errorf("spool = %v, want empty", got)
	}
}

// TestSpoolRejectedRemoved: a permanently rejected event leaves the spool
// too; it would be rejected again on every boot.
func TestSpoolRejectedRemoved(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t, func(_ int, ev Event) int {
		if ev.Sequence == 1 {
			return 400
		}
		return 200
	})
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	s.OpenSpool(dir)
	s.Start(fastConfig(rec.srv.URL))
	emitSteps(s, 1, 2)
	if err := s.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	if got := spoolIDs(t, dir); len(got) != 0 {
		t.Errorf("spool = %v, want empty", got)
	}
}

func checkModes(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	windows := runtime.GOOS == "windows" // the DACL, not modes (wine.CheckPrivate)
	if windows {
		wine.CheckPrivate(t, dir)
	} else if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("spool directory mode = %v, want 0700", m)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		if windows {
			wine.CheckPrivate(t, filepath.Join(dir, e.Name()))
		} else if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("spool file %s mode = %v, want 0600", e.Name(), m)
		}
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("spool holds temp file %s", e.Name())
		}
	}
}

func TestDiscardSpool(t *testing.T) {
	dir := t.TempDir()
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	s.OpenSpool(dir)
	emitSteps(s, 1, 3)
	if n := s.DiscardSpool(); n != 3 {
		t.Errorf("DiscardSpool() = %d, want 3", n)
	}
	if got := spoolIDs(t, dir); len(got) != 0 {
		t.Errorf("spool after DiscardSpool = %v, want empty", got)
	}
	if err := s.Wait(waitCtx(t)); err != nil {
		t.Errorf("Wait() after DiscardSpool = %v, want nil", err)
	}
}

// TestSpoolSyncsWhatManagersActOn: progress events are spooled without an
// fsync (about 40 disk flushes on a first boot's path); ready and failed
// are fsynced. Every event is spooled either way.
func TestSpoolSyncsWhatManagersActOn(t *testing.T) {
	dir := t.TempDir()
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	if err := s.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	emitSteps(s, 1, 3)
	s.Emit(TypeReady, Data{InstanceID: "i-1"})
	s.Emit(TypeFailed, Data{InstanceID: "i-1", Message: "x"})
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(names) != 5 {
		t.Errorf("spool files = %d, want 5 (every event spooled)", len(names))
	}
	s.mu.Lock()
	synced := s.spool.synced
	s.mu.Unlock()
	if synced != 2 {
		t.Errorf("fsynced spool writes = %d, want 2 (ready and failed only)", synced)
	}
}
