package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

// cloudInitEnv is an environment written for cloud-init's OVF datasource:
// no ovfinit.* key at all.
func cloudInitEnv(instance string, more ...string) string {
	return envXML(append([]string{
		"instance-id", instance,
		"hostname", "web1",
		"public-keys", testKey,
		"password", "s3cret-Passw0rd",
	}, more...)...)
}

func (m *machine) write(name, content string) {
	m.t.Helper()
	p := filepath.Join(m.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// TestCloudInitEnvDefaultUser: an environment written for cloud-init gives
// its keys and password to the image's default user (debian on Debian), as
// cloud-init does, not to a new user ovfinit.
func TestCloudInitEnvDefaultUser(t *testing.T) {
	m := newMachine(t)
	m.write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n")
	m.write("etc/group", "root:x:0:\nsudo:x:27:\nadm:x:4:\n")
	m.write("etc/shells", "/bin/sh\n/bin/bash\n")
	e, _, err := m.boot(cloudInitEnv("i-1"))
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if e.Plan.User.Name != "debian" || e.Account == nil || e.Account.Name != "debian" {
		t.Fatalf("user = %q (account %+v), want the image's default user debian", e.Plan.User.Name, e.Account)
	}
	passwd := m.read("etc/passwd")
	if !strings.Contains(passwd, "\ndebian:x:1000:1000:Debian:/home/debian:/bin/bash\n") {
		t.Errorf("/etc/passwd = %q, want debian with /bin/bash as cloud-init's default_user", passwd)
	}
	if strings.Contains(passwd, "ovfinit:") {
		t.Errorf("/etc/passwd = %q: a user ovfinit was created for a cloud-init environment", passwd)
	}
	group := m.read("etc/group")
	for _, g := range []string{"adm", "audio", "cdrom", "dialout", "dip", "floppy", "netdev", "plugdev", "sudo", "video"} {
		if !strings.Contains(group, "\n"+g+":") || !lineHasMember(group, g, "debian") {
			t.Errorf("/etc/group = %q: debian is not in %s", group, g)
		}
	}
	if s := m.read("etc/sudoers.d/ovfinit-debian"); !strings.Contains(s, "debian ALL=(ALL:ALL) NOPASSWD: ALL") {
		t.Errorf("sudoers drop-in = %q, want cloud-init's NOPASSWD:ALL rule", s)
	}
	shadow := m.read("etc/shadow")
	for _, l := range strings.Split(shadow, "\n") {
		if f := strings.Split(l, ":"); f[0] == "debian" && (len(f) < 2 || !strings.HasPrefix(f[1], "$")) {
			t.Errorf("shadow line %q: want the password's hash, unlocked (the environment set a password)", l)
		}
	}
	if strings.Contains(shadow, "s3cret") {
		t.Errorf("/etc/shadow holds the clear password")
	}
	keys, err := users.StoredKeys(m.root, "/var/lib/ovfinit", "debian")
	if err != nil || len(keys) != 1 {
		t.Errorf("StoredKeys(debian) = %v, %v; want the public-keys key", keys, err)
	}
}

// TestCloudInitEnvUserChoice: ovfinit.user (or any ovfinit.user.*
// property) keeps ovfinit's model; a cloud.cfg still in the image names the
// default user; with nothing to go by the user is ovfinit.
func TestCloudInitEnvUserChoice(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		props []string
		want  string
	}{
		{"ovfinit.user wins", map[string]string{"etc/os-release": "ID=debian\n"}, []string{"ovfinit.user", "bob"}, "bob"},
		{"an ovfinit.user.* key means ovfinit's model", map[string]string{"etc/os-release": "ID=debian\n"}, []string{"ovfinit.user.uid", "2000"}, DefaultUser},
		{"cloud.cfg", map[string]string{"etc/os-release": "ID=debian\n",
			"etc/cloud/cloud.cfg": "system_info:\n  default_user:\n    name: admin1\n    sudo: false\n    groups: [video]\n"}, nil, "admin1"},
		{"nothing in the image", nil, nil, DefaultUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			for n, c := range tc.files {
				m.write(n, c)
			}
			e, _ := m.env(cloudInitEnv("i-1", tc.props...))
			for _, s := range Steps()[:4] {
				if _, err := s.Run(t.Context(), e); err != nil {
					t.Fatalf("step %s: %v", s.Name, err)
				}
			}
			if e.Plan.User.Name != tc.want {
				t.Errorf("user = %q, want %q", e.Plan.User.Name, tc.want)
			}
		})
	}
}

// lineHasMember reports whether group's member list names user.
func lineHasMember(db, group, user string) bool {
	for _, l := range strings.Split(db, "\n") {
		f := strings.Split(l, ":")
		if len(f) == 4 && f[0] == group {
			for _, m := range strings.Split(f[3], ",") {
				if m == user {
					return true
				}
			}
		}
	}
	return false
}

// recordRunner is Env.Commands in the tests: it records argv lines, and
// the content of a script it is asked to run.
type recordRunner struct {
	lines   []string
	scripts []string
	fail    string // an argv line containing this fails
	onRun   func(line string)
}

func (r *recordRunner) Run(ctx context.Context, c cmdrun.Cmd) (cmdrun.Result, error) {
	line := strings.Join(c.Argv, " ")
	r.lines = append(r.lines, line)
	if r.onRun != nil {
		r.onRun(line)
	}
	if strings.HasSuffix(c.Argv[0], "user-data.script") {
		b, err := os.ReadFile(c.Argv[0])
		if err != nil {
			return cmdrun.Result{Code: -1}, err
		}
		r.scripts = append(r.scripts, string(b))
	}
	if r.fail != "" && strings.Contains(line, r.fail) {
		return cmdrun.Result{Code: 1}, fmt.Errorf("exit status 1")
	}
	return cmdrun.Result{}, nil
}

const aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk alice@example"

func cloudMachine(t *testing.T) *machine {
	t.Helper()
	m := newMachine(t)
	m.write("etc/os-release", "ID=debian\n")
	m.write("etc/group", "root:x:0:\nsudo:x:27:\nadm:x:4:\n")
	m.write("usr/bin/apt-get", "")
	return m
}

func gzipB64(t *testing.T, s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// TestCloudConfigBoot: #cloud-config user-data is applied as cloud-init
// applies it, each module at its place in the boot.
func TestCloudConfigBoot(t *testing.T) {
	m := cloudMachine(t)
	var posted url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		posted = r.PostForm
		if r.URL.Path != "/home/i-1/" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	const clearPW = "Alice-s3cret-pw"
	ud := `#cloud-config
hostname: app1
fqdn: app1.example.com
ssh_pwauth: true
users:
  - default
  - name: alice
    gecos: Alice Liddell
    groups: [docker]
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    ssh_authorized_keys: [` + aliceKey + `]
groups:
  - ops: [alice, debian]
  - cloud-users
chpasswd:
  expire: false
  users:
    - {name: alice, password: ` + clearPW + `, type: text}
write_files:
  - path: /etc/app/app.conf
    content: |
      port=8080
    permissions: '0640'
  - path: /etc/app/big.txt
    encoding: gz+b64
    content: ` + gzipB64(t, "compressed\n") + `
  - path: /home/alice/note
    owner: alice:alice
    content: hi
    defer: true
bootcmd:
  - echo early
runcmd:
  - [touch, /run/done]
  - echo "late"
package_update: true
packages: [nginx]
phone_home:
  url: ` + srv.URL + `/home/$INSTANCE_ID/
  post: [instance_id, hostname, pub_key_ed25519]
final_message: "booted $INSTANCE_ID"
power_state:
  mode: reboot
  message: bye
`
	run := &recordRunner{}
	e, ev := m.env(cloudInitEnv("i-1", "user-data", b64(ud)))
	var logs bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), nil))
	e.Commands = run
	readyAt := -1
	run.onRun = func(line string) {
		if strings.HasPrefix(line, "shutdown") {
			readyAt = len(ev.events)
		}
	}
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	wantRuns := []string{
		"env INSTANCE_ID=i-1 /bin/sh -c echo early",
		"env DEBIAN_FRONTEND=noninteractive apt-get update",
		"env DEBIAN_FRONTEND=noninteractive apt-get --option=Dpkg::Options::=--force-confold --assume-yes --quiet install nginx",
		"touch /run/done",
		"/bin/sh -c echo \"late\"",
		"shutdown -r now bye",
	}
	if diff := cmp.Diff(wantRuns, run.lines); diff != "" {
		t.Errorf("commands run (-want +got):\n%s", diff)
	}
	if readyAt < 0 || ev.events[readyAt-1].Type != callback.TypeReady {
		t.Errorf("power_state ran before the ready event (events before it: %d)", readyAt)
	}
	if m.hostname != "app1" || !strings.Contains(m.read("etc/hosts"), "app1.example.com app1") {
		t.Errorf("host name %q, /etc/hosts %q: want user-data's app1.example.com", m.hostname, m.read("etc/hosts"))
	}
	if !e.Plan.SSH.PasswordAuth {
		t.Errorf("ssh_pwauth: true did not turn on the embedded server's password logins")
	}
	passwd, group := m.read("etc/passwd"), m.read("etc/group")
	for _, w := range []string{"\ndebian:", "\nalice:x:1001:", ":Alice Liddell:/home/alice:/bin/bash\n"} {
		if !strings.Contains(passwd, w) {
			t.Errorf("/etc/passwd = %q, want %q", passwd, w)
		}
	}
	for _, g := range [][2]string{{"docker", "alice"}, {"ops", "alice"}, {"ops", "debian"}, {"sudo", "alice"}} {
		if !lineHasMember(group, g[0], g[1]) {
			t.Errorf("/etc/group = %q: %s is not in %s", group, g[1], g[0])
		}
	}
	if !strings.Contains(group, "\ncloud-users:x:") {
		t.Errorf("/etc/group = %q: no cloud-users", group)
	}
	if s := m.read("etc/sudoers.d/ovfinit-alice"); !strings.Contains(s, "alice ALL=(ALL:ALL) NOPASSWD: ALL") {
		t.Errorf("alice's sudoers = %q", s)
	}
	if keys, err := users.StoredKeys(m.root, "/var/lib/ovfinit", "alice"); err != nil || len(keys) != 1 {
		t.Errorf("StoredKeys(alice) = %v, %v", keys, err)
	}
	for name, want := range map[string]string{"etc/app/app.conf": "port=8080\n", "etc/app/big.txt": "compressed\n", "home/alice/note": "hi"} {
		if got := m.read(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	wantMode := fs.FileMode(0o640)
	if runtime.GOOS == "windows" {
		wantMode = 0o666 // Windows keeps only the read-only bit
	}
	if fi, err := os.Stat(filepath.Join(m.root, "etc/app/app.conf")); err != nil || fi.Mode().Perm() != wantMode {
		t.Errorf("app.conf mode = %v (%v), want %v", fi.Mode(), err, wantMode)
	}
	if os.Geteuid() == 0 {
		fi, _ := os.Stat(filepath.Join(m.root, "home/alice/note"))
		if uid, _, _ := rootfs.Owner(fi); uid != 1001 {
			t.Errorf("home/alice/note owner = %d, want alice (1001)", uid)
		}
	}
	if posted.Get("instance_id") != "i-1" || posted.Get("hostname") != "app1" || !strings.HasPrefix(posted.Get("pub_key_ed25519"), "ssh-ed25519 ") {
		t.Errorf("phone_home posted %v", posted)
	}
	if !strings.Contains(logs.String(), "booted i-1") {
		t.Errorf("final_message not logged")
	}
	// The password: hashed in shadow, never in the log or the state.
	if strings.Contains(logs.String(), clearPW) {
		t.Errorf("the log shows chpasswd's password")
	}
	filepath.WalkDir(filepath.Join(m.root, "var/lib/ovfinit"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), clearPW) || strings.Contains(string(b), b64(ud)[:40]) {
				t.Errorf("%s holds the user-data or its password", p)
			}
		}
		return nil
	})

	// A reboot of the same instance: bootcmd again, nothing else.
	run.lines = nil
	e, _ = m.env(cloudInitEnv("i-1", "user-data", b64(ud)))
	e.Commands = run
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("second Run() = %v", err)
	}
	if diff := cmp.Diff([]string{"env INSTANCE_ID=i-1 /bin/sh -c echo early"}, run.lines); diff != "" {
		t.Errorf("commands on a reboot (-want +got):\n%s", diff)
	}
}

// TestCloudConfigRefused: user-data that ovfinit does not fully apply
// fails validate, before anything changes, naming the property, its line
// in ovf-env.xml and the line in the document; never dropped.
func TestCloudConfigRefused(t *testing.T) {
	m := cloudMachine(t)
	ud := "#cloud-config\nhostname: app1\ntimezone: Europe/Berlin\nusers:\n  - name: bob\n    expiredate: '2030-01-01'\n"
	_, ev, err := m.boot(cloudInitEnv("i-1", "user-data", b64(ud)))
	if err == nil {
		t.Fatal("Run() = nil, want a validate failure")
	}
	for _, w := range []string{"step validate", "property user-data (ovf-env.xml line 9)", "#cloud-config line 3: timezone: not applied",
		"#cloud-config line 6: users[0].expiredate"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Run() = %v, want it to mention %q", err, w)
		}
	}
	if Retryable(err) {
		t.Errorf("Retryable(%v) = true, want a fatal input error", err)
	}
	if m.exists("etc/hostname") || strings.Contains(m.read("etc/passwd"), "bob") {
		t.Errorf("something was applied before the failure")
	}
	if last := ev.lines()[len(ev.lines())-1]; !strings.HasPrefix(last, "failed") {
		t.Errorf("last event %q, want failed", last)
	}
}

// TestUserDataForms: each form of user-data is applied or refused by
// name, never dropped (before, anything but #!starlark was ignored, and
// user-data that was not base64 passed).
func TestUserDataForms(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        string // in the error; "" for none
	}{
		{"not base64", "#cloud-config", "property user-data (ovf-env.xml line 9): not base64"},
		{"multipart", b64("Content-Type: multipart/mixed; boundary=X\nMIME-Version: 1.0\n\n--X\n"), "MIME multipart user-data is not supported"},
		{"include", b64("#include\nhttp://example.com/x\n"), "#include user-data is not supported"},
		{"boothook", b64("#cloud-boothook\n#!/bin/sh\n"), "#cloud-boothook user-data is not supported"},
		{"jinja", b64("## template: jinja\n#cloud-config\n"), "Jinja template user-data is not supported"},
		{"plain text", b64("hello\n"), "unrecognised (no #cloud-config or #! first line) user-data is not supported"},
		{"gzip cloud-config", gzipB64(t, "#cloud-config\nfinal_message: zipped\n"), ""},
		{"empty", b64("\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := cloudMachine(t)
			_, _, err := m.boot(cloudInitEnv("i-1", "user-data", tc.value))
			if tc.want == "" {
				if err != nil {
					t.Errorf("Run() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestUserDataScript: a #! user-data script runs once per instance, after
// runcmd, as cloud-init's scripts_user runs it.
func TestUserDataScript(t *testing.T) {
	m := cloudMachine(t)
	run := &recordRunner{}
	script := "#!/bin/sh\necho hi world\n"
	e, _ := m.env(cloudInitEnv("i-1", "user-data", b64(script)))
	e.Commands = run
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if len(run.scripts) != 1 || run.scripts[0] != script {
		t.Errorf("scripts run = %q, want the user-data script once", run.scripts)
	}
	// The runtime directory is the running OS's (%ProgramData% on Windows).
	saved := path.Join(DefaultRuntimeDir, "user-data.script")
	if len(run.lines) != 1 || !strings.HasSuffix(run.lines[0], filepath.FromSlash(saved)) {
		t.Errorf("commands = %q, want the script from the runtime directory (%s)", run.lines, saved)
	}
	if m.exists(saved[1:]) {
		t.Errorf("the script stays in the runtime directory after it ran")
	}
	e, _ = m.env(cloudInitEnv("i-1", "user-data", b64(script)))
	run2 := &recordRunner{}
	e.Commands = run2
	if err := Run(t.Context(), e, Steps()); err != nil || len(run2.lines) != 0 {
		t.Errorf("reboot: Run() = %v, commands %q; want the script not run again", err, run2.lines)
	}
}

// TestCloudConfigNoDefaultUser: a users list without "default" means no
// default user, as in cloud-init; keys meant for it are refused, not lost.
func TestCloudConfigNoDefaultUser(t *testing.T) {
	m := cloudMachine(t)
	ud := b64("#cloud-config\nusers:\n  - name: carol\n    ssh_authorized_keys: [" + aliceKey + "]\n")
	_, _, err := m.boot(envXML("instance-id", "i-1", "user-data", ud))
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	passwd := m.read("etc/passwd")
	if strings.Contains(passwd, "debian") || !strings.Contains(passwd, "\ncarol:") {
		t.Errorf("/etc/passwd = %q, want carol and no default user", passwd)
	}
	_, _, err = cloudMachine(t).boot(envXML("instance-id", "i-1", "public-keys", testKey, "user-data", ud))
	if err == nil || !strings.Contains(err.Error(), "property public-keys (ovf-env.xml line 6): goes to the default user") {
		t.Errorf("Run(public-keys, users without default) = %v, want public-keys refused", err)
	}
}

// TestCloudConfigSecretsRedacted: passwords in user-data are redacted in
// what ovfinit prints and saves.
func TestCloudConfigSecretsRedacted(t *testing.T) {
	m := cloudMachine(t)
	const pw = "Chpasswd-Secret-9"
	ud := "#cloud-config\nchpasswd:\n  list: |\n    root:" + pw + "\n"
	e, _, err := m.boot(cloudInitEnv("i-1", "user-data", b64(ud)))
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if got := e.Redact.String("x " + pw + " y"); strings.Contains(got, pw) {
		t.Errorf("Redact.String() = %q: chpasswd's password is not a known secret", got)
	}
	if red := m.read(strings.TrimPrefix(e.saved().RedactedPath(), "/")); red == "" || strings.Contains(red, b64(ud)) {
		t.Errorf("the saved redacted copy keeps user-data with a password:\n%s", red)
	}
	if shadow := m.read("etc/shadow"); strings.Contains(shadow, pw) || !strings.Contains(shadow, "root:$") {
		t.Errorf("/etc/shadow = %q, want root's password hashed", shadow)
	}
	// A later boot with only the redacted copy reads user-data as unset.
	if _, _, err := m.boot(""); err != nil {
		t.Errorf("Run() from the redacted copy = %v", err)
	}
}

// TestCloudConfigUserWarnings: a user-data user in a privileged group is
// created, as cloud-init creates it, with a warning naming user-data and
// the line, not silently.
func TestCloudConfigUserWarnings(t *testing.T) {
	p, err := planFrom(t, "instance-id", "i-1", "user-data", b64("#cloud-config\nusers:\n  - default\n  - name: ops\n    groups: adm\n"))
	if err != nil {
		t.Fatalf("BuildPlan() = %v", err)
	}
	found := false
	for _, w := range p.Warnings {
		if w.Key == ovfenv.KeyUserData.Name && strings.Contains(w.Err.Error(), "#cloud-config line 4: users: ops: adm is a privileged group") {
			found = true
		}
	}
	if !found {
		t.Errorf("BuildPlan().Warnings = %v, want one for ops in adm", p.Warnings)
	}
}

// TestPhoneHomeHostnameOffline: phone_home posts the host name the ready
// event reports (hostnameOf): with --root other than / and no host name in
// the environment, none ("N/A"), never the name of the machine the agent
// runs on (the build host).
func TestPhoneHomeHostnameOffline(t *testing.T) {
	var posted url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		posted = r.PostForm
	}))
	defer srv.Close()
	ud := "#cloud-config\nphone_home:\n  url: " + srv.URL + "/\n  post: [instance_id, hostname, fqdn]\n"
	for _, tt := range []struct {
		name  string
		props []string
		want  string
	}{
		{"no property", nil, "N/A"}, // cloud-init's word for a value it has not
		{"property", []string{"hostname", "web1.example.com"}, "web1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			posted = nil
			m := cloudMachine(t)
			e, _ := m.env(envXML(append([]string{"instance-id", "i-1", "public-keys", testKey, "user-data", b64(ud)}, tt.props...)...))
			e.Live = false
			if err := Run(t.Context(), e, Steps()); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if posted.Get("instance_id") != "i-1" || posted.Get("hostname") != tt.want {
				t.Errorf("phone_home posted %v, want instance_id i-1 and hostname %q", posted, tt.want)
			}
		})
	}
}
