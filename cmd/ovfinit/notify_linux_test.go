package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunNotifiesSystemd: under systemd (NOTIFY_SOCKET set), run sends
// READY=1 when the pipeline ends, with the outcome in STATUS, so the
// Type=notify unit releases what is ordered after it.
func TestRunNotifiesSystemd(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skipf("no unixgram socket here: %v", err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)

	env := filepath.Join(dir, "ovf-env.xml")
	os.WriteFile(env, []byte(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>`), 0o600)
	if _, code := execute(t, "run", "--root", dir, "--env", env, "--log-level", "error"); code != exitFailed {
		t.Fatalf("run with a truncated env = exit %d, want %d", code, exitFailed)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no sd_notify message: %v", err)
	}
	got := string(buf[:n])
	if !strings.HasPrefix(got, "READY=1\nSTATUS=failed: ") || !strings.Contains(got, "parse-environment") {
		t.Errorf("sd_notify message = %q, want READY=1 and STATUS=failed naming the step", got)
	}
}
