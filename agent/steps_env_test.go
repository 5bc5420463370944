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

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestSavedSecrets: the clear copy lives only in the runtime directory and
// only until the boot finishes; the state directory never holds the secret;
// a boot that fails keeps the clear copy so that running the agent again
// without the transport can finish the job.
func TestSavedSecrets(t *testing.T) {
	const secret = "hunter2-s3cret"
	failing := base64.StdEncoding.EncodeToString([]byte(`fail("boom")`))
	m := newMachine(t)
	_, _, err := m.boot(envXML("instance-id", "i-9", "guestinfo.root_password", secret, "ovfinit.script", failing))
	if err == nil {
		t.Fatalf("Run() with a failing script = nil, want an error")
	}
	dir := filepath.Join(m.root, "var/lib/ovfinit")
	red, err := os.ReadFile(filepath.Join(dir, ovfenv.SavedRedactedName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(red), secret) || !strings.Contains(string(red), ovfenv.Redaction) {
		t.Errorf("redacted copy = %s\nwant the secret replaced by %s", red, ovfenv.Redaction)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s in the state directory holds the secret in clear", p)
			}
		}
		return nil
	})
	run := filepath.Join(m.root, filepath.FromSlash(DefaultRuntimeDir))
	clear, err := os.ReadFile(filepath.Join(run, ovfenv.SavedClearName))
	if err != nil || !strings.Contains(string(clear), secret) {
		t.Fatalf("clear copy after a failed boot: %v; want it kept with the secret", err)
	}

	// A later boot with no transport, the script fixed by nobody: it runs
	// from the clear copy and fails again, the copy still there.
	e, _, err := m.boot("")
	if err == nil || e.Source.Location != filepath.Join(run, ovfenv.SavedClearName) {
		t.Fatalf("second boot = %v from %q, want the script failing again from the clear copy", err, e.Source.Location)
	}
	if v, _ := e.OVF.Property("root_password"); v != secret {
		t.Errorf("from the clear copy Property(root_password) = %q, want the secret", v)
	}

	// With the clear copy gone, the redacted one is used and its redacted
	// values read as unset.
	os.Remove(filepath.Join(run, ovfenv.SavedClearName))
	e, _, _ = m.boot("")
	if e.Source.Location != filepath.Join(dir, ovfenv.SavedRedactedName) {
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

// TestWipeGuestinfoSecrets: after a boot whose environment came from
// guestinfo, forget-secrets clears the secret direct keys it used, and only
// those, on the VM itself; a refusal is a warning, not a failed boot.
func TestWipeGuestinfoSecrets(t *testing.T) {
	const secret = "tok-3c7e"
	guestinfo := func(xml string) func(ctx context.Context, e *Env) (*ovfenv.Source, error) {
		return func(ctx context.Context, e *Env) (*ovfenv.Source, error) {
			return &ovfenv.Source{Transport: ovfenv.TransportGuestinfo, Location: "guestinfo.ovfEnv via rpc", Data: []byte(xml),
				Extra: []ovfenv.Property{{Key: "ovfinit.user", Value: "ovfuser"}, {Key: "ovfinit.api.token", Value: secret}}}, nil
		}
	}
	for _, tc := range []struct {
		name     string
		iso      bool  // the environment came from the ISO instead
		offline  bool  // --root is not /
		wipeErr  error // what the channel answers
		wantKeys []string
		wantNote string
	}{
		{name: "cleared", wantKeys: []string{"ovfinit.api.token"}, wantNote: "cleared guestinfo.ovfinit.api.token"},
		{name: "refused", wipeErr: errors.New("vmware-rpctool: Permission denied"), wantKeys: []string{"ovfinit.api.token"}, wantNote: "could not clear guestinfo ovfinit.api.token: vmware-rpctool: Permission denied"},
		{name: "offline root", offline: true, wantNote: "--root is not /"},
		{name: "iso", iso: true, wantNote: "removed ovf-env.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			e, _ := m.env(fullEnv("i-1"))
			if !tc.iso {
				e.FindEnv = guestinfo(fullEnv("i-1"))
			}
			e.Live = !tc.offline
			var got []string
			e.WipeGuestinfo = func(ctx context.Context, e *Env, keys []string) error {
				got = append(got, keys...)
				return tc.wipeErr
			}
			if err := Run(t.Context(), e, Steps()); err != nil {
				t.Fatalf("Run() = %v, want a clean boot", err)
			}
			if diff := cmp.Diff(tc.wantKeys, got); diff != "" {
				t.Errorf("WipeGuestinfo keys (-want +got):\n%s", diff)
			}
			st, err := ReadStatus(PublicStatusPath(m.root, ""))
			if err != nil {
				t.Fatal(err)
			}
			var msg string
			for _, s := range st.Steps {
				if s.Name == "forget-secrets" {
					msg = s.Message
				}
			}
			if !strings.Contains(msg, tc.wantNote) {
				t.Errorf("forget-secrets message = %q, want it to contain %q", msg, tc.wantNote)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("forget-secrets message holds the secret: %q", msg)
			}
		})
	}
}

// TestProbeOfflineRoot: `run --root DIR` probes the tree, not the host: the
// seed under DIR is found and the host-only transports say they were
// skipped.
func TestProbeOfflineRoot(t *testing.T) {
	m := newMachine(t)
	seed := filepath.Join(m.root, ovfenv.SeedPath)
	if err := os.MkdirAll(filepath.Dir(seed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seed, []byte(fullEnv("i-seed")), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _ := m.env("")
	e.Live = false
	src, err := probeTransports(t.Context(), e)
	if err != nil {
		t.Fatalf("probeTransports() = %v", err)
	}
	if src.Transport != ovfenv.TransportSeed || src.Location != seed {
		t.Errorf("probeTransports() = %s %s, want the seed %s", src.Transport, src.Location, seed)
	}
	for _, a := range src.Tried {
		if (a.Transport == ovfenv.TransportGuestinfo || a.Transport == ovfenv.TransportVirtualBox) && !strings.Contains(a.Reason, "skipped") {
			t.Errorf("%s: %s %q, want it skipped with an offline root", a.Transport, a.Result, a.Reason)
		}
	}
}
