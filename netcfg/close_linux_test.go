package netcfg

import (
	"os"
	"testing"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(ents)
}

// TestLinuxClose: Close releases the netlink socket NewSystem opened (the
// agent opened two per boot and closed neither), twice is harmless, and a
// system whose built-in DHCP client renews leases keeps its handle.
func TestLinuxClose(t *testing.T) {
	warm, err := NewSystem(t.TempDir()) // the runtime's own first-use files
	if err != nil {
		t.Skipf("no netlink here: %v", err)
	}
	warm.(*Linux).Close()

	before := openFDs(t)
	sys, err := NewSystem(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n <= before {
		t.Fatalf("NewSystem opened no file (%d before, %d after)", before, n)
	}
	l := sys.(*Linux)
	if err := l.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("after Close %d open files, want %d as before NewSystem", n, before)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}

	sys, err = NewSystem(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l = sys.(*Linux)
	opened := openFDs(t)
	l.mu.Lock()
	l.renewing = true // as DHCP4 sets it when the built-in client starts
	l.mu.Unlock()
	l.Close()
	if n := openFDs(t); n != opened {
		t.Errorf("Close with DHCP renewals running: %d open files, want %d (the handle stays theirs)", n, opened)
	}
	l.closeH()
}
