package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/sshd"
)

// TestFailSafeSSH: a failed boot on an image whose OpenSSH serves SSH
// writes the instance's host keys for it when it has none (else OpenSSH
// fails with "no hostkeys available" and the boot ends degraded), and
// applies nothing of the environment: no user, no host name. Host keys the
// image has are kept; the embedded server, an image without sshd and an
// offline root get nothing.
func TestFailSafeSSH(t *testing.T) {
	badHost := envXML("instance-id", "i-1", "hostname", "bad_host!", "ovfinit.user", "alice",
		"public-keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice")
	truncated := badHost[:strings.Index(badHost, `oe:key="ovfinit.user"`)]
	for _, tc := range []struct {
		name    string
		xml     string
		sshd    bool   // the image has /usr/sbin/sshd
		hasKey  bool   // the image has a host key of its own
		server  string // ovfinit.ssh.server, if set
		offline bool
		want    bool // host keys written to /etc/ssh
	}{
		{name: "bad host name, image sshd", xml: badHost, sshd: true, want: true},
		{name: "truncated environment, image sshd", xml: truncated, sshd: true, want: true},
		{name: "server=os", xml: badHost, sshd: true, server: "os", want: true},
		{name: "image host key kept", xml: badHost, sshd: true, hasKey: true},
		{name: "server=embedded", xml: badHost, sshd: true, server: "embedded"},
		{name: "no sshd in the image", xml: badHost},
		{name: "offline", xml: badHost, sshd: true, offline: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			if tc.sshd {
				m.touch("usr/sbin/sshd")
			}
			os.MkdirAll(filepath.Join(m.root, "etc/ssh"), 0o755)
			const own = "the image's own key\n"
			if tc.hasKey {
				os.WriteFile(filepath.Join(m.root, "etc/ssh/ssh_host_ecdsa_key"), []byte(own), 0o600)
			}
			xml := tc.xml
			if tc.server != "" {
				xml = strings.Replace(xml, "</PropertySection>", `<Property oe:key="ovfinit.ssh.server" oe:value="`+tc.server+`"/></PropertySection>`, 1)
			}
			e, _ := m.env(xml)
			e.Live = !tc.offline
			if err := Run(context.Background(), e, Steps()); err == nil {
				t.Fatal("Run() = nil, want the boot to fail")
			}
			key := "etc/ssh/" + sshd.HostKeyFile(sshd.KeyEd25519)
			if got := m.exists(key); got != tc.want {
				t.Errorf("after the failed boot /%s exists = %v, want %v", key, got, tc.want)
			}
			if tc.want {
				// Mode bits: a Linux tree's own (Windows files have none).
				if fi, err := os.Stat(filepath.Join(m.root, key)); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
					t.Errorf("/%s mode %v, want 0600", key, fi.Mode().Perm())
				}
				if !m.exists(key + ".pub") {
					t.Errorf("/%s.pub missing", key)
				}
			}
			if tc.hasKey {
				if got := m.read("etc/ssh/ssh_host_ecdsa_key"); got != own {
					t.Errorf("the image's host key was replaced: %q", got)
				}
			}
			if m.hostname != "" || m.exists("home/alice") || strings.Contains(m.read("etc/passwd"), "alice") {
				t.Errorf("a failed boot applied part of the environment: host name %q, home of alice %v", m.hostname, m.exists("home/alice"))
			}
		})
	}
}
