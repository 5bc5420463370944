package agent

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

func planFrom(t *testing.T, props ...string) (*Plan, error) {
	t.Helper()
	env, err := ovfenv.Parse([]byte(envXML(props...)))
	if err != nil {
		t.Fatal(err)
	}
	return BuildPlan(env, func() (netcfg.Current, netcfg.Applied, error) { return netcfg.Current{}, netcfg.Applied{}, nil })
}

func TestPlanUser(t *testing.T) {
	const hash = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"
	p, err := planFrom(t,
		"ovfinit.user", "bob", "password", hash, "ovfinit.user.uid", "2001", "ovfinit.user.group", "staff",
		"ovfinit.user.groups", "docker, video", "ovfinit.user.shell", "/bin/bash", "ovfinit.user.home", "/srv/bob",
		"ovfinit.user.admin", "yes", "ovfinit.user.lock-password", "false", "ovfinit.user.expire-password", "True")
	if err != nil {
		t.Fatalf("BuildPlan() = %v", err)
	}
	want := users.User{Name: "bob", UID: 2001, PrimaryGroup: "staff", Groups: []string{"docker", "video"},
		Shell: "/bin/bash", Home: "/srv/bob", Admin: true, ExpirePassword: true, Password: users.NewPassword(hash)}
	if diff := cmp.Diff(want, p.User, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b users.Password) bool {
		return fmt.Sprint(a.IsHash(), a.Set()) == fmt.Sprint(b.IsHash(), b.Set())
	})); diff != "" {
		t.Errorf("BuildPlan().User mismatch (-want +got):\n%s", diff)
	}
	if !p.User.Password.IsHash() {
		t.Errorf("password %q: yescrypt hash not recognised as a hash", hash)
	}
}

func TestPlanUserErrors(t *testing.T) {
	const secret = "hunter2:x"
	_, err := planFrom(t, "password", secret, "ovfinit.user.uid", "0", "ovfinit.user.groups", "ok,Bad",
		"ovfinit.user.shell", "bash", "ovfinit.user.admin", "maybe")
	if err == nil {
		t.Fatal("BuildPlan() = nil, want errors")
	}
	for _, w := range []string{"property password", "property ovfinit.user.uid", "property ovfinit.user.groups",
		"property ovfinit.user.shell", "property ovfinit.user.admin"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("BuildPlan() error %q does not mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("BuildPlan() error %q echoes the password", err)
	}
	if _, err := planFrom(t, "ovfinit.user.expire-password", "true"); err == nil || !strings.Contains(err.Error(), "needs a password") {
		t.Errorf("BuildPlan(expire without password) = %v, want a 'needs a password' error", err)
	}
}

func TestUserStepStoresKeys(t *testing.T) {
	m := newMachine(t)
	if _, _, err := m.boot(fullEnv("i-1")); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	keys, err := users.StoredKeys(m.root, "/var/lib/ovfinit", "ovfuser")
	if err != nil || len(keys) != 1 {
		t.Errorf("StoredKeys(ovfuser) = %v, %v; want the one public-keys key", keys, err)
	}
}

// accountImage gives the machine an image's account database: alice
// (1000) and daemon (a system account), the groups devs (a member) and
// docker (a system group), /etc/shells, and /srv/taken, a directory that
// belongs to whoever runs the test (not the new user's uid 4242).
func accountImage(t *testing.T, m *machine) {
	t.Helper()
	for name, content := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n",
		"etc/group":  "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nalice:x:1000:\ndevs:x:1500:alice\ndocker:x:999:\nstaff:x:50:\n",
		"etc/shells": "# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n",
	} {
		if err := os.WriteFile(filepath.Join(m.root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"srv/taken", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(m.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getuid() == 4242 {
		t.Skip("the test's own uid is 4242, the uid the home check needs to differ from")
	}
}

// snapshot lists every file and directory under root outside ovfinit's own
// state (where the failed status goes), with file contents.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		// ovfinit's own state, runtime and status directories
		// (%ProgramData% on Windows).
		if rel == "var/lib/ovfinit" || rel == "run" || rel == "ProgramData" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[rel] = fi.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] += " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// homeTaken is how the refusal of an existing home another uid owns reads:
// on Windows the Linux tree's files have no uid owner, so any existing
// home of a new account is refused as one whose owner cannot be read.
func homeTaken(home string) string {
	if runtime.GOOS == "windows" {
		return "checking " + home + ": it exists, and whom it belongs to cannot be read on windows"
	}
	return home + " exists and belongs to uid"
}

// TestUserRefusedAtValidate (issue 13, defect 13 and the system-account
// policy): an account that clashes with the image's accounts, or that the
// policy refuses, fails the validate step as a fatal error (retry=false)
// naming the property, before the host name, the network or any file
// changes.
func TestUserRefusedAtValidate(t *testing.T) {
	base := []string{"instance-id", "i-1", "ovfinit.callback.url", "http://127.0.0.1:9/events", "hostname", "web1",
		"ovfinit.net.mac", "52:54:00:12:34:56", "ovfinit.net.address", "10.0.2.15/24", "public-keys", testKey}
	tests := []struct {
		name  string
		props []string
		want  []string
	}{
		// Clashes with the image's accounts: never accepted.
		{"uid 0", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "0"},
			[]string{"property ovfinit.user.uid"}},
		{"uid of another user", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "1000"},
			[]string{"property ovfinit.user.uid", "uid 1000 is taken by alice"}},
		{"existing user with another uid", []string{"ovfinit.user", "alice", "ovfinit.user.uid", "2000"},
			[]string{"property ovfinit.user.uid", "exists with uid 1000"}},
		{"existing user with another primary group", []string{"ovfinit.user", "alice", "ovfinit.user.group", "devs"},
			[]string{"property ovfinit.user.group", "exists with primary group id 1000"}},
		{"existing user with another home", []string{"ovfinit.user", "alice", "ovfinit.user.home", "/srv/alice"},
			[]string{"property ovfinit.user.home", "exists with home /home/alice"}},
		{"existing user with another shell", []string{"ovfinit.user", "alice", "ovfinit.user.shell", "/bin/bash"},
			[]string{"property ovfinit.user.shell", "exists with shell /bin/sh"}},
		{"own group has members", []string{"ovfinit.user", "devs"},
			[]string{"property ovfinit.user", "group named devs exists with members"}},
		{"own group is a system group", []string{"ovfinit.user", "docker"},
			[]string{"property ovfinit.user", "system group named docker"}},
		{"home of someone else", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "4242", "ovfinit.user.home", "/srv/taken"},
			[]string{"property ovfinit.user.home", homeTaken("/srv/taken")}},
		{"home of someone else, even with the override", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "4242",
			"ovfinit.user.home", "/etc", "ovfinit.user.allow-system", "true"},
			[]string{"property ovfinit.user.home", homeTaken("/etc")}},
		// The system-account policy: refused without ovfinit.user.allow-system.
		{"root", []string{"ovfinit.user", "root"},
			[]string{"property ovfinit.user", "root is the superuser", "ovfinit.user.allow-system=true"}},
		{"system account", []string{"ovfinit.user", "daemon"},
			[]string{"property ovfinit.user", "daemon is a system account (uid 1"}},
		{"system uid", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "500"},
			[]string{"property ovfinit.user.uid", "500 is a system uid"}},
		{"home /", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/"},
			[]string{"property ovfinit.user.home", "/ is a system directory"}},
		{"home /etc", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/etc"},
			[]string{"property ovfinit.user.home", "/etc is a system directory"}},
		{"home under /usr", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/usr/local/bob"},
			[]string{"property ovfinit.user.home", "/usr/local/bob is a system directory"}},
		{"home /var/lib", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/var/lib/"},
			[]string{"property ovfinit.user.home", "is a system directory"}},
		{"home in the key store, even with the override", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/var/lib/ovfinit/keys",
			"ovfinit.user.allow-system", "true"},
			[]string{"property ovfinit.user.home", "is in ovfinit's own directories"}},
		{"home with ..", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/home/../etc", "ovfinit.user.allow-system", "true"},
			[]string{"property ovfinit.user.home", "without '..'"}},
		{"shell not in /etc/shells", []string{"ovfinit.user", "bob", "ovfinit.user.shell", "/usr/bin/python3"},
			[]string{"property ovfinit.user.shell", "not listed in the image's /etc/shells"}},
		{"privileged groups", []string{"ovfinit.user", "bob", "ovfinit.user.groups", "video,shadow,disk"},
			[]string{"property ovfinit.user.groups", "shadow is a privileged group", "disk is a privileged group"}},
		{"admin group as a plain group", []string{"ovfinit.user", "bob", "ovfinit.user.groups", "sudo"},
			[]string{"property ovfinit.user.groups", "sudo is an administrator group"}},
		{"privileged primary group", []string{"ovfinit.user", "bob", "ovfinit.user.group", "root"},
			[]string{"property ovfinit.user.group", "root is a privileged group"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			accountImage(t, m)
			before := snapshot(t, m.root)
			_, ev, err := m.boot(envXML(append(slices.Clone(base), tt.props...)...))
			if err == nil {
				t.Fatalf("Run(%q) = nil, want a validation error", tt.props)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run(%q) error = %q, want it to mention %q", tt.props, err, w)
				}
			}
			last := ev.events[len(ev.events)-1]
			if last.Type != callback.TypeFailed || last.Data.Step != "validate" || *last.Data.Retry {
				t.Errorf("last event = %s step %q retry %v, want failed at validate with retry=false", last.Type, last.Data.Step, *last.Data.Retry)
			}
			if len(m.net.applied) > 0 || m.hostname != "" || m.ssh != nil {
				t.Errorf("live changes after a failed validation: net %v, hostname %q, ssh %v", m.net.applied, m.hostname, m.ssh)
			}
			if diff := cmp.Diff(before, snapshot(t, m.root)); diff != "" {
				t.Errorf("files changed by a failed validation (-before +after):\n%s", diff)
			}
		})
	}
}

// TestUserAllowSystem: ovfinit.user.allow-system accepts what the policy
// refuses, and says so in the log.
func TestUserAllowSystem(t *testing.T) {
	tests := []struct {
		name  string
		props []string
		warn  string
	}{
		{"root", []string{"ovfinit.user", "root"}, "root is the superuser"},
		{"privileged groups", []string{"ovfinit.user", "bob", "ovfinit.user.groups", "shadow,disk"}, "disk is a privileged group"},
		{"shell not in /etc/shells", []string{"ovfinit.user", "bob", "ovfinit.user.shell", "/usr/bin/python3"}, "not listed in the image's /etc/shells"},
		{"system uid", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "500"}, "500 is a system uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			accountImage(t, m)
			e, _ := m.env(envXML(append([]string{"instance-id", "i-1", "public-keys", testKey, "ovfinit.user.allow-system", "true"}, tt.props...)...))
			var log bytes.Buffer
			e.Log = slog.New(slog.NewTextHandler(&log, nil))
			if err := Run(context.Background(), e, Steps()); err != nil {
				t.Fatalf("Run(%q) = %v, want ready", tt.props, err)
			}
			if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "property=ovfinit.user") ||
				!strings.Contains(log.String(), tt.warn) || !strings.Contains(log.String(), "accepted because ovfinit.user.allow-system=true") {
				t.Errorf("log has no warning with %q:\n%s", tt.warn, log.String())
			}
		})
	}
}

// TestUserSecondBoot: the checks accept the account the first boot made,
// so the next boot (validate runs at every boot) still succeeds.
func TestUserSecondBoot(t *testing.T) {
	m := newMachine(t)
	accountImage(t, m)
	xml := envXML("instance-id", "i-1", "public-keys", testKey, "ovfinit.user", "bob", "ovfinit.user.uid", "4243",
		"ovfinit.user.group", "staff", "ovfinit.user.groups", "docker", "ovfinit.user.shell", "/bin/bash", "ovfinit.user.home", "/srv/bob")
	for i := range 2 {
		if _, _, err := m.boot(xml); err != nil {
			t.Fatalf("boot %d: Run() = %v", i+1, err)
		}
	}
}

// TestUserStepClashIsFatal: a clash that appears between validate and the
// user step (the image changed in between) is still reported as fatal,
// naming the property, not as something a retry could fix.
func TestUserStepClashIsFatal(t *testing.T) {
	m := newMachine(t)
	accountImage(t, m)
	e, _ := m.env(envXML("ovfinit.user", "bob", "ovfinit.user.uid", "1000"))
	env, err := ovfenv.Parse([]byte(envXML("ovfinit.user", "bob", "ovfinit.user.uid", "1000")))
	if err != nil {
		t.Fatal(err)
	}
	e.OVF = env
	e.Plan = &Plan{User: users.User{Name: "bob", UID: 1000}}
	_, err = createUser(context.Background(), e)
	if err == nil || Retryable(err) || !strings.Contains(err.Error(), "property ovfinit.user.uid") {
		t.Errorf("createUser(uid of alice) = %v (retryable %v), want a fatal error naming ovfinit.user.uid", err, Retryable(err))
	}
}

// TestUserDataDecodedOnce: user-data is decoded once for every planner.
// Before, planScript and planUserData each decoded it: a value that is not
// base64 was reported twice, and gzip'd #!starlark user-data (gunzipped by
// one decoder only) was neither run nor refused.
func TestUserDataDecodedOnce(t *testing.T) {
	env, err := ovfenv.Parse([]byte(envXML("user-data", "#cloud-config\nhostname: x\n")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = BuildPlan(env, nil)
	if err == nil || strings.Count(err.Error(), "property user-data") != 1 {
		t.Errorf("BuildPlan(user-data not base64) = %v, want the problem reported once", err)
	}

	env, err = ovfenv.Parse([]byte(envXML("user-data", gzipB64(t, "#!starlark\nlog.info(\"zipped\")\n"))))
	if err != nil {
		t.Fatal(err)
	}
	p, err := BuildPlan(env, nil)
	if err != nil || p.Scripts.UserData == nil {
		t.Errorf("BuildPlan(gzip'd #!starlark user-data) = %v, Scripts.UserData %v; want it compiled", err, p.Scripts.UserData)
	}
}

// TestScriptWrappedBase64: ovfinit.script is read by the key table's
// base64 getter, which takes a wrapped value as user-data always did;
// before, planScript decoded it by hand and refused the line breaks.
func TestScriptWrappedBase64(t *testing.T) {
	s := b64("log.info(\"wrapped\")\n")
	env, err := ovfenv.Parse([]byte(envXML("ovfinit.script", s[:8]+" "+s[8:])))
	if err != nil {
		t.Fatal(err)
	}
	p, err := BuildPlan(env, nil)
	if err != nil || p.Scripts.Script == nil {
		t.Errorf("BuildPlan(wrapped ovfinit.script) = %v, Script %v; want it compiled", err, p.Scripts.Script)
	}
}
