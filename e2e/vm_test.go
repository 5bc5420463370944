package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

const (
	bootTimeout     = 4 * time.Minute // qemu start to ready, under TCG on a shared machine
	sshTimeout      = 2 * time.Minute
	poweroffTimeout = 2 * time.Minute
	guestUser       = "ovfuser"
	guestHostname   = "ovf-e2e"
)

// The script writes under /etc, which lives on the state disk.
const script = `file.write("/etc/ovfinit-e2e-script", "instance=" + ovf.property("instance-id") + "\n")
`

var (
	perInstanceSteps = []string{"hostname", "user", "host-key", "script"}
	perBootSteps     = []string{"find-environment", "parse-environment", "identity", "validate", "network", "sshd"}
)

// requireVM skips the test, or fails it under OVFINIT_E2E=require (make
// test), when the host cannot boot a VM.
func requireVM(t *testing.T) {
	t.Helper()
	require := os.Getenv("OVFINIT_E2E") == "require"
	if testing.Short() && !require {
		t.Skip("VM test skipped in -short mode")
	}
	missing := vm.Missing()
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("VM test needs %s: run `make test` (it runs e2e/prepare.sh as root)", strings.Join(missing, ", "))
	if require {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// harness is what the boots of TestFirstBoot share.
type harness struct {
	dir    string
	assets *vm.Assets
	rec    *vm.Recorder
	disk   string
	signer ssh.Signer // the user's key
}

// booted is one VM that reached ready.
type booted struct {
	m      *vm.Machine
	ready  vm.Event
	events []vm.Event        // up to and including ready
	status map[string]string // step -> status of its step.finished
}

func TestFirstBoot(t *testing.T) {
	requireVM(t)
	ctx := t.Context()
	start := time.Now()
	h := &harness{dir: t.TempDir()}

	var err error
	if h.assets, err = vm.Prepare(ctx, h.dir); err != nil {
		t.Fatalf("preparing the VM: %v", err)
	}
	t.Logf("kernel %s, agent and initramfs built in %v", h.assets.Kernel.Dir, time.Since(start).Round(time.Millisecond))
	if h.rec, err = vm.NewRecorder(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rec.Close() })
	h.disk = filepath.Join(h.dir, "state.img")
	if err := vm.NewDisk(h.disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	h.signer = newSigner(t)

	iso1 := h.iso(t, "e2e-instance-1")
	var fp1 string

	if !t.Run("boot1", func(t *testing.T) {
		b := h.boot(t, iso1, "e2e-instance-1")
		defer h.poweroff(t, b)
		want := map[string]string{}
		for _, s := range append(append([]string{}, perBootSteps...), perInstanceSteps...) {
			want[s] = "ok"
		}
		checkSteps(t, b, want)
		client, hostKey := h.dial(t, b.m, h.signer)
		defer client.Close()
		fp1 = checkHostKey(t, b.ready, hostKey)
		checkGuest(t, client, "e2e-instance-1")

		wrong := newSigner(t)
		if c, err := dialOnce(b.m.SSHAddr(), guestUser, wrong, nil); err == nil {
			c.Close()
			t.Errorf("SSH as %s with a key not in public-keys: logged in, want refused", guestUser)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("SSH as %s with a wrong key: %v, want an authentication failure", guestUser, err)
		}
	}) {
		t.FailNow()
	}

	if !t.Run("boot2-same-instance", func(t *testing.T) {
		b := h.boot(t, iso1, "e2e-instance-1")
		defer h.poweroff(t, b)
		want := map[string]string{}
		for _, s := range perBootSteps {
			want[s] = "ok"
		}
		for _, s := range perInstanceSteps {
			want[s] = "skipped"
		}
		checkSteps(t, b, want)
		client, hostKey := h.dial(t, b.m, h.signer)
		defer client.Close()
		if fp := checkHostKey(t, b.ready, hostKey); fp != fp1 {
			t.Errorf("host key after a reboot = %s, want the first boot's %s", fp, fp1)
		}
		checkGuest(t, client, "e2e-instance-1")
	}) {
		t.FailNow()
	}

	t.Run("boot3-new-instance", func(t *testing.T) {
		iso2 := h.iso(t, "e2e-instance-2")
		b := h.boot(t, iso2, "e2e-instance-2")
		defer h.poweroff(t, b)
		want := map[string]string{}
		for _, s := range append(append([]string{}, perBootSteps...), perInstanceSteps...) {
			want[s] = "ok"
		}
		checkSteps(t, b, want)
		client, hostKey := h.dial(t, b.m, h.signer)
		defer client.Close()
		if fp := checkHostKey(t, b.ready, hostKey); fp == fp1 {
			t.Errorf("host key for a new instance id = %s, the old instance's; want a new key", fp)
		}
		checkGuest(t, client, "e2e-instance-2")
	})
	t.Logf("TestFirstBoot wall time %v", time.Since(start).Round(time.Millisecond))
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// iso writes the environment for instance id into its own ISO.
func (h *harness) iso(t *testing.T, id string) string {
	t.Helper()
	env := vm.GuestEnv{
		InstanceID:  id,
		Hostname:    guestHostname,
		User:        guestUser,
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.signer.PublicKey()))),
		CallbackURL: h.rec.GuestURL(),
		Script:      script,
	}
	x, err := env.XML()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.dir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	iso, err := vm.BuildISO(dir, x)
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}
	return iso
}

// boot starts a VM and waits for the agent's ready event. On a failure of
// the calling test it logs the qemu command line and the console's tail.
func (h *harness) boot(t *testing.T, iso, instanceID string) *booted {
	t.Helper()
	h.rec.Reset()
	o := vm.Options{
		Assets:    h.assets,
		ISO:       iso,
		Disk:      h.disk,
		SerialLog: filepath.Join(h.dir, strings.ReplaceAll(t.Name(), "/", "_")+".serial"),
	}
	if os.Getenv("OVFINIT_E2E_CONSOLE") != "" {
		o.Console = t.Output()
	}
	m, err := vm.Boot(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("qemu command line:\n%s", m.CommandLine())
			t.Logf("serial console (last 60 lines):\n%s", m.Tail(60))
			for _, e := range h.rec.Errors() {
				t.Logf("callback recorder refused: %v", e)
			}
		}
		m.Kill()
	})

	ctx, cancel := context.WithTimeout(t.Context(), bootTimeout)
	defer cancel()
	ctx, stop := m.Context(ctx)
	defer stop()
	end, err := h.rec.Wait(ctx, vm.TypeReady, vm.TypeFailed)
	if err != nil {
		t.Fatalf("no ready event within %v of qemu start: %v", bootTimeout, err)
	}
	if end.Type == vm.TypeFailed {
		t.Fatalf("agent reported failed: %s", end.Raw)
	}
	b := &booted{m: m, ready: end, status: map[string]string{}}
	t.Logf("ready %v after qemu start; agent durationMs %v", end.Received.Sub(m.Started).Round(time.Millisecond), end.Data.DurationMs)

	for _, e := range h.rec.Events() {
		b.events = append(b.events, e)
		if e.ID == end.ID {
			break
		}
	}
	if errs := h.rec.Errors(); len(errs) > 0 {
		t.Errorf("callback recorder refused %d requests, first: %v", len(errs), errs[0])
	}
	checkSequence(t, b.events)
	if got := end.Data.InstanceID; got != instanceID {
		t.Errorf("ready data.instanceId = %q, want %q", got, instanceID)
	}
	if got, want := end.Source, "urn:ovfinit:instance:"+instanceID; got != want {
		t.Errorf("ready source = %q, want %q", got, want)
	}
	for _, e := range b.events {
		if e.SpecVersion != "1.0" {
			t.Errorf("event %s: specversion = %q, want 1.0", e.ID, e.SpecVersion)
		}
		if e.Type == vm.TypeStepFinished {
			b.status[e.Data.Step] = e.Data.Status
		}
	}
	return b
}

// checkSequence checks that the events arrived in sequence order, each one
// more than the last, ending in ready, and that every step.started has one
// step.finished after it and every step.finished but a skipped one has a
// step.started before it.
func checkSequence(t *testing.T, events []vm.Event) {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no events before ready")
	}
	for i := 1; i < len(events); i++ {
		if got, want := events[i].Sequence, events[i-1].Sequence+1; got != want {
			t.Errorf("event %d (%s %s) sequence = %d, want %d (previous %s)", i, events[i].Type, events[i].Data.Step, got, want, events[i-1].ID)
		}
	}
	if last := events[len(events)-1]; last.Type != vm.TypeReady {
		t.Errorf("last event = %s, want %s", last.Type, vm.TypeReady)
	}
	open := map[string]bool{}
	var pairs int
	for _, e := range events {
		switch e.Type {
		case vm.TypeStepStarted:
			if open[e.Data.Step] {
				t.Errorf("step %q started twice without finishing", e.Data.Step)
			}
			open[e.Data.Step] = true
		case vm.TypeStepFinished:
			// A skipped step (already done for this instance) may report
			// only its step.finished.
			if !open[e.Data.Step] && e.Data.Status != "skipped" {
				t.Errorf("step %q finished %s (event %s) without a step.started before it", e.Data.Step, e.Data.Status, e.ID)
			}
			delete(open, e.Data.Step)
			pairs++
		}
	}
	for s := range open {
		t.Errorf("step %q started but never finished before ready", s)
	}
	if pairs == 0 {
		t.Error("no step.started/step.finished pairs before ready")
	}
}

// checkSteps compares the step.finished statuses of the named steps.
func checkSteps(t *testing.T, b *booted, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for s := range want {
		if st, ok := b.status[s]; ok {
			got[s] = st
		} else {
			got[s] = "(no step.finished)"
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("step.finished statuses (-want +got):\n%s", diff)
	}
}

// checkHostKey checks the key the SSH client saw against ready's
// data.sshHostKeys and returns its fingerprint.
func checkHostKey(t *testing.T, ready vm.Event, key ssh.PublicKey) string {
	t.Helper()
	fp := ssh.FingerprintSHA256(key)
	keys := ready.Data.SSHHostKeys
	if len(keys) == 0 {
		t.Errorf("ready data.sshHostKeys is empty; the client saw %s %s", key.Type(), fp)
		return fp
	}
	// The server offers several key types; the client picks by its own
	// preference, so the key it saw must be one of those reported.
	for _, k := range keys {
		if k.Fingerprint == fp {
			return fp
		}
	}
	t.Errorf("ready data.sshHostKeys = %v, want one with fingerprint %q (the %s key the SSH client saw)", keys, fp, key.Type())
	return fp
}

// checkGuest runs commands in the guest as the user.
func checkGuest(t *testing.T, c *ssh.Client, instanceID string) {
	t.Helper()
	for _, tc := range []struct {
		cmd, want string
		contains  bool
	}{
		{cmd: "hostname", want: guestHostname},
		{cmd: "id -un", want: guestUser},
		{cmd: "ip -4 addr show", want: "inet 10.0.2.15/24", contains: true},
		{cmd: "cat /etc/ovfinit-e2e-script", want: "instance=" + instanceID},
	} {
		out, err := runSSH(c, tc.cmd)
		switch {
		case err != nil:
			t.Errorf("ssh %q: %v (output %q)", tc.cmd, err, out)
		case tc.contains && !strings.Contains(out, tc.want):
			t.Errorf("ssh %q = %q, want it to contain %q", tc.cmd, out, tc.want)
		case !tc.contains && strings.TrimSpace(out) != tc.want:
			t.Errorf("ssh %q = %q, want %q", tc.cmd, strings.TrimSpace(out), tc.want)
		}
	}
}

func runSSH(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// dialOnce makes one SSH connection attempt; hostKey, if set, receives the
// server's host key.
func dialOnce(addr, user string, signer ssh.Signer, hostKey *ssh.PublicKey) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if hostKey != nil {
				*hostKey = key
			}
			return nil
		},
		Timeout: 20 * time.Second,
	})
}

// dial logs in as the user, retrying while the guest's server comes up.
func (h *harness) dial(t *testing.T, m *vm.Machine, signer ssh.Signer) (*ssh.Client, ssh.PublicKey) {
	t.Helper()
	deadline := time.Now().Add(sshTimeout)
	for {
		var key ssh.PublicKey
		c, err := dialOnce(m.SSHAddr(), guestUser, signer, &key)
		if err == nil {
			return c, key
		}
		if time.Now().After(deadline) {
			t.Fatalf("SSH to %s as %s: %v (retried for %v)", m.SSHAddr(), guestUser, err, sshTimeout)
		}
		select {
		case <-m.Done():
			t.Fatalf("SSH to %s: qemu exited (%v); last error %v", m.SSHAddr(), m.ExitErr(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (h *harness) poweroff(t *testing.T, b *booted) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), poweroffTimeout)
	defer cancel()
	start := time.Now()
	if err := b.m.Poweroff(ctx); err != nil {
		t.Errorf("Poweroff: %v", err)
		return
	}
	t.Logf("powered off in %v", time.Since(start).Round(time.Millisecond))
}
