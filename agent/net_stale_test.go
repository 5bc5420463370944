package agent

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// TestStaleNetFilesRemoved: the fallback's file from boot 1 is removed when
// boot 2 (a new instance) configures the NIC from properties, and a NIC's
// file is removed when the NIC gets another name; files of the image
// (without ovfinit's header, whatever their name) stay.
func TestStaleNetFilesRemoved(t *testing.T) {
	twoNICs(t)
	netLinks[2].Carrier = true
	m := newMachine(t)
	m.touch("usr/lib/systemd/systemd-networkd")
	image := map[string]string{
		"etc/systemd/network/50-image.network":            "[Match]\nName=ens3\n",
		"etc/systemd/network/10-ovfinit-handmade.network": "# mine, not ovfinit's\n[Match]\nName=ens9\n",
	}
	for p, data := range image {
		os.MkdirAll(filepath.Dir(filepath.Join(m.root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(m.root, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.boot(envXML("instance-id", "i-1")); err != nil {
		t.Fatalf("boot 1: %v", err)
	}
	fallback := "etc/systemd/network/10-ovfinit-fallback.network"
	if !m.exists(fallback) {
		t.Fatalf("boot 1 wrote no %s", fallback)
	}
	if _, _, err := m.boot(envXML("instance-id", "i-2", "ovfinit.net.0.mac", "52:54:00:12:34:56", "ovfinit.net.0.address", "10.0.2.15/24")); err != nil {
		t.Fatalf("boot 2: %v", err)
	}
	if m.exists(fallback) {
		t.Errorf("%s left after boot 2 configured the network: DHCP would run on the old fallback NIC too", fallback)
	}
	if !m.exists("etc/systemd/network/10-ovfinit-ens3.network") {
		t.Errorf("boot 2 wrote no 10-ovfinit-ens3.network")
	}
	// Boot 3: the NIC is renamed (set-name): ens3's file goes, lan0's comes.
	doc := "network:\n  version: 2\n  ethernets:\n    lan:\n      match: {macaddress: \"52:54:00:12:34:56\"}\n      set-name: lan0\n      addresses: [10.0.2.15/24]\n"
	if _, _, err := m.boot(envXML("instance-id", "i-3", "network-config", base64.StdEncoding.EncodeToString([]byte(doc)))); err != nil {
		t.Fatalf("boot 3: %v", err)
	}
	if m.exists("etc/systemd/network/10-ovfinit-ens3.network") || !m.exists("etc/systemd/network/10-ovfinit-lan0.network") {
		t.Errorf("after the rename: ens3's file left or lan0's missing")
	}
	for p, data := range image {
		if got := m.read(p); got != data {
			t.Errorf("the image's %s = %q, want it untouched (%q)", p, got, data)
		}
	}
}
