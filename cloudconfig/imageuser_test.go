package cloudconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const debianCloudCfg = `# rendered from cloud-init's template for debian
users:
  - default
disable_root: true
system_info:
  distro: debian
  default_user:
    name: debian
    lock_passwd: True
    gecos: Debian
    groups: [adm, audio, cdrom, dialout, dip, floppy, netdev, plugdev, sudo, video]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
  paths:
    cloud_dir: /var/lib/cloud/
`

func TestImageDefaultUser(t *testing.T) {
	sudo := []string{"ALL=(ALL) NOPASSWD:ALL"}
	debianGroups := []string{"adm", "audio", "cdrom", "dialout", "dip", "floppy", "netdev", "plugdev", "sudo", "video"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  *DefaultUser
	}{
		{"cloud.cfg", map[string]string{"etc/cloud/cloud.cfg": debianCloudCfg, "etc/os-release": "ID=ubuntu\n"},
			&DefaultUser{Name: "debian", Gecos: "Debian", Groups: debianGroups, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "/etc/cloud/cloud.cfg"}},
		{"cloud.cfg.d later file wins, mappings merged", map[string]string{
			"etc/cloud/cloud.cfg":                debianCloudCfg,
			"etc/cloud/cloud.cfg.d/10-a.cfg":     "system_info:\n  default_user:\n    name: first\n",
			"etc/cloud/cloud.cfg.d/20-b.cfg":     "system_info:\n  default_user:\n    name: admin1\n    lock_passwd: false\n",
			"etc/cloud/cloud.cfg.d/30-other.cfg": "datasource_list: [OVF]\n",
			"etc/cloud/cloud.cfg.d/README":       "system_info: {default_user: {name: ignored}}\n",
		}, &DefaultUser{Name: "admin1", Gecos: "Debian", Groups: debianGroups, Sudo: sudo, Shell: "/bin/bash", Source: "/etc/cloud/cloud.cfg.d/20-b.cfg"}},
		{"cloud.cfg without default_user: convention", map[string]string{"etc/cloud/cloud.cfg": "users: [default]\n", "etc/os-release": "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\n"},
			&DefaultUser{Name: "debian", Gecos: "Debian", Groups: debianGroups, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "os-release ID=debian (cloud-init's convention)"}},
		{"ubuntu", map[string]string{"usr/lib/os-release": "ID=ubuntu\nID_LIKE=debian\n"},
			&DefaultUser{Name: "ubuntu", Gecos: "Ubuntu", Groups: []string{"adm", "cdrom", "dip", "lxd", "sudo"}, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "os-release ID=ubuntu (cloud-init's convention)"}},
		{"centos", map[string]string{"etc/os-release": "ID=\"centos\"\n"},
			&DefaultUser{Name: "cloud-user", Gecos: "Cloud User", Groups: []string{"adm", "systemd-journal"}, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "os-release ID=centos (cloud-init's convention)"}},
		{"rocky", map[string]string{"etc/os-release": "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"},
			&DefaultUser{Name: "rocky", Gecos: "rocky Cloud User", Groups: []string{"adm", "systemd-journal"}, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "os-release ID=rocky (cloud-init's convention)"}},
		{"derivative by ID_LIKE", map[string]string{"etc/os-release": "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"},
			&DefaultUser{Name: "ubuntu", Gecos: "Ubuntu", Groups: []string{"adm", "cdrom", "dip", "lxd", "sudo"}, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "os-release ID_LIKE=ubuntu (cloud-init's convention)"}},
		{"opensuse", map[string]string{"etc/os-release": "ID=\"opensuse-leap\"\n"},
			&DefaultUser{Name: "suse", Gecos: "suse Cloud User", Groups: []string{"cdrom", "users"}, Sudo: sudo, Shell: "/bin/bash", LockPasswd: true, Source: "os-release ID=opensuse-leap (cloud-init's convention)"}},
		{"unknown distribution", map[string]string{"etc/os-release": "ID=plan9\n"}, nil},
		{"nothing", map[string]string{"etc/passwd": "root:x:0:0::/root:/bin/sh\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ImageDefaultUser(writeTree(t, tc.files))
			if err != nil {
				t.Fatalf("ImageDefaultUser() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ImageDefaultUser() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageDefaultUserErrors(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		want      []string
	}{
		{"bad YAML", "system_info:\n  default_user: [\n", []string{"/etc/cloud/cloud.cfg", "line"}},
		{"unknown key", "system_info:\n  default_user:\n    name: x\n    colour: red\n", []string{"/etc/cloud/cloud.cfg", "unknown key colour"}},
		{"doas", "system_info:\n  default_user:\n    name: x\n    doas: [permit nopass x]\n", []string{"doas is not supported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImageDefaultUser(writeTree(t, map[string]string{"etc/cloud/cloud.cfg": tc.cfg}))
			if err == nil {
				t.Fatalf("ImageDefaultUser() = nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ImageDefaultUser() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestAdminRule(t *testing.T) {
	for rule, want := range map[string]bool{
		"ALL=(ALL) NOPASSWD:ALL":      true,
		"ALL=(ALL:ALL) NOPASSWD: ALL": true,
		"ALL=(ALL) ALL":               false,
		"ALL=(root) NOPASSWD:/bin/ls": false,
	} {
		if got := AdminRule(rule); got != want {
			t.Errorf("AdminRule(%q) = %v, want %v", rule, got, want)
		}
	}
}
