package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// readNewc parses a newc cpio archive (the test's own reader).
func readNewc(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	field := func(hdr []byte, i int) uint32 {
		v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("bad header field %d: %v", i, err)
		}
		return uint32(v)
	}
	off := 0
	for {
		if off+110 > len(b) {
			t.Fatalf("archive truncated at %d", off)
		}
		hdr := b[off : off+110]
		if string(hdr[:6]) != "070701" {
			t.Fatalf("magic at %d = %q, want 070701", off, hdr[:6])
		}
		mode, size, rmaj, rmin, nsize := field(hdr, 1), field(hdr, 6), field(hdr, 9), field(hdr, 10), field(hdr, 11)
		off += 110
		name := string(b[off : off+int(nsize)-1])
		off += int(nsize)
		off += pad4(off)
		data := b[off : off+int(size)]
		off += int(size)
		off += pad4(off)
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, cpioEntry{name: name, mode: mode, data: bytes.Clone(data), major: rmaj, minor: rmin})
	}
}

func TestArchive(t *testing.T) {
	a := newArchive()
	a.file("/etc/ovfinit-e2e/modules", 0o644, []byte("abc"))
	a.symlink("bin/sh", "/bin/busybox")
	a.charDev("dev/console", 0o600, 5, 1)
	a.dir("tmp", 0o1777)
	var buf bytes.Buffer
	if err := a.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := readNewc(t, buf.Bytes())
	want := []cpioEntry{
		{name: "bin", mode: modeDir | 0o755},
		{name: "bin/sh", mode: modeSymlink | 0o777, data: []byte("/bin/busybox")},
		{name: "dev", mode: modeDir | 0o755},
		{name: "dev/console", mode: modeCharDev | 0o600, major: 5, minor: 1},
		{name: "etc", mode: modeDir | 0o755},
		{name: "etc/ovfinit-e2e", mode: modeDir | 0o755},
		{name: "etc/ovfinit-e2e/modules", mode: modeRegular | 0o644, data: []byte("abc")},
		{name: "tmp", mode: modeDir | 0o1777},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(cpioEntry{}), cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}

	// The system's cpio must agree, where there is one.
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-t", "--quiet")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -t: %v", err)
		}
		var names []string
		for _, e := range want {
			names = append(names, e.name)
		}
		if diff := cmp.Diff(names, strings.Fields(string(out))); diff != "" {
			t.Errorf("cpio -t listing (-want +got):\n%s", diff)
		}
	}
}

func TestPad4(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 3, 2: 2, 3: 1, 4: 0, 110: 2} {
		if got := pad4(n); got != want {
			t.Errorf("pad4(%d) = %d, want %d", n, got, want)
		}
	}
}

func kernelOrSkip(t *testing.T) *Kernel {
	t.Helper()
	k, err := FindKernel()
	if err != nil {
		t.Skipf("no prepared kernel (run e2e/prepare.sh): %v", err)
	}
	return k
}

func TestResolveModules(t *testing.T) {
	k := kernelOrSkip(t)
	mods, err := k.ResolveModules(context.Background(), DefaultModules)
	if err != nil {
		t.Fatalf("ResolveModules(%q) = %v", DefaultModules, err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		if _, dup := pos[m.Name]; dup {
			t.Errorf("module %s listed twice", m.Name)
		}
		pos[m.Name] = i
		if !strings.HasSuffix(m.RelPath, ".ko") || len(m.Data) < 4 || string(m.Data[1:4]) != "ELF" {
			t.Errorf("module %s: path %s, %d bytes: want an uncompressed .ko", m.Name, m.RelPath, len(m.Data))
		}
	}
	for _, m := range mods {
		for _, d := range m.Depends {
			if p, ok := pos[d]; ok && p > pos[m.Name] {
				t.Errorf("module %s comes before its dependency %s", m.Name, d)
			}
		}
	}
	// Dependencies the modules are known to have in Debian's 6.x kernels.
	for _, n := range append(slices.Clone(DefaultModules), "cdrom", "jbd2", "mbcache", "net_failover", "failover") {
		if _, ok := pos[n]; !ok {
			t.Errorf("ResolveModules(%q) lacks %s; got %d modules", DefaultModules, n, len(mods))
		}
	}

	if _, err := k.ResolveModules(context.Background(), []string{"no_such_module"}); err == nil || !strings.Contains(err.Error(), "no_such_module") {
		t.Errorf("ResolveModules(no_such_module) = %v, want an error naming it", err)
	}
}

func TestInitScriptSyntax(t *testing.T) {
	s := initScript([]string{"run", "--wait-env", "it's 60s"})
	if !strings.Contains(s, `/bin/ovfinit 'run' '--wait-env' 'it'\''s 60s' &`) {
		t.Errorf("initScript does not start the agent with quoted arguments:\n%s", s)
	}
	if !strings.Contains(s, `PERSIST="etc home var/lib/ovfinit root"`) {
		t.Errorf("initScript lacks the persistent directories:\n%s", s)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to check the syntax")
	}
	cmd := exec.Command(sh, "-n")
	cmd.Stdin = strings.NewReader(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n /init: %v\n%s", err, out)
	}
}

func TestCheckStatic(t *testing.T) {
	if err := checkStatic("x", []byte("#!/bin/sh\n")); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("checkStatic(script) = %v, want not an ELF", err)
	}
	// /bin/sh on a Linux host is dynamically linked.
	if b, err := os.ReadFile("/bin/ls"); err == nil && bytes.HasPrefix(b, []byte("\x7fELF")) {
		if err := checkStatic("/bin/ls", b); err == nil {
			t.Skip("/bin/ls is static here")
		} else if !strings.Contains(err.Error(), "dynamically linked") {
			t.Errorf("checkStatic(/bin/ls) = %v, want dynamically linked", err)
		}
	}
}

func TestEnvironmentISO(t *testing.T) {
	g := GuestEnv{
		InstanceID:  "i-1",
		Hostname:    "h",
		User:        "u",
		PublicKey:   "ssh-ed25519 AAAA x",
		CallbackURL: "http://10.0.2.2:1/events?a=1&b=<2>",
		Script:      `print("hi")`,
	}
	x, err := g.XML()
	if err != nil {
		t.Fatal(err)
	}
	env, err := ovfenv.Parse(x)
	if err != nil {
		t.Fatalf("ovfenv.Parse(GuestEnv.XML()) = %v\n%s", err, x)
	}
	for _, p := range g.Properties() {
		if got, ok := env.Property(p.Key); !ok || got != p.Value {
			t.Errorf("property %q = %q, %v, want %q", p.Key, got, ok, p.Value)
		}
	}
	if got, _ := env.Property("ovfinit.script"); got != "cHJpbnQoImhpIik=" {
		t.Errorf("ovfinit.script = %q, want base64 of the script", got)
	}

	if _, err := exec.LookPath("genisoimage"); err != nil {
		t.Skip("no genisoimage")
	}
	iso, err := BuildISO(t.TempDir(), x)
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}
	f, err := os.Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	label, data, name, err := ovfenv.ReadISO(f)
	if err != nil {
		t.Fatalf("ovfenv.ReadISO(BuildISO) = %v", err)
	}
	if label != "OVF ENV" || name != "ovf-env.xml" || !bytes.Equal(data, x) {
		t.Errorf("ovfenv.ReadISO(BuildISO) = %q, %q, %d bytes; want OVF ENV, ovf-env.xml, the %d bytes written", label, name, len(data), len(x))
	}
}

func TestQemuArgs(t *testing.T) {
	o := Options{Assets: &Assets{Kernel: &Kernel{Vmlinux: "/k/vmlinux"}, Initramfs: "/i.gz"}, ISO: "/e.iso", Disk: "/d.img", SSHPort: 2222}
	got := strings.Join(QemuArgs(o), " ")
	for _, want := range []string{
		"-accel tcg", "-smp 1", "-m 512", "-no-reboot", "-serial stdio",
		"-kernel /k/vmlinux", "-initrd /i.gz", "-append " + KernelCmdline,
		"hostfwd=tcp:127.0.0.1:2222-:22", "mac=" + DefaultMAC,
		"-cdrom /e.iso", "file=/d.img", "virtio-blk-pci",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("QemuArgs(%+v) = %q, want it to contain %q", o, got, want)
		}
	}
}

func post(t *testing.T, url, ctype, body string) int {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func event(seq any, typ, step, status string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":"b-%s","source":"urn:ovfinit:instance:i","type":%q,"time":"2026-01-02T03:04:05Z","sequence":%v,"datacontenttype":"application/json","data":{"instanceId":"i","boot":"b","step":%q,"status":%q,"durationMs":35,"sshHostKeys":[{"type":"ssh-ed25519","fingerprint":"SHA256:x"}]}}`,
		strings.Trim(fmt.Sprint(seq), `"`), typ, seq, step, status)
}

func TestRecorder(t *testing.T) {
	r, err := NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if want := fmt.Sprintf("http://10.0.2.2:%d/events", r.Port()); r.GuestURL() != want {
		t.Errorf("GuestURL() = %q, want %q", r.GuestURL(), want)
	}
	sub := r.Subscribe()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Event, 1)
	go func() {
		e, err := r.Wait(ctx, TypeReady, TypeFailed)
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
		got <- e
	}()

	for _, tc := range []struct {
		name, ctype, body string
		code              int
	}{
		{"started", "application/cloudevents+json", event(1, TypeStepStarted, "network", "started"), 204},
		{"finished with charset", "application/cloudevents+json; charset=utf-8", event(2, TypeStepFinished, "network", "ok"), 204},
		{"wrong content type", "application/json", event(3, TypeReady, "", ""), 415},
		{"not json", "application/cloudevents+json", "{", 400},
		{"string sequence", "application/cloudevents+json", event(`"3"`, TypeReady, "", ""), 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := post(t, r.URL(), tc.ctype, tc.body); code != tc.code {
				t.Errorf("POST %s = %d, want %d", tc.body, code, tc.code)
			}
		})
	}
	e := <-got
	if e.Type != TypeReady || e.Sequence != 3 || e.Data.SSHHostKeys[0].Fingerprint != "SHA256:x" {
		t.Errorf("Wait(ready) = %+v, want the ready event with sequence 3", e)
	}
	var types []string
	for _, e := range r.Events() {
		types = append(types, e.Type)
	}
	if diff := cmp.Diff([]string{TypeStepStarted, TypeStepFinished, TypeReady}, types); diff != "" {
		t.Errorf("Events() types (-want +got):\n%s", diff)
	}
	if n := len(r.Errors()); n != 2 {
		t.Errorf("len(Errors()) = %d, want 2: %v", n, r.Errors())
	}
	if first := <-sub; first.Data.Step != "network" || first.Data.Status != "started" {
		t.Errorf("first subscribed event = %+v, want network started", first)
	}

	r.Reset()
	if n := len(r.Events()); n != 0 {
		t.Errorf("len(Events()) after Reset = %d, want 0", n)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := r.Wait(short, TypeReady); err == nil {
		t.Error("Wait after Reset found an event, want a timeout")
	}
}

// TestRecorderKnowsEveryType keeps the recorder's own copy of the event
// types in step with the agent's: a type the agent can send that the
// recorder does not list would be flagged in Errors and fail a VM test.
func TestRecorderKnowsEveryType(t *testing.T) {
	got := slices.Sorted(slices.Values(KnownTypes))
	want := slices.Sorted(slices.Values(callback.Types))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KnownTypes differs from callback.Types (-agent +recorder):\n%s", diff)
	}

	r, err := NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, typ := range []string{TypeProgress, "org.ovfinit.unheard-of"} {
		if code := post(t, r.URL(), "application/cloudevents+json", event(i+1, typ, "script", "")); code != 204 {
			t.Errorf("POST type %s = %d, want 204", typ, code)
		}
	}
	if n := len(r.Events()); n != 2 {
		t.Errorf("len(Events()) = %d, want 2 (an unknown type is still recorded)", n)
	}
	errs := r.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "org.ovfinit.unheard-of") {
		t.Errorf("Errors() = %v, want one naming org.ovfinit.unheard-of", errs)
	}
}

func TestEventString(t *testing.T) {
	at := time.Date(2026, 1, 2, 12, 0, 1, 234e6, time.UTC)
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Type: TypeStepFinished, Received: at, Data: EventData{Step: "network", Status: "ok", DurationMs: 35}}, "12:00:01.234 step.finished network ok (35ms)"},
		{Event{Type: TypeStepStarted, Received: at, Data: EventData{Step: "sshd", Status: "started"}}, "12:00:01.234 step.started sshd"},
		{Event{Type: TypeFailed, Received: at, Data: EventData{Result: "fatal", Message: "hostname: bad"}}, "12:00:01.234 failed fatal: hostname: bad"},
		{Event{Type: TypeReady, Received: at, Data: EventData{Result: "ready", Percent: 100, DurationMs: 956}}, "12:00:01.234 ready 100% (956ms)"},
		{Event{Type: TypeProgress, Received: at, Data: EventData{Step: "script", Percent: 90, Message: "40% writing"}}, "12:00:01.234 progress script 90%: 40% writing"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("Event.String() = %q, want %q", got, tc.want)
		}
	}
}

// TestBuildInitramfs builds an image from a stand-in agent and checks its
// contents.
func TestBuildInitramfs(t *testing.T) {
	k := kernelOrSkip(t)
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "initrd.gz")
	// busybox itself is a static x86_64 program: it stands in for the agent.
	if err := BuildInitramfs(context.Background(), out, InitramfsOptions{Kernel: k, Agent: bb, Busybox: bb}); err != nil {
		t.Fatalf("BuildInitramfs: %v", err)
	}
	cmd := exec.Command("sh", "-c", "gzip -dc "+out+" | cpio -t --quiet")
	list, err := cmd.Output()
	if err != nil {
		t.Skipf("listing the image: %v", err)
	}
	names := strings.Fields(string(list))
	for _, want := range []string{"init", "bin/ovfinit", "bin/busybox", "bin/sh", "sbin/insmod", "dev/console", "etc/passwd", "etc/ovfinit-e2e/modules",
		"lib/modules/" + k.Release + "/modules.dep", "lib/modules/" + k.Release + "/kernel/fs/ext4/ext4.ko"} {
		if !slices.Contains(names, want) {
			t.Errorf("initramfs lacks %s", want)
		}
	}
}

// TestSignedRecorderRefuses: a recorder with a secret, as every VM test's
// harness starts one, refuses (401) an event or system request that is
// unsigned, signed with another secret or changed after signing, keeps it
// out of Events and SignedMessages, and lists it in SignatureErrors, which
// Reset keeps (the harness fails the test on any at its end).
func TestSignedRecorderRefuses(t *testing.T) {
	secret := []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	r, err := NewSignedRecorder(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !bytes.Equal(r.Secret(), secret) {
		t.Errorf("Secret() = %q, want %q", r.Secret(), secret)
	}
	const sysType = callback.SystemContentType
	sysBody := `{"id":"sys-1","instance":"i","op":"query"}`
	send := func(ctype, body string, sign func(http.Header, []byte)) int {
		t.Helper()
		req, err := http.NewRequest("POST", r.URL(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		if sign != nil {
			sign(req.Header, []byte(body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	signWith := func(key []byte) func(http.Header, []byte) {
		return func(h http.Header, b []byte) { callback.SignRequest(h, key, "b-1", b, time.Now()) }
	}
	good := event(1, TypeStepStarted, "network", "started")
	for _, tc := range []struct {
		name, ctype, body string
		sign              func(http.Header, []byte)
		want              int
	}{
		{"unsigned event", "application/cloudevents+json", good, nil, 401},
		{"event signed with another secret", "application/cloudevents+json", good, signWith([]byte("whsec_c2VjcmV0")), 401},
		{"event changed after signing", "application/cloudevents+json", good, func(h http.Header, b []byte) {
			callback.SignRequest(h, secret, "b-1", bytes.Replace(b, []byte("network"), []byte("sshd"), 1), time.Now())
		}, 401},
		{"event signed 10 minutes ago", "application/cloudevents+json", good, func(h http.Header, b []byte) {
			callback.SignRequest(h, secret, "b-1", b, time.Now().Add(-10*time.Minute))
		}, 401},
		{"unsigned system request", sysType, sysBody, nil, 401},
		{"signed event", "application/cloudevents+json", good, signWith(secret), 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(tc.ctype, tc.body, tc.sign); got != tc.want {
				t.Errorf("POST %s (%s) = %d, want %d", tc.ctype, tc.name, got, tc.want)
			}
		})
	}
	r.Reset()
	if n := len(r.SignatureErrors()); n != 5 {
		t.Errorf("len(SignatureErrors()) after Reset = %d, want 5: %v", n, r.SignatureErrors())
	}
	if msgs := r.SignedMessages(); len(msgs) != 1 || msgs[0].Kind != "event" || string(msgs[0].Body) != good {
		t.Errorf("SignedMessages() = %+v, want only the signed event", msgs)
	}
	for _, err := range r.SignatureErrors() {
		if !errors.Is(err, callback.ErrBadSignature) && !strings.Contains(err.Error(), "signature") && !strings.Contains(err.Error(), "timestamp") {
			t.Errorf("SignatureErrors() holds %v, want a signature error", err)
		}
	}
}
