package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
	gossh "golang.org/x/crypto/ssh"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk test@example"

// fakeEvents records what the runner emits.
type fakeEvents struct {
	events  []recorded
	started *callback.Config
}

type recorded struct {
	Type string
	Data callback.Data
}

func (f *fakeEvents) Emit(typ string, d callback.Data) { f.events = append(f.events, recorded{typ, d}) }

// Start keeps the real sender's contract: a URL and an instance id.
func (f *fakeEvents) Start(cfg callback.Config) error {
	if _, err := callback.ValidateURL(cfg.URL); err != nil {
		return err
	}
	if cfg.InstanceID == "" {
		return fmt.Errorf("empty instance id")
	}
	f.started = &cfg
	return nil
}

// lines renders the events as "type step status" for diffing.
func (f *fakeEvents) lines() []string {
	var out []string
	for _, e := range f.events {
		t := strings.TrimPrefix(e.Type, "org.ovfinit.")
		switch t {
		case "ready":
			out = append(out, "ready "+e.Data.InstanceID)
		case "failed":
			out = append(out, fmt.Sprintf("failed %s %s retry=%v", e.Data.Step, e.Data.Result, *e.Data.Retry))
		default:
			out = append(out, t+" "+e.Data.Step+" "+e.Data.Status)
		}
	}
	return out
}

// fakeNet is a machine with one NIC (or the links netLinks sets); it
// records the ops applied.
// fakeNet records the ops applied, and how often it was opened and closed.
type fakeNet struct {
	applied []string
	opens   int
	closes  int
	// hidden is how many more Current calls answer without the NIC (it
	// appears later, as a driver udev loads adds it).
	hidden int
	// renaming is how many more Current calls answer with eth0 that udev
	// has not finished with; after them it is ens3 (udev renamed it).
	renaming int
	// failApply, when set, fails the next Apply (and is cleared); addrs
	// are eth0's global addresses.
	failApply error
	addrs     []netip.Prefix
	// renamedNow: udev renamed eth0 to ens3 (a test's step sets it);
	// renameOnFail sets it when failApply fails an Apply.
	renamedNow, renameOnFail bool
	// currents and udevChecks count the calls of Current and UdevDone.
	currents, udevChecks int
	// handOver is what the agent gave HoldHandOver.
	handOver <-chan struct{}
}

// HoldHandOver is netcfg.Linux's hold on the image's DHCP client.
func (f *fakeNet) HoldHandOver(ch <-chan struct{}) { f.handOver = ch }

// WaitHandOver is netcfg.Linux's wait for the image's client to have
// been run: here, for the hold to be released.
func (f *fakeNet) WaitHandOver(ctx context.Context) error {
	if f.handOver == nil {
		return nil
	}
	select {
	case <-f.handOver:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UdevDone is netcfg.Linux's cheap look at one NIC: like Current, it uses
// up a call of renaming, and is true once udev has renamed the NIC.
func (f *fakeNet) UdevDone(index int) bool {
	f.udevChecks++
	if f.renaming > 0 {
		if f.renaming--; f.renaming == 0 {
			f.renaming = -1
		}
		return false
	}
	return true
}

func (f *fakeNet) Close() error {
	f.closes++
	return nil
}

// netLinks, when set, replaces fakeNet's one NIC (net_test.go).
var netLinks []netcfg.Link

func (f *fakeNet) Current() (netcfg.Current, error) {
	f.currents++
	if f.hidden > 0 {
		f.hidden--
		return netcfg.Current{Links: []netcfg.Link{{Index: 1, Name: "lo", Up: true}}}, nil
	}
	if netLinks != nil {
		return netcfg.Current{Links: netLinks}, nil
	}
	m, _ := net.ParseMAC("52:54:00:12:34:56")
	if f.renaming > 0 {
		if f.renaming--; f.renaming == 0 {
			f.renaming = -1 // renamed, from the next call on
		}
		return netcfg.Current{Links: []netcfg.Link{{Index: 1, Name: "lo", Up: true}, {Index: 2, Name: "eth0", MAC: m, Ethernet: true, Pending: true}}}, nil
	}
	if f.renaming < 0 || f.renamedNow {
		return netcfg.Current{Links: []netcfg.Link{{Index: 1, Name: "lo", Up: true}, {Index: 2, Name: "ens3", MAC: m, Ethernet: true}}}, nil
	}
	return netcfg.Current{Links: []netcfg.Link{{Index: 1, Name: "lo", Up: true}, {Index: 2, Name: "eth0", MAC: m, Ethernet: true, Addrs: f.addrs}}}, nil
}

func (f *fakeNet) Apply(ctx context.Context, ops []netcfg.Op) error {
	if err := f.failApply; err != nil {
		f.failApply = nil
		if f.renameOnFail {
			f.renamedNow = true
		}
		return err
	}
	for _, o := range ops {
		f.applied = append(f.applied, o.String())
	}
	return nil
}

// fakeSSH is a server that records its config and the keys added after
// start.
type fakeSSH struct {
	cfg     sshd.Config
	mu      sync.Mutex
	added   []gossh.Signer
	stopped bool // StopListening was called
}

func (f *fakeSSH) AddHostKey(k gossh.Signer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, k)
}

func (f *fakeSSH) Addr() net.Addr                     { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22} }
func (f *fakeSSH) Shutdown(ctx context.Context) error { return nil }
func (f *fakeSSH) StopListening() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	return nil
}

// machine is a test VM: a temp root with an /etc, and fakes for the rest.
type machine struct {
	t        *testing.T
	root     string
	net      *fakeNet
	hostname string
	ssh      *fakeSSH
}

func newMachine(t *testing.T) *machine {
	root := t.TempDir()
	writeImageRoot(t, root)
	return &machine{t: t, root: root}
}

// writeImageRoot gives root the files of a minimal Linux image: root's
// account (passwd, group, shadow) and /etc/hosts.
func writeImageRoot(tb testing.TB, root string) {
	tb.Helper()
	for name, content := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":  "root:x:0:\n",
		"etc/shadow": "root:*:19000:0:99999:7:::\n",
		"etc/hosts":  "127.0.0.1\tlocalhost\n",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// boot runs the pipeline once, with the environment XML on a fake ISO (or
// none when xml is empty).
func (m *machine) boot(xml string) (*Env, *fakeEvents, error) {
	e, ev := m.env(xml)
	err := Run(context.Background(), e, Steps())
	return e, ev, err
}

// env wires an Env to the machine's fakes, without running anything.
func (m *machine) env(xml string) (*Env, *fakeEvents) {
	ev := &fakeEvents{}
	m.net = &fakeNet{}
	clock := time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC)
	e := &Env{
		Log:      slog.New(slog.NewTextHandler(m.t.Output(), nil)),
		Root:     m.root,
		StateDir: "/var/lib/ovfinit",
		OS:       "linux", // the test root is a Linux image on every OS
		BootID:   NewBootID(),
		Live:     true,
		Now:      func() time.Time { clock = clock.Add(time.Millisecond); return clock },
		Events:   ev,
		FindEnv: func(ctx context.Context, e *Env) (*ovfenv.Source, error) {
			if xml == "" {
				return nil, fmt.Errorf("%w: no device labelled OVF ENV appeared within 1s", ovfenv.ErrNoEnvironment)
			}
			return &ovfenv.Source{Transport: "iso", Location: "/dev/sr0", Data: []byte(xml)}, nil
		},
		Network:     func(string) (netcfg.System, error) { m.net.opens++; return m.net, nil },
		SetHostname: func(_ context.Context, _, short string) (bool, error) { m.hostname = short; return false, nil },
		SystemUUID:  func(string) (string, error) { return "4c4c4544-0000-1000-8000-000000000001", nil },
		CreateUser:  testCreateUser,
		Commands:    &recordRunner{}, // user-data's commands never run on the test host
		StartSSH: func(cfg sshd.Config) (SSHServer, error) {
			m.ssh = &fakeSSH{cfg: cfg}
			return m.ssh, nil
		},
	}
	return e, ev
}

func (m *machine) exists(path string) bool {
	_, err := os.Stat(filepath.Join(m.root, path))
	return err == nil
}

func (m *machine) read(path string) string {
	b, err := os.ReadFile(filepath.Join(m.root, path))
	if err != nil {
		m.t.Fatal(err)
	}
	return string(b)
}

// envXML builds an environment with the given properties, in order; the
// values are written Go-quoted (%q), not XML-escaped (xmlEnv).
func envXML(props ...string) string { return envDocument(props, strconv.Quote) }

// envDocument builds an environment with the given properties, in order,
// each value written as attr writes it (quotes included).
func envDocument(props []string, attr func(string) string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="vm-1">
  <PropertySection>
`)
	for i := 0; i+1 < len(props); i += 2 {
		fmt.Fprintf(&b, "    <Property oe:key=%q oe:value=%s/>\n", props[i], attr(props[i+1]))
	}
	b.WriteString("  </PropertySection>\n</Environment>\n")
	return b.String()
}

// failedAt checks that a boot failed with an error mentioning each of
// wantErr and that its last event is failed at step with retry.
func failedAt(t *testing.T, ev *fakeEvents, err error, wantErr []string, step string, retry bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("Run() = nil, want an error")
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Run() error = %q, want it to mention %q", err, w)
		}
	}
	last := ev.events[len(ev.events)-1]
	if last.Type != callback.TypeFailed || last.Data.Step != step || *last.Data.Retry != retry {
		t.Errorf("last event = %s step %q retry %v, want failed at %s with retry=%v", last.Type, last.Data.Step, *last.Data.Retry, step, retry)
	}
}

var script = base64.StdEncoding.EncodeToString([]byte(
	`file.write("/etc/script-ran", "instance=" + ovf.property("instance-id") + "\n")`))

func fullEnv(instance string) string {
	return envXML(
		"instance-id", instance,
		"hostname", "web1.example.com",
		"ovfinit.user", "ovfuser",
		"public-keys", testKey,
		"ovfinit.net.mac", "52:54:00:12:34:56",
		"ovfinit.net.address", "10.0.2.15/24",
		"ovfinit.net.gateway", "10.0.2.2",
		"ovfinit.net.dns", "10.0.2.3",
		"ovfinit.ssh.port", "2222",
		"ovfinit.script", script,
		"ovfinit.callback.url", "http://10.0.2.2:8080/events",
	)
}

var perInstance = []string{"hostname", "user", "host-key", "script"}

// cloudSteps apply #cloud-config user-data; they skip without it.
var cloudSteps = []string{"bootcmd", "write-files", "cloud-users", "packages", "write-files-deferred", "runcmd", "cloud-final"}

func TestFirstBoot(t *testing.T) {
	m := newMachine(t)
	e, ev, err := m.boot(fullEnv("i-1"))
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	var want []string
	for _, s := range Steps() {
		if contains(cloudSteps, s.Name) || s.Name == "system" {
			// No #cloud-config user-data; in no system: nothing to do,
			// known before the step starts, so it is not started.
			want = append(want, "step.finished "+s.Name+" skipped")
			continue
		}
		want = append(want, "step.started "+s.Name+" started", "step.finished "+s.Name+" ok")
	}
	want = append(want, "ready i-1")
	if diff := cmp.Diff(want, ev.lines()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if ev.started == nil || ev.started.URL != "http://10.0.2.2:8080/events" || ev.started.InstanceID != "i-1" {
		t.Errorf("Events.Start(%+v), want the callback URL and instance i-1", ev.started)
	}
	ready := ev.events[len(ev.events)-1].Data
	if len(ready.SSHHostKeys) != 2 || ready.SSHHostKeys[0].Fingerprint != sshd.Fingerprint(e.HostKey.PublicKey()) {
		t.Errorf("ready host keys = %+v, want the generated ed25519 and ECDSA keys' fingerprints", ready.SSHHostKeys)
	}
	// The public keys too, so a manager can write the known_hosts line.
	if want := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(e.HostKey.PublicKey()))); len(ready.SSHHostKeys) == 0 || ready.SSHHostKeys[0].Key != want {
		t.Errorf("ready host keys = %+v, want the ed25519 key %q", ready.SSHHostKeys, want)
	}
	if ready.Hostname != "web1.example.com" || !cmp.Equal(ready.Addresses, []string{"10.0.2.15/24"}) || ready.SSHPort != 2222 {
		t.Errorf("ready data = %+v, want hostname, address and port from the environment", ready)
	}

	if m.hostname != "web1" {
		t.Errorf("live host name = %q, want web1", m.hostname)
	}
	if got := m.read("etc/hostname"); got != "web1\n" {
		t.Errorf("/etc/hostname = %q, want web1", got)
	}
	if got := m.read("etc/hosts"); got != "127.0.0.1\tlocalhost\n127.0.1.1\tweb1.example.com web1\n" {
		t.Errorf("/etc/hosts = %q", got)
	}
	wantOps := []string{"link set eth0 up", "addr replace 10.0.2.15/24 dev eth0", "route replace default via 10.0.2.2 dev eth0", "dns set 10.0.2.3"}
	if diff := cmp.Diff(wantOps, m.net.applied); diff != "" {
		t.Errorf("network ops mismatch (-want +got):\n%s", diff)
	}
	// Windows accounts have no home under the root (testCreateUser:
	// users.MemAccounts); their keys are in the key store.
	if runtime.GOOS != "windows" {
		if got := m.read("home/ovfuser/.ssh/authorized_keys"); got != testKey+"\n" {
			t.Errorf("authorized_keys = %q", got)
		}
	}
	if m.ssh == nil || m.ssh.cfg.Addr != ":2222" {
		t.Errorf("SSH server config = %+v, want it on :2222", m.ssh)
	}
	if got := m.read("etc/script-ran"); got != "instance=i-1\n" {
		t.Errorf("script output = %q", got)
	}
	checkPrivate(t, filepath.Join(m.root, "var/lib/ovfinit", sshd.HostKeyFile(sshd.KeyEd25519)))
	checkPrivate(t, filepath.Join(m.root, "var/lib/ovfinit", ovfenv.SavedRedactedName)) // kept
	if _, err := os.Stat(filepath.Join(m.root, "var/lib/ovfinit", ovfenv.SavedClearName)); err == nil {
		t.Errorf("the clear copy %s is still there after a boot that reached ready", ovfenv.SavedClearName)
	}
	st, err := ReadStatus(PublicStatusPath(m.root, ""))
	if err != nil || st.Phase != PhaseReady || st.InstanceID != "i-1" || len(st.Steps) != len(Steps()) {
		t.Errorf("status = %+v, %v; want ready for i-1 with every step", st, err)
	}

	t.Run("reboot keeps the instance", func(t *testing.T) {
		os.Remove(filepath.Join(m.root, "etc/script-ran"))
		e2, ev2, err := m.boot(fullEnv("i-1"))
		if err != nil {
			t.Fatalf("Run() = %v", err)
		}
		for _, r := range ev2.events {
			if r.Type == callback.TypeStepFinished {
				wantStatus := "ok"
				if contains(perInstance, r.Data.Step) || contains(cloudSteps, r.Data.Step) || r.Data.Step == "system" {
					wantStatus = "skipped"
				}
				if r.Data.Status != wantStatus {
					t.Errorf("step %s: status %q, want %q", r.Data.Step, r.Data.Status, wantStatus)
				}
			}
		}
		if m.exists("etc/script-ran") {
			t.Errorf("the per-instance script ran again on a reboot")
		}
		if sshd.Fingerprint(e2.HostKey.PublicKey()) != sshd.Fingerprint(e.HostKey.PublicKey()) {
			t.Errorf("host key changed across a reboot of the same instance")
		}
	})

	t.Run("missing environment keeps what was applied", func(t *testing.T) {
		e3, ev3, err := m.boot("")
		if err != nil {
			t.Fatalf("Run() without an environment = %v", err)
		}
		if e3.InstanceID != "i-1" || e3.Source.Transport != "saved" {
			t.Errorf("instance %q from %q, want i-1 from the saved environment", e3.InstanceID, e3.Source.Transport)
		}
		if last := ev3.lines()[len(ev3.lines())-1]; last != "ready i-1" {
			t.Errorf("last event %q, want ready i-1", last)
		}
		if m.exists("etc/script-ran") {
			t.Errorf("a missing environment made the script run again")
		}
	})

	t.Run("new instance id runs per-instance steps again", func(t *testing.T) {
		e4, ev4, err := m.boot(fullEnv("i-2"))
		if err != nil {
			t.Fatalf("Run() = %v", err)
		}
		for _, r := range ev4.events {
			// A step with nothing to do (no user-data) skips with its
			// reason; none may skip as already run.
			if r.Type == callback.TypeStepFinished && r.Data.Status != "ok" && (r.Data.Status != "skipped" || strings.HasPrefix(r.Data.Message, "already ran")) {
				t.Errorf("step %s: status %q, want ok for a new instance", r.Data.Step, r.Data.Status)
			}
		}
		if sshd.Fingerprint(e4.HostKey.PublicKey()) == sshd.Fingerprint(e.HostKey.PublicKey()) {
			t.Errorf("a new instance kept the old instance's host key")
		}
		if got := m.read("etc/script-ran"); got != "instance=i-2\n" {
			t.Errorf("script output = %q, want instance=i-2", got)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestInstanceIdentity(t *testing.T) {
	tests := []struct {
		name, xml, want string
	}{
		{"instance-id property", envXML("instance-id", "i-9"), "i-9"},
		{"Environment id", envXML("hostname", "h"), "vm-1"},
		{"SMBIOS UUID", strings.Replace(envXML("hostname", "h"), ` oe:id="vm-1"`, "", 1), "4c4c4544-0000-1000-8000-000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, err := newMachine(t).boot(tt.xml)
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if e.InstanceID != tt.want {
				t.Errorf("instance id = %q, want %q", e.InstanceID, tt.want)
			}
		})
	}
}

// TestBadInput checks that bad environments fail before anything changes,
// with an error naming the property or line, a failed event with
// retry=false, and a failed status.
func TestBadInput(t *testing.T) {
	cb := []string{"ovfinit.callback.url", "http://127.0.0.1:9/events"}
	withCB := envXML(append(cb, "hostname", "web1", "ovfinit.user", "bob", "ovfinit.net.address", "10.0.2.15/24")...)
	tests := []struct {
		name      string
		xml       string
		wantStep  string
		wantErr   []string
		wantRetry bool
		wantCB    bool // whether the failure can still be reported
	}{
		{"truncated XML", withCB[:len(withCB)*4/5], "parse-environment", []string{"line 8", "unexpected EOF"}, false, true},
		{"not XML", "this is not XML", "parse-environment", []string{"line 1"}, false, false},
		{"bad address", envXML(append(cb, "ovfinit.net.address", "10.0.2.300/24")...), "validate",
			[]string{"ovfinit.net.address", "line 6", "10.0.2.300/24"}, false, true},
		{"unknown MAC", envXML(append(cb, "ovfinit.net.address", "10.0.2.15/24", "ovfinit.net.mac", "00:11:22:33:44:55")...), "validate",
			[]string{"ovfinit.net.mac", "no network interface has this MAC", "00:11:22:33:44:55"}, false, true},
		{"gateway outside the subnet", envXML(append(cb, "ovfinit.net.address", "10.0.2.15/24", "ovfinit.net.gateway", "10.9.9.9")...), "validate",
			[]string{"ovfinit.net.gateway", "outside 10.0.2.0/24"}, false, true},
		{"several problems at once", envXML(append(cb, "hostname", "bad_host!", "ovfinit.ssh.port", "99999", "public-keys", "ssh-ed25519 garbage", "ovfinit.script", "!!notbase64")...), "validate",
			[]string{"property hostname", "property ovfinit.ssh.port", "property public-keys", "property ovfinit.script"}, false, true},
		{"script syntax error", envXML(append(cb, "ovfinit.script", base64.StdEncoding.EncodeToString([]byte("x = (\n")))...), "validate",
			[]string{"ovfinit.script", ":2:"}, false, true},
		{"bad callback URL", envXML("ovfinit.callback.url", "ftp://x/y"), "validate", []string{"ovfinit.callback.url", "ftp"}, false, false},
		{"no environment at all", "", "find-environment", []string{"no OVF environment found"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			_, ev, err := m.boot(tt.xml)
			failedAt(t, ev, err, tt.wantErr, tt.wantStep, tt.wantRetry)
			if (ev.started != nil) != tt.wantCB {
				t.Errorf("callback started = %v, want %v", ev.started != nil, tt.wantCB)
			}
			st, serr := ReadStatus(PublicStatusPath(m.root, ""))
			if serr != nil || st.Phase != PhaseFailed || st.Retry == nil || *st.Retry != tt.wantRetry {
				t.Errorf("status = %+v, %v; want failed, retry=%v", st, serr, tt.wantRetry)
			}
			// Nothing was applied.
			for _, p := range []string{"etc/hostname", "home", "var/lib/ovfinit/" + sshd.HostKeyFile(sshd.KeyEd25519), "var/lib/ovfinit/" + ovfenv.SavedClearName, "var/lib/ovfinit/state.json"} {
				if m.exists(p) {
					t.Errorf("%s exists after a failed validation: a change was half-applied", p)
				}
			}
			if len(m.net.applied) > 0 || m.hostname != "" || m.ssh != nil {
				t.Errorf("live changes after a failed validation: net %v, hostname %q, ssh %v", m.net.applied, m.hostname, m.ssh)
			}
			if got := m.read("etc/passwd"); got != "root:x:0:0:root:/root:/bin/sh\n" {
				t.Errorf("/etc/passwd changed: %q", got)
			}
		})
	}
}

// b64 is standard base64, as properties carry scripts and network-config.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestSeedFromWarns: cloud-init's seedfrom is accepted (the boot reaches
// ready) and a warning names it, since ovfinit fetches nothing.
func TestSeedFromWarns(t *testing.T) {
	m := newMachine(t)
	e, _ := m.env(envXML("instance-id", "i-seed", "seedfrom", "http://169.254.169.254/seed/"))
	var log bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(&log, nil))
	if err := Run(context.Background(), e, Steps()); err != nil {
		t.Fatalf("Run with seedfrom = %v, want ready", err)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "property=seedfrom") {
		t.Errorf("log has no warning naming seedfrom:\n%s", log.String())
	}
}

// TestCallbackSavedForLaterCommands: the callback settings, secret included,
// outlive the boot in a 0600 file (the clear environment does not), and an
// environment without a callback URL removes an earlier one.
func TestCallbackSavedForLaterCommands(t *testing.T) {
	m := newMachine(t)
	secret := "s3cret-for-signing"
	if _, _, err := m.boot(envXML("instance-id", "i-cb", "ovfinit.callback.url", "http://127.0.0.1:9/e",
		"ovfinit.callback.secret", secret)); err != nil {
		t.Fatal(err)
	}
	cfg, ok, err := LoadCallback(m.root, "")
	if err != nil || !ok {
		t.Fatalf("LoadCallback = %v, %v; want the saved configuration", ok, err)
	}
	if cfg.URL != "http://127.0.0.1:9/e" || cfg.InstanceID != "i-cb" || string(cfg.Secret) != secret {
		t.Errorf("LoadCallback = %+v, want the URL, instance and secret of the boot", cfg)
	}
	checkPrivate(t, filepath.Join(m.root, filepath.FromSlash(DefaultRuntimeDir), savedCallbackFile))
	if _, _, err := m.boot(envXML("instance-id", "i-cb2")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := LoadCallback(m.root, ""); ok || err != nil {
		t.Errorf("after a boot without callback URL, LoadCallback ok = %v, %v; want none", ok, err)
	}
}

// TestReadyHostnameOffline: with --root other than / (Live false) the ready
// event reports the hostname property, or none at all, never the name of
// the machine the agent runs on (the build host).
func TestReadyHostnameOffline(t *testing.T) {
	tests := []struct {
		name  string
		props []string
		live  bool
		want  func() string
	}{
		{"offline, no property", nil, false, func() string { return "" }},
		{"offline, property", []string{"hostname", "web1"}, false, func() string { return "web1" }},
		{"live, no property", nil, true, func() string { h, _ := os.Hostname(); return h }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			e, ev := m.env(envXML(append([]string{"instance-id", "i-h"}, tt.props...)...))
			e.Live = tt.live
			if err := Run(context.Background(), e, Steps()); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			ready := ev.events[len(ev.events)-1]
			if ready.Type != callback.TypeReady || ready.Data.Hostname != tt.want() {
				t.Errorf("last event %s hostname %q, want ready with %q", ready.Type, ready.Data.Hostname, tt.want())
			}
		})
	}
}
