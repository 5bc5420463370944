package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
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
	"github.com/ovfinit/ovfinit/internal/webhooktest"
)

// What the VM tests share: one harness per test (assets, a callback
// recorder, a state disk, the user's key), booting a VM and waiting for the
// agent's ready event, checking the events it sent, SSH into the guest,
// and power off. Each vm_<x>_test.go says what it checks with these.

const (
	bootTimeout     = 4 * time.Minute // qemu start to ready, under TCG on a shared machine
	sshTimeout      = 2 * time.Minute
	poweroffTimeout = 2 * time.Minute
	guestUser       = "ovfuser"
	guestHostname   = "ovf-e2e"
	consoleTail     = 80 // serial console lines logged when a boot's test fails
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

// harness is what the boots of one VM test share.
type harness struct {
	dir    string
	assets *vm.Assets
	rec    *vm.Recorder
	secret string // ovfinit.callback.secret of h.env; the recorder checks it
	disk   string
	signer ssh.Signer // the user's key
	// bootTimeout is qemu start to ready or failed; default bootTimeout.
	bootTimeout time.Duration
}

// setup is what a test's harness differs in; the zero value is the
// standard one (TestFirstBoot's).
type setup struct {
	// dir is the test's work directory, if the test made it (to build
	// something the initramfs takes) before the harness; default a new
	// t.TempDir().
	dir string
	// initramfs are the guest initramfs's options; vm.PrepareInitramfs
	// fills in an empty Kernel and Agent.
	initramfs vm.InitramfsOptions
	// secret is the callback secret the guests sign with and the
	// recorder checks (startRecorder); default a fresh whsec_ one.
	secret string
	// signer is the user's key; default a new one.
	signer ssh.Signer
}

// newHarness prepares the assets, the recorder (closed at the end of the
// test), the state disk and the user's key.
func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	start := time.Now()
	h := &harness{dir: s.dir, signer: s.signer}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	var err error
	if h.assets, err = vm.PrepareInitramfs(t.Context(), h.dir, s.initramfs); err != nil {
		t.Fatalf("preparing the VM: %v", err)
	}
	t.Logf("kernel %s, agent and initramfs built in %v", h.assets.Kernel.Dir, time.Since(start).Round(time.Millisecond))
	h.startRecorder(t, s.secret)
	h.disk = filepath.Join(h.dir, "state.img")
	if err := vm.NewDisk(h.disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	if h.signer == nil {
		h.signer = newSigner(t)
	}
	return h
}

// newSecret returns a fresh Standard Webhooks secret: "whsec_" and the
// base64 of 32 random bytes.
func newSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// startRecorder starts the harness's callback recorder, closed at the end
// of the test, checking every request against secret (a fresh whsec_ one
// when empty), which h.env gives the guests. Every VM test signs: at the
// end of the test a request the recorder refused for its signature fails
// it, and every message it accepted (events, system requests and answers)
// is checked, in one node run, with the npm standardwebhooks library, as a
// manager would check it.
func (h *harness) startRecorder(t *testing.T, secret string) {
	t.Helper()
	if secret == "" {
		secret = newSecret(t)
	}
	var err error
	if h.rec, err = vm.NewSignedRecorder([]byte(secret)); err != nil {
		t.Fatal(err)
	}
	h.secret = secret
	t.Cleanup(func() { h.rec.Close() })
	t.Cleanup(func() { checkSignatures(t, h.rec) })
}

// checkSignatures fails t for every request rec refused for its
// signature, and checks every signed message it recorded with the npm
// standardwebhooks library (verifySigned).
func checkSignatures(t testing.TB, rec *vm.Recorder) {
	t.Helper()
	bad := rec.SignatureErrors()
	for i, err := range bad {
		if i == 5 {
			t.Errorf("... and %d more requests refused for their signature", len(bad)-i)
			break
		}
		t.Errorf("the recorder refused a request for its signature: %v", err)
	}
	verifySigned(t, string(rec.Secret()), rec.SignedMessages())
}

// verifySigned checks signed messages with the npm standardwebhooks
// package under node (internal/webhooktest), each against the time it was
// received.
func verifySigned(t testing.TB, secret string, msgs []vm.Signed) {
	t.Helper()
	if len(msgs) == 0 {
		// A test whose guests have no callback URL (TestCloudInitEnvImage
		// boots cloud-init's own environments) sends nothing to check; one
		// that waits for events fails on the wait.
		t.Log("no signed message recorded: the guests sent no event")
		return
	}
	reqs := make([]webhooktest.Request, len(msgs))
	for i, m := range msgs {
		// ID is what the library must find in the payload: the body's
		// id, which the signature's webhook-id repeats (an answer's is
		// its request's).
		reqs[i] = webhooktest.Request{Secret: secret, Header: m.Header, Body: m.Body, WantOK: true, Received: m.Received,
			ID: m.Header.Get("webhook-id")}
	}
	webhooktest.Verify(t, reqs)
	kinds := map[string]int{}
	for _, m := range msgs {
		kinds[m.Kind]++
	}
	t.Logf("signed messages checked with standardwebhooks (npm): %v", kinds)
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, s := newKey(t)
	return s
}

// newKey makes a new ed25519 key and its signer.
func newKey(t *testing.T) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s
}

// env is the standard guest environment for instance id: the host name,
// the user with the harness's key, the recorder as callback, and script.
func (h *harness) env(id string) vm.GuestEnv {
	return vm.GuestEnv{
		InstanceID:     id,
		Hostname:       guestHostname,
		User:           guestUser,
		PublicKey:      strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.signer.PublicKey()))),
		CallbackURL:    h.rec.GuestURL(),
		CallbackSecret: h.secret,
		Script:         script,
	}
}

// iso writes the standard environment for instance id into its own ISO.
func (h *harness) iso(t *testing.T, id string) string {
	t.Helper()
	return h.isoOf(t, id, h.env(id).Properties())
}

// envXML is the ovf-env.xml of props.
func envXML(t *testing.T, props []vm.Property) []byte {
	t.Helper()
	x, err := vm.EnvironmentXML(props)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// isoOf writes an environment of props into an ISO in its own directory,
// name, under the harness's.
func (h *harness) isoOf(t *testing.T, name string, props []vm.Property) string {
	t.Helper()
	dir := filepath.Join(h.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	iso, err := vm.BuildISO(dir, envXML(t, props))
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}
	return iso
}

// withNICs adds extra NICs to a boot's qemu options.
func withNICs(nics []vm.NIC) func(*vm.Options) {
	return func(o *vm.Options) { o.ExtraNICs = nics }
}

// start boots qemu with o and kills it at the end of the test. On a failure
// of the test it logs the qemu command line, the console's tail and what
// the recorder refused. The serial console goes to a file named after the
// test, unless o names one, and to the test's output under
// OVFINIT_E2E_CONSOLE.
func (h *harness) start(t *testing.T, o vm.Options) *vm.Machine {
	t.Helper()
	if o.SerialLog == "" {
		o.SerialLog = filepath.Join(h.dir, strings.ReplaceAll(t.Name(), "/", "_")+".serial")
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
			t.Logf("serial console (last %d lines):\n%s", consoleTail, m.Tail(consoleTail))
			for _, e := range h.rec.Errors() {
				t.Logf("callback recorder refused: %v", e)
			}
		}
		m.Kill()
	})
	return m
}

// bootToEnd boots the harness's assets and disk with iso (none if empty)
// and returns the machine with the agent's ready or failed event, failing
// the test if neither comes within bootTimeout or qemu exits first.
func (h *harness) bootToEnd(t *testing.T, iso string, opts ...func(*vm.Options)) (*vm.Machine, vm.Event) {
	t.Helper()
	h.rec.Reset()
	o := vm.Options{Assets: h.assets, ISO: iso, Disk: h.disk}
	for _, f := range opts {
		f(&o)
	}
	m := h.start(t, o)
	timeout := h.bootTimeout
	if timeout == 0 {
		timeout = bootTimeout
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	ctx, stop := m.Context(ctx)
	defer stop()
	end, err := h.rec.Wait(ctx, vm.TypeReady, vm.TypeFailed)
	if err != nil {
		t.Fatalf("no ready or failed event within %v of qemu start: %v", timeout, err)
	}
	return m, end
}

// booted is one VM that reached ready.
type booted struct {
	m      *vm.Machine
	ready  vm.Event
	events []vm.Event        // up to and including ready
	status map[string]string // step -> status of its step.finished
}

// boot starts a VM and waits for the agent's ready event (failed fails the
// test). It checks the events up to ready: none refused by the recorder,
// in sequence (checkSequence), CloudEvents 1.0, and ready's instance id
// and source.
func (h *harness) boot(t *testing.T, iso, instanceID string, opts ...func(*vm.Options)) *booted {
	t.Helper()
	m, end := h.bootToEnd(t, iso, opts...)
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

// stepStatuses is the want of checkSteps for a whole pipeline: perBoot for
// every per-boot step, perInstance for every per-instance one.
func stepStatuses(perBoot, perInstance string) map[string]string {
	want := map[string]string{}
	for _, s := range perBootSteps {
		want[s] = perBoot
	}
	for _, s := range perInstanceSteps {
		want[s] = perInstance
	}
	return want
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

// checkGuest runs commands in the guest as the user: the standard
// environment's host name, user, address and script output.
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

// mustSSH is runSSH that fails the test on an error.
func mustSSH(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	out, err := runSSH(c, cmd)
	if err != nil {
		t.Fatalf("ssh %q: %v (output %q)", cmd, err, out)
	}
	return out
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

// dialAs logs in as user with signer, retrying while the guest's server
// comes up, for up to sshTimeout or until qemu exits; it returns the
// client and the host key the server showed.
func dialAs(t *testing.T, m *vm.Machine, user string, signer ssh.Signer) (*ssh.Client, ssh.PublicKey) {
	t.Helper()
	deadline := time.Now().Add(sshTimeout)
	for {
		var key ssh.PublicKey
		c, err := dialOnce(m.SSHAddr(), user, signer, &key)
		if err == nil {
			return c, key
		}
		if time.Now().After(deadline) {
			t.Fatalf("SSH to %s as %s: %v (retried for %v)", m.SSHAddr(), user, err, sshTimeout)
		}
		select {
		case <-m.Done():
			t.Fatalf("SSH to %s as %s: qemu exited (%v); last error %v", m.SSHAddr(), user, m.ExitErr(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// dial logs in as the user with signer (dialAs).
func (h *harness) dial(t *testing.T, m *vm.Machine, signer ssh.Signer) (*ssh.Client, ssh.PublicKey) {
	t.Helper()
	return dialAs(t, m, guestUser, signer)
}

// eventually polls cond every 200ms for up to d and reports whether it
// became true.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

func (h *harness) poweroff(t *testing.T, b *booted) {
	t.Helper()
	poweroff(t, b.m)
}

// poweroff asks the guest to power off and waits up to poweroffTimeout.
func poweroff(t *testing.T, m *vm.Machine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), poweroffTimeout)
	defer cancel()
	start := time.Now()
	if err := m.Poweroff(ctx); err != nil {
		t.Errorf("Poweroff: %v", err)
		return
	}
	t.Logf("powered off in %v", time.Since(start).Round(time.Millisecond))
}
