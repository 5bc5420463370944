package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/winacl"
	"github.com/ovfinit/ovfinit/internal/wine"
)

// imageScripts writes scripts into the machine's scripts directory.
func (m *machine) imageScripts(files map[string]string) {
	dir := filepath.Join(m.root, ImageScriptsDir("linux"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			m.t.Fatal(err)
		}
	}
}

// scriptEnv is an environment with an instance id, a callback and extra
// properties.
func scriptEnv(instance string, props ...string) string {
	return envXML(append([]string{"instance-id", instance, "ovfinit.callback.url", "http://10.0.2.2:8080/events"}, props...)...)
}

const appendRun = `file.append("/order", NAME + "\n")`

func runner(name string, header string) string {
	return header + strings.ReplaceAll(appendRun, "NAME", `"`+name+`"`) + "\n"
}

func TestScriptsOrderAndFrequency(t *testing.T) {
	m := newMachine(t)
	m.imageScripts(map[string]string{
		"20-boot.star":     runner("20-boot per-boot", "# frequency: per-boot\n"),
		"10-first.star":    "load('_lib.star', 'tag')\n" + runner("10-first", "") + "file.append('/order', tag + '\\n')\n",
		"30-once.star":     runner("30-once", "# Run once in the image's life.\n# frequency: once\n"),
		"_lib.star":        "tag = 'lib loaded for ' + ovf.instance_id\n",
		"README":           "not a script",
		"40-optional.star": "# optional: true\nfail('optional broke')\n",
	})
	props := func(id string) string {
		return scriptEnv(id,
			"ovfinit.script", b64(runner("ovfinit.script", "# frequency: per-instance\n")),
			"user-data", b64("#!starlark\n"+runner("user-data", "")))
	}
	boot := func(id string) (*fakeEvents, string) {
		t.Helper()
		os.Remove(filepath.Join(m.root, "order"))
		_, ev, err := m.boot(props(id))
		if err != nil {
			t.Fatalf("boot %s: Run() = %v", id, err)
		}
		b, _ := os.ReadFile(filepath.Join(m.root, "order"))
		return ev, string(b)
	}
	_, got := boot("i-1")
	want := "10-first\nlib loaded for i-1\n20-boot per-boot\n30-once\novfinit.script\nuser-data\n"
	if got != want {
		t.Errorf("first boot ran:\n%s\nwant:\n%s", got, want)
	}
	ev, got := boot("i-1")
	if want := "20-boot per-boot\n"; got != want {
		t.Errorf("reboot ran %q, want only the per-boot script %q", got, want)
	}
	if s := stepStatus(ev, "script"); s != "ok" {
		t.Errorf("reboot: script step %s, want ok (the per-boot script ran)", s)
	}
	_, got = boot("i-2")
	if want := "10-first\nlib loaded for i-2\n20-boot per-boot\novfinit.script\nuser-data\n"; got != want {
		t.Errorf("new instance ran:\n%s\nwant (no once script):\n%s", got, want)
	}
}

func stepStatus(ev *fakeEvents, step string) string {
	for _, r := range ev.events {
		if r.Type == callback.TypeStepFinished && r.Data.Step == step {
			return r.Data.Status
		}
	}
	return "(none)"
}

func TestScriptsSkippedWhenAllRan(t *testing.T) {
	m := newMachine(t)
	env := scriptEnv("i-1", "ovfinit.script", b64(runner("x", "")), "user-data", b64("#cloud-config\nfinal_message: not a script\n"))
	if _, _, err := m.boot(env); err != nil {
		t.Fatal(err)
	}
	_, ev, err := m.boot(env)
	if err != nil {
		t.Fatal(err)
	}
	if s := stepStatus(ev, "script"); s != "skipped" {
		t.Errorf("reboot with only a per-instance script: script step %s, want skipped", s)
	}
	if got := m.read("order"); got != "x\n" {
		t.Errorf("order = %q, want the script once and the cloud-config user-data ignored", got)
	}
}

func TestScriptsSelectedByProperty(t *testing.T) {
	m := newMachine(t)
	m.imageScripts(map[string]string{"a.star": runner("a", ""), "b.star": runner("b", ""), "c.star": runner("c", "")})
	if _, _, err := m.boot(scriptEnv("i-1", "ovfinit.scripts", "c, a")); err != nil {
		t.Fatal(err)
	}
	if got := m.read("order"); got != "c\na\n" {
		t.Errorf("ovfinit.scripts=c,a ran %q, want c then a", got)
	}

	m2 := newMachine(t)
	m2.imageScripts(map[string]string{"a.star": runner("a", "")})
	_, ev, err := m2.boot(scriptEnv("i-1", "ovfinit.scripts", "a nope"))
	if err == nil || !strings.Contains(err.Error(), "property ovfinit.scripts") || !strings.Contains(err.Error(), "no script nope.star") {
		t.Errorf("Run() with an unknown script name = %v, want an error naming ovfinit.scripts and nope.star", err)
	}
	if m2.exists("order") {
		t.Errorf("a script ran although the list named a missing one")
	}
	// Scripts are found and checked in validate, before anything changes.
	if last := ev.lines()[len(ev.lines())-1]; last != "failed validate fatal retry=false" {
		t.Errorf("last event %q, want a fatal failure of the validate step", last)
	}
	_, _, err = newMachine(t).boot(scriptEnv("i-1", "ovfinit.scripts", "../etc/x"))
	if err == nil || !strings.Contains(err.Error(), "property ovfinit.scripts") {
		t.Errorf("Run() with a path in ovfinit.scripts = %v, want a validation error", err)
	}
}

func TestScriptFailures(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		retry    bool
		wantMsgs []string
	}{
		{name: "runtime error", script: "x = 1\ny = x // 0\n", wantMsgs: []string{"ovfinit.script:2:7: floored division by zero", "Traceback"}},
		{name: "fail", script: "def check():\n    fail('no license key')\ncheck()\n", wantMsgs: []string{"ovfinit.script:2:9: fail: no license key", "ovfinit.script:3:6: in <toplevel>"}},
		{name: "fail retry", script: "\nfail('db not ready', retry=True)\n", retry: true, wantMsgs: []string{"ovfinit.script:2:5: fail: db not ready"}},
		{name: "step limit", script: "for i in range(100000000):\n    pass\n", wantMsgs: []string{"ovfinit.script:1:", "more than 1000 steps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			_, ev, err := m.boot(scriptEnv("i-1", "ovfinit.script", b64(tt.script), "ovfinit.script.max-steps", "1000"))
			if err == nil {
				t.Fatalf("Run() = nil, want the script's error")
			}
			last := ev.events[len(ev.events)-1]
			if last.Type != callback.TypeFailed || last.Data.Step != "script" || *last.Data.Retry != tt.retry {
				t.Fatalf("last event = %s step %s retry %v, want failed in script with retry=%v", last.Type, last.Data.Step, *last.Data.Retry, tt.retry)
			}
			for _, w := range tt.wantMsgs {
				if !strings.Contains(last.Data.Message, w) {
					t.Errorf("failed event message %q, want it to contain %q", last.Data.Message, w)
				}
			}
		})
	}
}

func TestScriptProgressEvents(t *testing.T) {
	m := newMachine(t)
	_, ev, err := m.boot(scriptEnv("i-1", "ovfinit.script", b64("progress(50, 'half way')\nprogress(100, 'done')\n")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ev.events {
		if r.Type == callback.TypeProgress {
			got = append(got, r.Data.Step+": "+r.Data.Message)
		}
	}
	if diff := cmp.Diff([]string{"script: 50% half way", "script: 100% done"}, got); diff != "" {
		t.Errorf("progress events (-want +got):\n%s", diff)
	}
}

func TestScriptPlanProperties(t *testing.T) {
	tests := []struct {
		props []string
		want  []string // substrings of the error; nil: no error
	}{
		{props: []string{"ovfinit.script.timeout", "0"}, want: []string{"property ovfinit.script.timeout", "from 1 to 86400"}},
		{props: []string{"ovfinit.script.max-steps", "ten"}, want: []string{"property ovfinit.script.max-steps"}},
		{props: []string{"ovfinit.script.allow-while", "maybe"}, want: []string{"property ovfinit.script.allow-while"}},
		{props: []string{"ovfinit.script", b64("while True:\n  pass\n")}, want: []string{"property ovfinit.script", "while loops"}},
		{props: []string{"ovfinit.script", b64("while False:\n  pass\n"), "ovfinit.script.allow-while", "true"}},
		{props: []string{"user-data", b64("#!starlark\nx = = 1\n")}, want: []string{"property user-data", "user-data:2:5"}},
		{props: []string{"user-data", b64("#!/bin/sh\nx = = 1\n")}},
		// Not base64 at all: refused with the property named (issue 20).
		{props: []string{"user-data", "#cloud-config\nhostname: x\n"}, want: []string{"property user-data", "not valid base64"}},
		// Wrapped base64, as cloud-init accepts it.
		{props: []string{"user-data", func() string { s := b64("#!/bin/sh\ntrue\n"); return s[:8] + " " + s[8:] }()}},
		{props: []string{"ovfinit.script", b64("# frequency: weekly\n")}, want: []string{"property ovfinit.script", `ovfinit.script:1:1: frequency: "weekly"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.props, "="), func(t *testing.T) {
			_, _, err := newMachine(t).boot(scriptEnv("i-1", tt.props...))
			if tt.want == nil {
				if err != nil {
					t.Errorf("Run(%v) = %v, want nil", tt.props, err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Run(%v) = %v, want an error containing %q", tt.props, err, w)
				}
			}
		})
	}
}

func TestScriptHTTPProperty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"greeting": "hello from `+r.URL.Path+`"}`)
	}))
	defer srv.Close()
	script := b64(`file.write("/etc/greeting", http.get("` + srv.URL + `/vm").json()["greeting"])` + "\n")

	m := newMachine(t)
	if _, _, err := m.boot(scriptEnv("i-1", "ovfinit.script.http", "true", "ovfinit.script", script)); err != nil {
		t.Fatalf("Run() with ovfinit.script.http=true = %v", err)
	}
	if got := m.read("etc/greeting"); got != "hello from /vm" {
		t.Errorf("etc/greeting = %q, want the server's answer", got)
	}

	for _, off := range [][]string{nil, {"ovfinit.script.http", "false"}} {
		m := newMachine(t)
		_, _, err := m.boot(scriptEnv("i-1", append(off, "ovfinit.script", script)...))
		for _, w := range []string{"property ovfinit.script", "ovfinit.script:1:29: undefined: http (the http module is off"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Run() with %v = %v, want an error containing %q", off, err, w)
			}
		}
		if m.exists("etc/greeting") {
			t.Errorf("with %v the script ran", off)
		}
	}
}

// TestScriptSecretsRedacted runs a script that logs secret properties and
// fails with one in its message, through the whole agent: neither the log,
// nor any event, nor a world-readable file may hold a clear value.
func TestScriptSecretsRedacted(t *testing.T) {
	secrets := map[string]string{
		"password":         "Hunter2-pass", // the name rule: "password"
		"db.secret":        "s3cr3t-db-value",
		"vendor.API_TOKEN": "tok-ABCDEF", // any case
	}
	script := `
for k in ["password", "db.secret", "vendor.API_TOKEN"]:
    print("the value of", k, "is", ovf.property(k))
    log.warn("again: " + ovf.property(k))
exec.run(` + testCmd(t, "true", `"PW": ovf.property("password")`) + `, check = False)
fail("could not log in with " + ovf.property("password") + " and " + ovf.property("db.secret"))
`
	props := []string{"ovfinit.script", b64(script)}
	for k, v := range secrets {
		props = append(props, k, v)
	}
	m := newMachine(t)
	e, ev := m.env(scriptEnv("i-1", props...))
	var log bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(io.MultiWriter(&log, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	err := Run(context.Background(), e, Steps())
	if err == nil {
		t.Fatal("Run() = nil, want the script's failure")
	}
	last := ev.events[len(ev.events)-1]
	if last.Type != callback.TypeFailed || !strings.Contains(last.Data.Message, "fail: could not log in with [redacted] and [redacted]") {
		t.Errorf("last event %s %q, want failed with the message redacted", last.Type, last.Data.Message)
	}
	if n := strings.Count(log.String(), "[redacted]"); n < 6 {
		t.Errorf("log has %d [redacted], want the script's 6 log lines and the failure redacted:\n%s", n, log.String())
	}
	events, jerr := json.Marshal(ev.events)
	if jerr != nil {
		t.Fatal(jerr)
	}
	for k, v := range secrets {
		for what, text := range map[string]string{"log": log.String(), "events": string(events), "error": err.Error()} {
			if strings.Contains(text, v) {
				t.Errorf("the %s holds the clear value of %s (%q)", what, k, v)
			}
		}
	}
	filepath.WalkDir(m.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, _ := d.Info()
		b, _ := os.ReadFile(p)
		readable := fi.Mode().Perm()&0o004 != 0
		if runtime.GOOS == "windows" {
			// Windows: the DACL, not the mode (internal/wine.CheckPrivate).
			readable = winacl.Private(p) != nil && !wine.Detected()
		}
		for k, v := range secrets {
			if readable && bytes.Contains(b, []byte(v)) {
				t.Errorf("world-readable %s (%v) holds the value of %s", strings.TrimPrefix(p, m.root), fi.Mode(), k)
			}
		}
		return nil
	})
}

// TestScriptOfflineRootRefusesCommands: with a root that is not the running
// system, file.* acts under the root and exec.* is refused at its line.
func TestScriptOfflineRootRefusesCommands(t *testing.T) {
	m := newMachine(t)
	e, ev := m.env(scriptEnv("i-1", "ovfinit.script", b64("file.write('/etc/motd', 'offline')\nexec.run(['true'])\n")))
	e.Live = false
	err := Run(context.Background(), e, Steps())
	want := "ovfinit.script:2:9: exec.run: true: commands are not run: the root directory is not / (an offline image)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run() offline = %v, want an error containing %q", err, want)
	}
	if last := ev.events[len(ev.events)-1]; last.Data.Step != "script" || !strings.Contains(last.Data.Message, want) {
		t.Errorf("last event step %q message %q, want the script's refusal", last.Data.Step, last.Data.Message)
	}
	if got := m.read("etc/motd"); got != "offline" {
		t.Errorf("etc/motd under the root = %q, want %q", got, "offline")
	}
}

// TestImageScriptCheckedInValidate: a broken image script stops the boot in
// validate, before the host name, the network or the user change. It was
// only compiled in the script step, after all of them.
func TestImageScriptCheckedInValidate(t *testing.T) {
	m := newMachine(t)
	m.imageScripts(map[string]string{"a.star": runner("a", ""), "b.star": "x = = 1\n"})
	_, ev, err := m.boot(scriptEnv("i-1", "hostname", "web1", "ovfinit.user", "alice"))
	if err == nil || !strings.Contains(err.Error(), "b.star:1:5") {
		t.Fatalf("Run() with a broken image script = %v, want its syntax error at b.star:1:5", err)
	}
	if last := ev.lines()[len(ev.lines())-1]; last != "failed validate fatal retry=false" {
		t.Errorf("last event %q, want a fatal failure of the validate step", last)
	}
	if m.exists("etc/hostname") || m.exists("order") {
		t.Errorf("the host name was set or a script ran before the broken script was found")
	}
	if strings.Contains(m.read("etc/passwd"), "alice:") {
		t.Errorf("user alice was created before the broken script was found")
	}
}
