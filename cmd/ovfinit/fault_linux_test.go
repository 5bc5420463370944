package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestFaultKillRestart is the fault test with the real binary: the
// manager is down, `ovfinit run` is killed (SIGKILL) in the middle of the
// pipeline and started again on the same root, and only then does the
// manager (`ovfinit watch`) come up. Every event of both runs must reach
// watch exactly once, the killed run's first and in their order, then the
// second run's, ending with ready; the spool must be empty afterwards.
//
// The agent and watch run in a network namespace the test creates (so the
// agent's SSH server listens there, not on this machine's addresses), with
// --root in a temporary directory: nothing of the live machine changes.
// The script stops at a named pipe (file.read blocks until the test writes
// to it), which holds the pipeline mid-way for as long as the test needs.
func TestFaultKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ns := newNetNS(t)
	bin := buildOvfinit(t)

	const (
		instance = "fault-1"
		secret   = "fault-test-secret"
	)
	root := t.TempDir()
	for name, data := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":  "root:x:0:\n",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gate := filepath.Join(root, "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}

	// The manager's port: free in the namespace, and nobody listens on it
	// until watch starts.
	var port int
	inNS(t, ns, func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		port = l.Addr().(*net.TCPAddr).Port
		return l.Close()
	})

	script := `progress(10, "before the gate")
file.read("/gate")
progress(90, "after the gate")
`
	env := &ovfenv.Environment{Properties: []ovfenv.Property{
		{Key: "instance-id", Value: instance},
		{Key: "hostname", Value: "fault1.example.net"},
		{Key: "ovfinit.ssh.port", Value: "2222"},
		{Key: "ovfinit.script", Value: base64.StdEncoding.EncodeToString([]byte(script))},
		{Key: "ovfinit.callback.url", Value: fmt.Sprintf("http://127.0.0.1:%d/events", port)},
		{Key: "ovfinit.callback.secret", Value: secret},
	}}
	doc, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "ovf-env.xml")
	if err := os.WriteFile(envFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(root, "var/lib/ovfinit/spool")
	runArgs := []string{"run", "--root", root, "--env", envFile, "--log-level", "debug"}

	// Run 1: the manager is down; kill the agent while its script waits.
	run1, log1 := startBin(t, ns, bin, "run1", runArgs...)
	first := waitSpool(t, spool, log1, func(evs []callback.Event) bool {
		return slices.ContainsFunc(evs, isProgress("10% before the gate"))
	})
	if err := run1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run1.Wait()
	killed := readSpool(t, spool)
	if diff := cmp.Diff(ids(first), ids(killed)); diff != "" {
		t.Fatalf("spool changed between the check and the kill (-before +after):\n%s", diff)
	}
	boot1 := killed[0].Data.Boot
	for i, ev := range killed {
		if want := fmt.Sprintf("%s-%d", boot1, i+1); ev.ID != want || ev.Source != callback.SourcePrefix+instance {
			t.Fatalf("spooled event %d = %s from %q, want %s from instance %s", i, ev.ID, ev.Source, want, instance)
		}
	}
	t.Logf("run 1 killed with %d events in the spool, the last %s", len(killed), killed[len(killed)-1].Type)

	// Run 2 on the same root: the manager is still down while it replays
	// the spool and reaches the gate again.
	run2, log2 := startBin(t, ns, bin, "run2", runArgs...)
	t.Cleanup(func() { run2.Process.Kill() })
	waitSpool(t, spool, log2, func(evs []callback.Event) bool {
		return slices.ContainsFunc(evs, func(ev callback.Event) bool {
			return ev.Data.Boot != boot1 && isProgress("10% before the gate")(ev)
		})
	})

	// The manager comes up.
	watch := exec.Command(bin, "watch", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--secret", secret,
		"--instance", instance, "--json", "--timeout", "3m")
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var watchErr bytes.Buffer
	watch.Stderr = &watchErr
	startInNS(t, ns, watch)
	t.Cleanup(func() { watch.Process.Kill() })
	lines := make(chan callback.Event, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev callback.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("watch printed %q: %v", sc.Text(), err)
				continue
			}
			lines <- ev
		}
	}()
	var got []callback.Event
	timeout := time.After(2 * time.Minute)
	released := false
receive:
	for {
		select {
		case ev, ok := <-lines:
			if !ok {
				break receive
			}
			got = append(got, ev)
			if !released && ev.Data.Boot != boot1 && isProgress("10% before the gate")(ev) {
				released = true
				if err := openGate(gate); err != nil {
					t.Fatal(err)
				}
			}
		case <-timeout:
			t.Fatalf("watch saw %d events in 2 minutes and no ready; run 2 log:\n%s", len(got), readLog(log2))
		}
	}
	if err := watch.Wait(); err != nil {
		t.Errorf("ovfinit watch: %v, want exit 0; stderr:\n%s", err, watchErr.String())
	}
	t.Logf("watch: %s", strings.TrimSpace(watchErr.String()))
	if !strings.Contains(watchErr.String(), ", 0 refused)") {
		t.Errorf("watch refused events, want none: %s", watchErr.String())
	}

	// The killed run's events first, unchanged and in order; then run 2's,
	// numbered from 1 without a gap, ending with ready.
	if len(got) <= len(killed) {
		t.Fatalf("watch saw %d events, fewer than the %d the killed run left", len(got), len(killed))
	}
	if diff := cmp.Diff(ids(killed), ids(got[:len(killed)])); diff != "" {
		t.Errorf("the killed run's events at watch (-spooled +received):\n%s", diff)
	}
	second := got[len(killed):]
	boot2 := second[0].Data.Boot
	if boot2 == boot1 {
		t.Errorf("run 2 has the boot id %s of run 1", boot2)
	}
	for i, ev := range second {
		if want := fmt.Sprintf("%s-%d", boot2, i+1); ev.ID != want {
			t.Errorf("run 2's event %d at watch = %s (%s), want %s", i, ev.ID, ev.Type, want)
		}
	}
	if last := second[len(second)-1]; last.Type != callback.TypeReady {
		t.Errorf("last event = %s, want %s", last.Type, callback.TypeReady)
	}
	seen := map[string]bool{}
	for _, ev := range got {
		if seen[ev.ID] {
			t.Errorf("event %s passed on twice", ev.ID)
		}
		seen[ev.ID] = true
	}
	// Per-instance steps finished by run 1 are not redone by run 2.
	for _, ev := range second {
		if ev.Type == callback.TypeStepStarted && (ev.Data.Step == "hostname" || ev.Data.Step == "user" || ev.Data.Step == "host-key") {
			t.Errorf("run 2 ran step %s again, want it skipped", ev.Data.Step)
		}
	}

	// Run 2 is ready and serving SSH; it stops cleanly on SIGTERM with
	// nothing left in the spool.
	run2.Process.Signal(syscall.SIGTERM)
	if err := run2.Wait(); err != nil {
		t.Errorf("run 2 after SIGTERM: %v, want exit 0; log:\n%s", err, readLog(log2))
	}
	if left := readSpool(t, spool); len(left) != 0 {
		t.Errorf("spool after delivery holds %v, want nothing", ids(left))
	}
}

func isProgress(msg string) func(callback.Event) bool {
	return func(ev callback.Event) bool { return ev.Type == callback.TypeProgress && ev.Data.Message == msg }
}

func ids(evs []callback.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// buildOvfinit builds this command into a temporary directory.
func buildOvfinit(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ovfinit")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// newNetNS creates a network namespace with its loopback up, and leaves
// the test's own threads where they were.
func newNetNS(t *testing.T) netns.NsHandle {
	t.Helper()
	ch := make(chan netns.NsHandle, 1)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked on failure: the thread then exits with the goroutine
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.New() // switches this thread into it
		if err != nil {
			errc <- err
			return
		}
		if err := netns.Set(orig); err != nil {
			errc <- err
			return
		}
		runtime.UnlockOSThread()
		ch <- ns
	}()
	var ns netns.NsHandle
	select {
	case err := <-errc:
		t.Skipf("cannot create a network namespace here: %v", err)
	case ns = <-ch:
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	return ns
}

// inNS runs f on a thread in ns. Sockets f opens belong to ns, and so do
// processes it starts.
func inNS(t *testing.T, ns netns.NsHandle, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked unless restored (see newNetNS)
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		err = f()
		if serr := netns.Set(orig); serr != nil {
			errc <- errors.Join(err, serr)
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// startInNS starts cmd in ns and checks that it is there.
func startInNS(t *testing.T, ns netns.NsHandle, cmd *exec.Cmd) {
	t.Helper()
	inNS(t, ns, cmd.Start)
	got, err := netns.GetFromPid(cmd.Process.Pid)
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	defer got.Close()
	if !got.Equal(ns) {
		cmd.Process.Kill()
		t.Fatalf("%s started in network namespace %s, want %s", cmd.Path, got, ns)
	}
}

// startBin starts bin with args in ns, its output to a log file.
func startBin(t *testing.T, ns netns.NsHandle, bin, name string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	startInNS(t, ns, cmd)
	return cmd, logPath
}

func readLog(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// readSpool returns the events in the spool directory, in file name order.
func readSpool(t *testing.T, dir string) []callback.Event {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	slices.Sort(names)
	var out []callback.Event
	for _, n := range names {
		b, err := os.ReadFile(n)
		if errors.Is(err, os.ErrNotExist) {
			continue // delivered meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		var ev callback.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, ev)
	}
	return out
}

// waitSpool polls the spool until ok holds for its events.
func waitSpool(t *testing.T, dir, log string, ok func([]callback.Event) bool) []callback.Event {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		evs := readSpool(t, dir)
		if ok(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool holds %v after 2 minutes; log:\n%s", ids(evs), readLog(log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openGate lets the script's file.read of the named pipe return, waiting
// up to a minute for the script to open it.
func openGate(path string) error {
	var f *os.File
	var err error
	for range 1200 {
		// Non-blocking: ENXIO while nobody has the pipe open for reading.
		if f, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("the script never opened %s: %w", path, err)
	}
	_, err = io.WriteString(f, "open\n")
	return errors.Join(err, f.Close())
}
