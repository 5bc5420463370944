package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const netPlanYAML = `network:
  version: 2
  ethernets:
    lan:
      match: {macaddress: "52:54:00:12:34:56"}
      set-name: lan0
      addresses: [10.0.2.15/24]
      gateway4: 10.0.2.2
`

// TestNetPlan: `ovfinit net plan` prints the plan and the files for the
// chosen manager, for NICs given on the command line, and writes nothing.
func TestNetPlan(t *testing.T) {
	nc := writeFile(t, "nc.yaml", netPlanYAML)
	bad := writeFile(t, "bad.yaml", "version: 2\nethernets:\n  e:\n    dhcp4: true\n    gatway4: 10.0.0.1\n")
	empty := writeEnv(t, strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`, "", 1))
	off := writeEnv(t, strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`, `<Property oe:key="ovfinit.net.fallback" oe:value="off"/>`, 1))
	envNC := writeEnv(t, strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`, `<Property oe:key="network-config" oe:value="`+b64(netPlanYAML)+`"/>`, 1))
	nics := []string{"--nic", "ens3=52:54:00:12:34:56,driver=virtio_net", "--nic", "ens4=52:54:00:12:34:57,carrier=no"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"networkd", append([]string{"net", "plan", "--manager", "networkd", "--network-config", nc}, nics...), exitOK,
			[]string{"manager: networkd", "lan: lan0 ethernet (renamed from ens3) 52:54:00:12:34:56", "link set ens3 name lan0", "addr replace 10.0.2.15/24 dev lan0",
				"=== /etc/systemd/network/10-ovfinit-lan0.network (mode 0644)", "Address=10.0.2.15/24", "=== /etc/systemd/network/10-ovfinit-lan0.link"}},
		{"ifupdown from an environment", append([]string{"net", "plan", "--manager", "ifupdown", envNC}, nics...), exitOK,
			[]string{"manager: ifupdown", "=== /etc/network/interfaces.d/50-ovfinit", "iface lan0 inet static"}},
		{"fallback", append([]string{"net", "plan", "--manager", "networkmanager", empty}, nics...), exitOK,
			[]string{"cloud-init's fallback", "ens3: ens3 ethernet 52:54:00:12:34:56", "dhcp4 dev ens3", "ovfinit-fallback.nmconnection", "method=auto"}},
		{"fallback picks the NIC with a carrier", []string{"net", "plan", "--manager", "networkd", empty, "--nic", "ens3=52:54:00:12:34:56,carrier=no", "--nic", "ens4=52:54:00:12:34:57"}, exitOK,
			[]string{"dhcp4 dev ens4"}},
		{"fallback off", append([]string{"net", "plan", "--manager", "networkd", off}, nics...), exitOK,
			[]string{"network: left as it is"}},
		{"error with its line", append([]string{"net", "plan", "--manager", "networkd", "--network-config", bad}, nics...), exitFailed,
			[]string{"error: property network-config: line 5", "gatway4"}},
		{"MAC of no NIC", []string{"net", "plan", "--manager", "networkd", "--network-config", nc, "--nic", "eth0=52:54:00:00:00:01"}, exitFailed,
			[]string{"no network interface has this MAC"}},
		{"unknown manager", []string{"net", "plan", "--manager", "systemd", "--network-config", nc}, exitUsage, []string{"want auto or one of networkd"}},
		{"bad --nic", []string{"net", "plan", "--network-config", nc, "--nic", "eth0"}, exitUsage, []string{"want NAME=MAC"}},
		{"no input", []string{"net", "plan", "--nic", "eth0=52:54:00:00:00:01"}, exitUsage, []string{"give an environment FILE or --network-config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := execute(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("%v exit %d, want %d:\n%s", tt.args, code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("%v output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestEnvValidateManager: env validate --root checks the network input
// against that tree's network manager, with the YAML line.
func TestEnvValidateManager(t *testing.T) {
	doc := "version: 2\nethernets:\n  lan:\n    dhcp4: true\n    optional: true\n"
	env := writeEnv(t, strings.Replace(envDoc, `<Property oe:key="made-up" oe:value="x"/>`, `<Property oe:key="network-config" oe:value="`+b64(doc)+`"/>`, 1))
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/sbin/NetworkManager"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	out, code := execute(t, "env", "validate", "--root", root, env)
	if code != exitFailed || !strings.Contains(out, "YAML line 5: lan.optional: not supported with networkmanager") {
		t.Errorf("env validate --root (NetworkManager) exit %d, want 1 and optional refused at line 5:\n%s", code, out)
	}
	if out, code := execute(t, "env", "validate", env); code != exitOK {
		t.Errorf("env validate without --root exit %d, want 0:\n%s", code, out)
	}
}

// TestNetPlanHidesWireGuardKeys: net plan prints the files it would write
// with WireGuard keys shown as (secret), never the keys.
func TestNetPlanHidesWireGuardKeys(t *testing.T) {
	const priv, psk = "4GgaQCy68nzNsUE5aJ9fuLzHhB65tAlwbmA72MWnOm8=", "7voRZ/ojfXgfPOlswo3Lpma1RJq7qijIEEUEMShQFV8="
	nc := writeFile(t, "wg.yaml", "version: 2\ntunnels:\n  wg0:\n    mode: wireguard\n    key: "+priv+
		"\n    addresses: [10.10.10.20/24]\n    peers:\n      - keys: {public: M9nt4YujIOmNrRmpIRTmYSfMdrpvE7u6WkG8FY8WjG4=, shared: "+psk+"}\n        allowed-ips: [10.9.0.0/24]\n")
	out, code := execute(t, "net", "plan", "--manager", "networkd", "--network-config", nc, "--nic", "eth0=52:54:00:12:34:56")
	if code != exitOK {
		t.Fatalf("net plan exit %d:\n%s", code, out)
	}
	if strings.Contains(out, priv) || strings.Contains(out, psk) {
		t.Errorf("net plan shows a WireGuard key:\n%s", out)
	}
	if !strings.Contains(out, "PrivateKey=(secret)") || !strings.Contains(out, "PresharedKey=(secret)") || !strings.Contains(out, "(mode 0640)") {
		t.Errorf("net plan output lacks PrivateKey=(secret), PresharedKey=(secret) or the 0640 .netdev:\n%s", out)
	}
}
