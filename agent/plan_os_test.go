package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/users"
)

// winUserMachine is a test machine whose root is a Windows tree (Env.OS
// "windows": no /etc/passwd) on every OS, its accounts in mem (the
// Windows account code over an in-memory database, never netapi32).
func winUserMachine(t *testing.T, mem *users.MemAccounts) (*machine, func(string) (*Env, *fakeEvents)) {
	m := newMachine(t)
	for _, f := range []string{"etc/passwd", "etc/group", "etc/shadow", "etc/hosts"} {
		if err := os.Remove(filepath.Join(m.root, f)); err != nil {
			t.Fatal(err)
		}
	}
	// Windows' own directory, and the parent of the test's state
	// directory (var/lib/ovfinit, which snapshot leaves out).
	for _, d := range []string{"Windows/System32", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(m.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m, func(xml string) (*Env, *fakeEvents) {
		e, ev := m.env(xml)
		e.OS = "windows"
		e.CreateUser = func(root string, u users.User, log *slog.Logger) (*users.Account, error) {
			return users.NewWindowsManager(root, log, mem).Ensure(context.Background(), u)
		}
		return e, ev
	}
}

// TestWindowsRefusedAtValidate (issue 17): on Windows, the user properties
// Windows cannot apply (uid, home, shell, a locked password, a crypt(3)
// hash) and a host name that is no NetBIOS computer name fail the validate
// step, naming the property, before any account, host name or file
// changes. They were silently ignored (uid, home, shell) or failed only
// at the user or hostname step, after the host name or accounts changed.
func TestWindowsRefusedAtValidate(t *testing.T) {
	base := []string{"instance-id", "i-1", "public-keys", testKey}
	tests := []struct {
		name  string
		props []string
		want  []string
	}{
		{"uid", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "1500"},
			[]string{"property ovfinit.user.uid", "not supported on Windows", "SID"}},
		{"home", []string{"ovfinit.user", "bob", "ovfinit.user.home", "/home/bob"},
			[]string{"property ovfinit.user.home", "not supported on Windows"}},
		{"shell", []string{"ovfinit.user", "bob", "ovfinit.user.shell", "/bin/bash"},
			[]string{"property ovfinit.user.shell", "not supported on Windows"}},
		{"lock-password", []string{"ovfinit.user", "bob", "ovfinit.user.lock-password", "true"},
			[]string{"property ovfinit.user.lock-password", "not supported on Windows"}},
		{"crypt hash", []string{"ovfinit.user", "bob", "password", "$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/"},
			[]string{"property password", "crypt(3) hash"}},
		{"all at once", []string{"ovfinit.user", "bob", "ovfinit.user.uid", "1500", "ovfinit.user.shell", "/bin/sh",
			"hostname", "web-server-0000001"},
			[]string{"property ovfinit.user.uid", "property ovfinit.user.shell", "property hostname"}},
		{"host name too long for NetBIOS", []string{"hostname", "web-server-0000001.example.com"},
			[]string{"property hostname", `"web-server-0000001" is 18 characters long`, "at most 15"}},
		{"local-hostname too long", []string{"local-hostname", "a-very-long-computer-name"},
			[]string{"property local-hostname", "at most 15"}},
		{"host name of digits", []string{"hostname", "12345"},
			[]string{"property hostname", "only digits"}},
		{"cloud-config user fields", []string{"user-data", b64("#cloud-config\nusers:\n- name: carol\n  uid: 1600\n  homedir: /home/carol\n  shell: /bin/bash\n")},
			[]string{"property user-data", "line 3: user carol: uid is not supported on Windows", "user carol: homedir is not supported", "user carol: shell is not supported"}},
		{"user name too long for Windows", []string{"ovfinit.user", "a-very-long-user-name-1"},
			[]string{"property ovfinit.user", "23 characters long", "at most 20"}},
		{"cloud-config user name too long", []string{"user-data", b64("#cloud-config\nusers:\n- name: a-very-long-user-name-2\n")},
			[]string{"property user-data", "user a-very-long-user-name-2 is 23 characters long"}},
		{"cloud-config crypt hash", []string{"user-data", b64("#cloud-config\nusers:\n- name: carol\n  hashed_passwd: $6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/\n")},
			[]string{"property user-data", "user carol: the password is a crypt(3) hash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := &users.MemAccounts{}
			m, env := winUserMachine(t, mem)
			before := snapshot(t, m.root)
			e, ev := env(envXML(append(slices.Clone(base), tt.props...)...))
			err := Run(context.Background(), e, Steps())
			if err == nil {
				t.Fatalf("Run(%q) on windows = nil, want a validation error", tt.props)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run(%q) on windows error = %q, want it to mention %q", tt.props, err, w)
				}
			}
			last := ev.events[len(ev.events)-1]
			if last.Type != callback.TypeFailed || last.Data.Step != "validate" || *last.Data.Retry {
				t.Errorf("last event = %s step %q retry %v, want failed at validate with retry=false", last.Type, last.Data.Step, *last.Data.Retry)
			}
			if len(mem.Calls) > 0 || m.hostname != "" || m.ssh != nil {
				t.Errorf("changes after a failed validation: accounts %q, hostname %q, ssh %v", mem.Calls, m.hostname, m.ssh)
			}
			if diff := cmp.Diff(before, snapshot(t, m.root)); diff != "" {
				t.Errorf("files changed by a failed validation (-before +after):\n%s", diff)
			}
		})
	}
}

// TestWindowsUserAccepted: what Windows can apply still goes through on a
// Windows tree (groups, admin, a clear password that must change), the
// host name reaches SetComputerNameEx's seam, and the same user properties
// on a Linux tree are accepted: the refusals are Windows' only.
func TestWindowsUserAccepted(t *testing.T) {
	mem := &users.MemAccounts{}
	m, env := winUserMachine(t, mem)
	e, _ := env(envXML("instance-id", "i-1", "public-keys", testKey, "hostname", "web1.example.com",
		"ovfinit.user", "bob", "ovfinit.user.groups", "devs", "ovfinit.user.admin", "true",
		"password", "first pw", "ovfinit.user.expire-password", "true"))
	if err := Run(context.Background(), e, Steps()); err != nil {
		t.Fatalf("Run() on windows = %v, want ready", err)
	}
	want := []string{"NetLocalGroupAdd devs", "NetUserAdd bob", "expire bob",
		"NetLocalGroupAddMembers devs bob", "NetLocalGroupAddMembers Administrators bob"}
	if diff := cmp.Diff(want, mem.Calls); diff != "" {
		t.Errorf("account calls (-want +got):\n%s", diff)
	}
	if m.hostname != "web1" {
		t.Errorf("live host name = %q, want web1", m.hostname)
	}

	lm := newMachine(t)
	if _, _, err := lm.boot(envXML("instance-id", "i-1", "public-keys", testKey, "hostname", "web-server-0000001",
		"ovfinit.user", "bob", "ovfinit.user.uid", "1500", "ovfinit.user.shell", "/bin/sh", "ovfinit.user.home", "/home/bob")); err != nil {
		t.Fatalf("Run() on linux = %v, want ready", err)
	}
}
