package agent

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

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
	if runtime.GOOS == "windows" {
		t.Skip("the default user of a Linux image")
	}
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
	if !strings.Contains(passwd, "\ndebian:x:1000:1000::/home/debian:/bin/bash\n") {
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
				if err := s.Run(t.Context(), e); err != nil {
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
