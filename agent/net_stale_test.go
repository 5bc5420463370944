package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/rootfs"
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

// TestWireGuardKeyRedacted: a WireGuard private key from network-config
// joins the redactor at validate, so no log line shows it (here: a script
// that prints the .netdev file ovfinit wrote), and the .netdev is written
// 0640 for the image's systemd-network group.
func TestWireGuardKeyRedacted(t *testing.T) {
	const key = "4GgaQCy68nzNsUE5aJ9fuLzHhB65tAlwbmA72MWnOm8="
	doc := "network:\n  version: 2\n  tunnels:\n    wg0:\n      mode: wireguard\n      key: " + key +
		"\n      addresses: [10.10.10.20/24]\n      peers:\n        - keys: {public: M9nt4YujIOmNrRmpIRTmYSfMdrpvE7u6WkG8FY8WjG4=}\n          allowed-ips: [10.9.0.0/24]\n"
	twoNICs(t)
	m := newMachine(t)
	m.touch("usr/lib/systemd/systemd-networkd")
	os.MkdirAll(filepath.Join(m.root, "etc"), 0o755)
	os.WriteFile(filepath.Join(m.root, "etc/group"), []byte("root:x:0:\nsystemd-network:x:998:\n"), 0o644)
	script := "print(file.read(\"/etc/systemd/network/10-ovfinit-wg0.netdev\"))\n"
	e, _ := m.env(envXML("instance-id", "i-1", "network-config", base64.StdEncoding.EncodeToString([]byte(doc)),
		"ovfinit.script", base64.StdEncoding.EncodeToString([]byte(script))))
	var log bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(io.MultiWriter(&log, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := Run(context.Background(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if !strings.Contains(m.read("etc/systemd/network/10-ovfinit-wg0.netdev"), "PrivateKey="+key) {
		t.Fatalf("wg0.netdev has no private key")
	}
	fi, err := os.Stat(filepath.Join(m.root, "etc/systemd/network/10-ovfinit-wg0.netdev"))
	// Mode bits and groups: a Linux tree's own (Windows files have none).
	if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Errorf("wg0.netdev mode = %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	if _, gid, ok := rootfs.Owner(fi); ok && os.Geteuid() == 0 && gid != 998 {
		t.Errorf("wg0.netdev group = %d, want systemd-network (998)", gid)
	}
	if !strings.Contains(log.String(), "[Wireguard]") && !strings.Contains(log.String(), "WireGuard") {
		t.Fatalf("the script's print is not in the log: the test proves nothing\n%s", log.String())
	}
	if strings.Contains(log.String(), key) {
		t.Errorf("the log shows the WireGuard private key")
	}
}
