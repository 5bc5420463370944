package scripts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// fakeFacts is a LiveHost over a temporary root with fixed host facts.
type fakeFacts struct {
	*LiveHost
	info HostInfo
	ifs  []Interface
}

func (f *fakeFacts) Info() (HostInfo, error)          { return f.info, nil }
func (f *fakeFacts) Interfaces() ([]Interface, error) { return f.ifs, nil }

var testInfo = HostInfo{OS: "linux", Arch: "amd64", Distro: "debian", Version: "12", Hostname: "vm1"}

// dryEnv is an Env whose effects are recorded by a DryRun over a temporary
// root holding files.
func dryEnv(t *testing.T, files map[string]string) (Env, *DryRun, *logBuffer) {
	t.Helper()
	env, lb := testEnv(t, nil)
	for name, content := range files {
		p := filepath.Join(env.Root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := &fakeFacts{LiveHost: mustLive(t, env.Root), info: testInfo,
		ifs: []Interface{{Name: "lo", Up: true, Addresses: []string{"127.0.0.1/8"}}, {Name: "eth0", MAC: "52:54:00:12:34:56", Up: true, Addresses: []string{"10.0.2.15/24"}}}}
	d := &DryRun{Base: base}
	env.Host = d
	env.InstanceID = "i-1"
	env.OVF = &ovfenv.Environment{
		Platform:   &ovfenv.Platform{Kind: "VMware ESXi", Version: "8.0", Vendor: "VMware, Inc.", Locale: "en", Timezone: "0"},
		Properties: []ovfenv.Property{{Key: "app.port", Value: "8080"}, {Key: "app.name", Value: "shop"}, {Key: "app.port", Value: "9090"}},
		Entities: []ovfenv.Entity{
			{ID: "db", Properties: []ovfenv.Property{{Key: "ip", Value: "10.0.0.5"}}},
			{ID: "cache", Properties: nil},
		},
	}
	return env, d, lb
}

// TestAPI runs scripts that assert on what the builtins return (with
// fail()), and compares the effects they leave.
func TestAPI(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		src     string
		effects []string
	}{
		{name: "ovf", src: `
if ovf.property("app.port") != "9090": fail("last property wins")
if ovf.properties() != {"app.port": "9090", "app.name": "shop"}: fail(ovf.properties())
if ovf.instance_id != "i-1": fail(ovf.instance_id)
if ovf.platform.kind != "VMware ESXi" or ovf.platform.timezone != "0": fail(ovf.platform)
if ovf.entities() != ["db", "cache"]: fail(ovf.entities())
if ovf.entity("db").property("ip") != "10.0.0.5": fail("entity property")
if ovf.entity("db").property("nope", default="x") != "x": fail("entity default")
if ovf.entity("db").properties() != {"ip": "10.0.0.5"}: fail("entity properties")
if ovf.entity("cache").id != "cache": fail("entity id")
if ovf.entity("web") != None: fail("missing entity")
`},
		{name: "host", src: `
if (host.os, host.arch, host.distro, host.version, host.hostname) != ("linux", "amd64", "debian", "12", "vm1"): fail("facts")
ifs = host.interfaces()
if [i.name for i in ifs] != ["lo", "eth0"]: fail(ifs)
if ifs[1].mac != "52:54:00:12:34:56" or ifs[1].addresses != ["10.0.2.15/24"] or not ifs[1].up: fail(ifs[1])
`},
		{name: "exec", src: `
r = exec.run(["apt-get", "install", "-y", "nginx"], env={"DEBIAN_FRONTEND": "noninteractive"})
if (r.stdout, r.stderr, r.code) != ("", "", 0): fail(r)
exec.shell("echo 'hello world' > /tmp/x", stdin="in")
exec.run(["C:\\Program Files\\x.exe"], timeout=30)
`, effects: []string{
			"exec apt-get install -y nginx env DEBIAN_FRONTEND=noninteractive",
			`exec /bin/sh -c "echo 'hello world' > /tmp/x" stdin (2 bytes)`,
			`exec "C:\\Program Files\\x.exe"`,
		}},
		{name: "file", files: map[string]string{"etc/hosts": "127.0.0.1 localhost\n", "tpl/app.conf": "name={{name}} port={{ port }}\n{{peers}}\n"}, src: `
file.write("/etc/app/a.conf", "x", mode=0o600, owner="app:app")
if file.read("/etc/app/a.conf") != "x": fail("read after write")
file.append("/etc/hosts", "10.0.0.5 db\n")
if file.read("/etc/hosts") != "127.0.0.1 localhost\n10.0.0.5 db\n": fail(file.read("/etc/hosts"))
if not file.exists("/etc/hosts") or file.exists("/nope"): fail("exists")
if not file.remove("/etc/hosts"): fail("remove existing")
if file.remove("/etc/hosts") or file.exists("/etc/hosts"): fail("removed twice")
file.mkdir("/var/lib/app", mode=0o700)
file.chmod("/etc/app/a.conf", 0o640)
file.template("/tpl/app.conf", "/etc/app/app.conf", {"name": "shop", "port": 8080, "peers": "\n".join(["peer " + p for p in ["a", "b"]])})
if file.read("/etc/app/app.conf") != "name=shop port=8080\npeer a\npeer b\n": fail(file.read("/etc/app/app.conf"))
`, effects: []string{
			"write /etc/app/a.conf (1 bytes, mode 0600 owner app:app)",
			"append /etc/hosts (12 bytes)",
			"remove /etc/hosts",
			"mkdir /var/lib/app (mode 0700)",
			"chmod /etc/app/a.conf 0640",
			"write /etc/app/app.conf (34 bytes, mode 0644)",
		}},
		{name: "progress", src: `progress(10, "installing"); progress(100, "done")`, effects: []string{`progress 10% "installing"`, `progress 100% "done"`}},
		{name: "json and time", src: `
if json.decode('{"a": [1, 2]}') != {"a": [1, 2]}: fail("json.decode")
if json.encode({"k": "v"}) != '{"k":"v"}': fail("json.encode")
if time.parse_duration("1m30s") != time.second * 90: fail("time")
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, d, _ := dryEnv(t, tt.files)
			if err := Run(t.Context(), "api.star", []byte(tt.src), env); err != nil {
				t.Fatalf("Run(%s) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.effects, d.Effects); diff != "" {
				t.Errorf("Run(%s) effects (-want +got):\n%s", tt.name, diff)
			}
			// A dry run leaves the root as it was.
			if _, err := os.Stat(filepath.Join(env.Root, "etc/app")); err == nil {
				t.Errorf("Run(%s) in a dry run created etc/app", tt.name)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
		retry           bool
	}{
		{name: "fail", src: `fail("db not up")`, want: "api.star:1:5: fail: db not up"},
		{name: "fail retry", src: "\nfail(\"db not up\", retry=True)", want: "api.star:2:5: fail: db not up", retry: true},
		{name: "fail non-string", src: `fail({"a": 1})`, want: `fail: {"a": 1}`},
		{name: "progress range", src: `progress(101, "x")`, want: "progress: percent 101 is not between 0 and 100"},
		{name: "exec string argv", src: `exec.run("ls -l")`, want: "exec.run: argv: want a list of strings, got string (use exec.shell for a command line)"},
		{name: "exec empty", src: `exec.run([])`, want: "exec.run: argv is empty"},
		{name: "exec bad env", src: `exec.run(["x"], env={"A": 1})`, want: "exec.run: env: want a dict of names to strings"},
		{name: "exec bad timeout", src: `exec.run(["x"], timeout=-1)`, want: "exec.run: timeout: want a number of seconds above 0"},
		{name: "template missing key", src: `file.write("/t", "x\n{{a}}{{b}}"); file.template("/t", "/o", {"a": 1})`, want: `file.template: /t:2: {{b}}: values has no key "b"`},
		{name: "template list value", src: `file.write("/t", "{{a}}"); file.template("/t", "/o", {"a": [1]})`, want: `file.template: values["a"]: a list can not be used in a template: make it a string in the script (for a list: "\n".join(...))`},
		{name: "template bad placeholder", src: `file.write("/t", "{{range .a}}"); file.template("/t", "/o", {"a": 1})`, want: `file.template: /t:1: {{range .a}} is not a placeholder: want {{name}}, a name of letters, digits, _, - and .`},
		{name: "template unclosed", src: `file.write("/t", "{{a"); file.template("/t", "/o", {"a": 1})`, want: `file.template: /t:1: {{ without a closing }}`},
		{name: "template bad value", src: `file.write("/t", "x"); file.template("/t", "/o", {"a": set()})`, want: `file.template: values["a"]: a set can not be used in a template`},
		{name: "chmod bad mode", src: `file.chmod("/a", 0o7777)`, want: "file.chmod: mode 07777 is not between 0 and 0o777"},
		{name: "remove outside", src: `file.remove("../x")`, want: `file.remove: path "../x" escapes the root directory`},
		{name: "while off", src: "while True:\n  pass\n", want: "api.star:1:1: this Starlark dialect does not support while loops"},
		{name: "load refused", src: `load("lib.star", "x")`, want: "load() is only available to the scripts in the image's scripts directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := dryEnv(t, nil)
			err := Run(t.Context(), "api.star", []byte(tt.src), env)
			var se *ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run(%q) = %v, want a *ScriptError", tt.src, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run(%q) = %q, want it to contain %q", tt.src, err, tt.want)
			}
			if se.Retry != tt.retry {
				t.Errorf("Run(%q).Retry = %v, want %v", tt.src, se.Retry, tt.retry)
			}
		})
	}
}

// TestExecLive: exec.run and exec.shell on the running system, with sh on
// Unix and cmd.exe on Windows (execLiveWindows).
func TestExecLive(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{name: "output and code", src: `
r = exec.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], check=False)
if (r.stdout, r.stderr, r.code) != ("out\n", "err\n", 3): fail(r)`},
		{name: "stdin and env", src: `
r = exec.run(["/bin/sh", "-c", "cat; echo $OVFINIT_T"], stdin="in:", env={"OVFINIT_T": "v"})
if r.stdout != "in:v\n": fail(r.stdout)`},
		{name: "shell", src: `
if exec.shell("echo a | tr a b").stdout != "b\n": fail("shell")`},
		{name: "check", src: `exec.shell("echo broken >&2; exit 2")`, want: `exec.shell: command /bin/sh -c "echo broken >&2; exit 2" exited with code 2: broken`},
		{name: "not found", src: `exec.run(["/nonexistent/cmd"])`, want: "exec.run: /nonexistent/cmd: fork/exec /nonexistent/cmd: no such file or directory"},
		{name: "timeout", src: `exec.run(["sleep", "10"], timeout=0.1)`, want: "exec.run: sleep 10: timeout of 0.1s"},
	}
	if runtime.GOOS == "windows" {
		tests = execLiveWindows(t)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := testEnv(t, nil)
			err := run(t, tt.src, env)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Run(%q) = %v, want nil", tt.src, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Run(%q) = %v, want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
	t.Run("disabled", func(t *testing.T) {
		env, _ := testEnv(t, nil)
		h := mustLive(t, env.Root)
		h.ExecDisabled = "the root directory is not /"
		env.Host = h
		err := run(t, `exec.run(["true"])`, env)
		if want := "exec.run: true: commands are not run: the root directory is not /"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(exec with ExecDisabled) = %v, want %q", err, want)
		}
	})
}

// TestFileLive: the file module on the running system. On Windows files
// have no owner (owner= is refused) and only the read-only bit of a mode
// (winPerm).
func TestFileLive(t *testing.T) {
	env, _ := testEnv(t, nil)
	os.MkdirAll(filepath.Join(env.Root, "etc"), 0o755)
	os.WriteFile(filepath.Join(env.Root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nbobby:x:1001:1001::/:/bin/sh\nbob:x:1000:1000::/:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(env.Root, "etc/group"), []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	os.WriteFile(filepath.Join(env.Root, "t.tmpl"), []byte("port={{port}}\n"), 0o644)
	src := `
file.write("/a", "x", owner="bob")
file.write("/b", "x", owner="bob:staff", mode=0o600)
file.write("/c", "x", owner="7:8")
file.append("/d/log", "1\n"); file.append("/d/log", "2\n")
file.mkdir("/m/n", mode=0o700)
file.chmod("/a", 0o640)
file.template("/t.tmpl", "/t.out", {"port": 80}, mode=0o600)
file.write("/gone", "x"); file.remove("/gone")
`
	if runtime.GOOS == "windows" {
		src = strings.NewReplacer(`, owner="bob"`, "", `, owner="bob:staff"`, "", `, owner="7:8"`, "").Replace(src)
	}
	if err := run(t, src, env); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if os.Getuid() == 0 && runtime.GOOS != "windows" {
		for _, tt := range []struct {
			path     string
			uid, gid uint32
		}{{"a", 1000, 1000}, {"b", 1000, 50}, {"c", 7, 8}} {
			fi, err := os.Stat(filepath.Join(env.Root, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			uid, gid := ownerOf(fi)
			if uid != tt.uid || gid != tt.gid {
				t.Errorf("owner of %s = %d:%d, want %d:%d", tt.path, uid, gid, tt.uid, tt.gid)
			}
		}
	}
	for _, tt := range []struct {
		path, content string
		mode          os.FileMode
	}{{"a", "x", 0o640}, {"b", "x", 0o600}, {"d/log", "1\n2\n", 0o644}, {"t.out", "port=80\n", 0o600}} {
		p := filepath.Join(env.Root, tt.path)
		data, err := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if err != nil || string(data) != tt.content || fi.Mode().Perm() != winPerm(tt.mode, false) {
			t.Errorf("%s = %q %v (%v), want %q %v", tt.path, data, fi.Mode().Perm(), err, tt.content, winPerm(tt.mode, false))
		}
	}
	if fi, err := os.Stat(filepath.Join(env.Root, "m/n")); err != nil || fi.Mode().Perm() != winPerm(0o700, true) || !fi.IsDir() {
		t.Errorf("m/n = %v, %v; want a %v directory", fi, err, winPerm(0o700, true))
	}
	if _, err := os.Stat(filepath.Join(env.Root, "gone")); err == nil {
		t.Errorf("gone still exists after file.remove")
	}
	err := run(t, `file.write("/e", "x", owner="nobody")`, env)
	want := `file.write: owner "nobody": no "nobody" in /etc/passwd`
	if runtime.GOOS == "windows" {
		want = `file.write: owner "nobody": file owners are not supported on windows`
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Run(owner nobody) = %v, want %q", err, want)
	}
}

func TestRedaction(t *testing.T) {
	env, _, lb := dryEnv(t, nil)
	env.Secrets = []string{"hunter22", "x"}
	src := "log.info(\"password is hunter22\")\nprint(\"pw\", \"hunter22!\")\nexec.run([\"chpasswd\"], stdin=\"root:hunter22\")\nfail(\"bad password hunter22\")\n"
	err := Run(t.Context(), "s.star", []byte(src), env)
	if err == nil || strings.Contains(err.Error(), "hunter22") || !strings.Contains(err.Error(), "bad password [redacted]") {
		t.Errorf("Run() = %v, want the secret redacted", err)
	}
	var se *ScriptError
	if errors.As(err, &se) && strings.Contains(se.Backtrace, "hunter22") {
		t.Errorf("Backtrace %q holds the secret", se.Backtrace)
	}
	logs := lb.String()
	if strings.Contains(logs, "hunter22") {
		t.Errorf("log holds the secret:\n%s", logs)
	}
	for _, want := range []string{"password is [redacted]", `msg="pw [redacted]!"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestDialectWhile(t *testing.T) {
	env, _ := testEnv(t, nil)
	env.Dialect.AllowWhile = true
	src := "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nn = 0\nwhile n < 3:\n    n += 1\nif fact(5) != 120: fail('fact')\n"
	if err := run(t, src, env); err != nil {
		t.Errorf("Run(while, recursion) with AllowWhile = %v, want nil", err)
	}
	if err := Check("w.star", []byte(src), Dialect{AllowWhile: true}); err != nil {
		t.Errorf("Check(while) with AllowWhile = %v, want nil", err)
	}
	if err := Check("w.star", []byte(src), Dialect{}); err == nil {
		t.Errorf("Check(while) without AllowWhile = nil, want an error")
	}
}

func TestLoad(t *testing.T) {
	lib := fstest.MapFS{
		"_lib.star":    {Data: []byte("def greet(n):\n    return 'hello ' + n\nport = int(ovf.property('app.port'))\n")},
		"_a.star":      {Data: []byte("load('_b.star', 'b')\na = 1\n")},
		"_b.star":      {Data: []byte("load('_a.star', 'a')\nb = 1\n")},
		"_broken.star": {Data: []byte("x = 1\ny = x // 0\n")},
	}
	tests := []struct {
		name, src, want string
	}{
		{name: "ok", src: "load('_lib.star', 'greet', 'port')\nload('_lib.star', p='port')\nif greet('x') != 'hello x' or port != 9090 or p != 9090: fail('load')\n"},
		{name: "cycle", src: "load('_a.star', 'a')\n", want: "cycle in load graph"},
		{name: "missing", src: "load('_nope.star', 'x')\n", want: `load("_nope.star"): open _nope.star: file does not exist`},
		{name: "path", src: "load('../etc/x.star', 'x')\n", want: "want the file name of a .star script in the same directory"},
		{name: "error inside", src: "load('_broken.star', 'y')\n", want: "_broken.star:2:7: floored division by zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := dryEnv(t, nil)
			env.Library = lib
			err := Run(t.Context(), "main.star", []byte(tt.src), env)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Run(%q) = %v, want nil", tt.src, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Run(%q) = %v, want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, src string
		want      Header
		wantErr   string
	}{
		{name: "default", src: "print(1)\n", want: Header{Frequency: PerInstance}},
		{name: "marker and directives", src: "#!starlark\n# frequency: per-boot\n#optional: true\n\nprint(1)\n", want: Header{Frequency: PerBoot, Optional: true}},
		{name: "once", src: "# Set up the app.\n# Frequency: once\n", want: Header{Frequency: Once}},
		{name: "after code ignored", src: "x = 1\n# frequency: once\n", want: Header{Frequency: PerInstance}},
		{name: "bad frequency", src: "# a comment\n# frequency: hourly\n", wantErr: `s.star:2:1: frequency: "hourly" is not per-instance, per-boot or once`},
		{name: "bad optional", src: "# optional: maybe\n", wantErr: `s.star:1:1: optional: "maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader("s.star", []byte(tt.src))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("ParseHeader(%q) = %v, want error %q", tt.src, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseHeader(%q) = %+v, %v; want %+v", tt.src, got, err, tt.want)
			}
		})
	}
}

func TestParseOSRelease(t *testing.T) {
	got := ParseOSRelease([]byte("# c\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\nbad line\n"))
	want := map[string]string{"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "ID": "debian", "VERSION_ID": "12"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOSRelease (-want +got):\n%s", diff)
	}
}

// BenchmarkEmptyScript measures starting the interpreter (modules, host
// facts, parse, resolve) and running an empty script.
func BenchmarkEmptyScript(b *testing.B) {
	root := b.TempDir()
	h, err := NewLiveHost(root)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	env := Env{Host: h, OVF: &ovfenv.Environment{}, Timeout: time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if err := Run(b.Context(), "empty.star", nil, env); err != nil {
			b.Fatal(err)
		}
	}
}

// execLiveWindows are TestExecLive's cases through cmd.exe (exec.shell
// runs cmd.exe /d /s /c); the test binary plays a command that sleeps
// (TestMain), as Windows has no sleep.
func execLiveWindows(t *testing.T) []struct{ name, src, want string } {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []struct{ name, src, want string }{
		{name: "output and code", src: `
r = exec.run(["cmd.exe", "/d", "/c", "echo out& echo err>&2& exit 3"], check=False)
if (r.stdout, r.stderr.strip(), r.code) != ("out\r\n", "err", 3): fail(r)`},
		{name: "env", src: `
r = exec.run(["cmd.exe", "/d", "/c", "echo %OVFINIT_T%"], env={"OVFINIT_T": "v"})
if r.stdout != "v\r\n": fail(r.stdout)`},
		{name: "shell", src: `
if exec.shell("echo a& echo b").stdout != "a\r\nb\r\n": fail("shell")`},
		{name: "check", src: `exec.shell("echo broken>&2& exit 2")`, want: `exec.shell: command cmd.exe /d /s /c "echo broken>&2& exit 2" exited with code 2: broken`},
		{name: "not found", src: `exec.run(["C:\\nonexistent\\cmd.exe"])`, want: `fork/exec C:\nonexistent\cmd.exe: `},
		{name: "timeout", src: fmt.Sprintf(`exec.run([%q], env={%q: "sleep"}, timeout=0.1)`, exe, testCmdVar), want: "timeout of 0.1s"},
	}
}

// winPerm is the permission Go reports for a file or directory given mode
// m: m itself, and on Windows, which keeps only the read-only bit, 0666 or
// 0444 for a file and 0777 for a directory.
func winPerm(m os.FileMode, dir bool) os.FileMode {
	switch {
	case runtime.GOOS != "windows":
		return m
	case dir:
		return 0o777
	case m&0o200 == 0:
		return 0o444
	}
	return 0o666
}
