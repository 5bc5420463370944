package agent

import (
	"strings"
	"testing"
)

// TestNoManagerRefusesPersistentOnlyKeys: on an image without a network
// manager ovfinit knows (the live applier alone, as on every Windows
// machine), a network-config key that only a manager's files carry
// (accept-ra, critical, the DHCP overrides, ...) is refused at validate
// with its YAML line, and nothing is changed. Before, the boot reached
// ready and the key was dropped: no file was written and the live
// applier has no operation for it.
func TestNoManagerRefusesPersistentOnlyKeys(t *testing.T) {
	for _, tc := range []struct{ key, doc, line string }{
		{"accept-ra", "    accept-ra: false\n", "YAML line 6"},
		{"critical", "    critical: true\n", "YAML line 6"},
		{"dhcp4-overrides.use-dns", "    dhcp4-overrides:\n      use-dns: false\n", "YAML line 7"},
		{"link-local", "    link-local: [ipv4]\n", "YAML line 6"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			m := newMachine(t) // no network manager in the image
			doc := "version: 2\nethernets:\n  lan:\n    match: {name: eth0}\n    dhcp4: true\n" + tc.doc
			_, _, err := m.boot(envXML("instance-id", "i-1", "network-config", b64(doc)))
			for _, want := range []string{"property network-config", tc.line, tc.key, "without a network manager"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Run(%s without a manager) = %v, want an error containing %q", tc.key, err, want)
				}
			}
			if len(m.net.applied) != 0 {
				t.Errorf("network ops %q after a refused network-config", m.net.applied)
			}
		})
	}
}
