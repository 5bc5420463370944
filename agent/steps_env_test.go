package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestSavedSecrets: the clear copy lives only until the boot finishes; the
// redacted one never holds the secret; a boot that fails keeps the clear
// copy so that a later boot without the transport can finish the job.
func TestSavedSecrets(t *testing.T) {
	const secret = "hunter2-s3cret"
	failing := base64.StdEncoding.EncodeToString([]byte(`fail("boom")`))
	m := newMachine(t)
	_, _, err := m.boot(envXML("instance-id", "i-9", "guestinfo.root_password", secret, "ovfinit.script", failing))
	if err == nil {
		t.Fatalf("Run() with a failing script = nil, want an error")
	}
	dir := filepath.Join(m.root, "var/lib/ovfinit")
	red, err := os.ReadFile(filepath.Join(dir, savedRedacted))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(red), secret) || !strings.Contains(string(red), ovfenv.Redaction) {
		t.Errorf("redacted copy = %s\nwant the secret replaced by %s", red, ovfenv.Redaction)
	}
	clear, err := os.ReadFile(filepath.Join(dir, savedEnv))
	if err != nil || !strings.Contains(string(clear), secret) {
		t.Fatalf("clear copy after a failed boot: %v; want it kept with the secret", err)
	}

	// A later boot with no transport, the script fixed by nobody: it runs
	// from the clear copy and fails again, the copy still there.
	e, _, err := m.boot("")
	if err == nil || e.Source.Location != filepath.Join(dir, savedEnv) {
		t.Fatalf("second boot = %v from %q, want the script failing again from the clear copy", err, e.Source.Location)
	}
	if v, _ := e.OVF.Property("root_password"); v != secret {
		t.Errorf("from the clear copy Property(root_password) = %q, want the secret", v)
	}

	// With the clear copy gone, the redacted one is used and its redacted
	// values read as unset.
	os.Remove(filepath.Join(dir, savedEnv))
	e, _, _ = m.boot("")
	if e.Source.Location != filepath.Join(dir, savedRedacted) {
		t.Fatalf("third boot read %q, want the redacted copy", e.Source.Location)
	}
	if v, ok := e.OVF.Property("root_password"); ok {
		t.Errorf("from the redacted copy Property(root_password) = %q, want unset", v)
	}
}

// TestBrokenTransportIsNotMissing: an environment that is there but cannot
// be read fails the boot; the saved copy would hide it from the manager.
func TestBrokenTransportIsNotMissing(t *testing.T) {
	m := newMachine(t)
	if _, _, err := m.boot(fullEnv("i-1")); err != nil {
		t.Fatal(err)
	}
	e, _ := m.env("")
	e.FindEnv = func(ctx context.Context, e *Env) (*ovfenv.Source, error) {
		return nil, fmt.Errorf("%w: /dev/sr0: record length 0", ovfenv.ErrBrokenMedium)
	}
	err := Run(t.Context(), e, Steps())
	if !errors.Is(err, ovfenv.ErrBrokenMedium) {
		t.Errorf("Run() = %v, want the broken medium's error", err)
	}
}
