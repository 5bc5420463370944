package agent

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/netcfg"
)

func twoNICs(t *testing.T) {
	m1, _ := net.ParseMAC("52:54:00:12:34:56")
	m2, _ := net.ParseMAC("52:54:00:12:34:57")
	netLinks = []netcfg.Link{{Index: 1, Name: "lo", Up: true}, {Index: 2, Name: "ens3", MAC: m1, Ethernet: true, Up: true}, {Index: 3, Name: "ens4", MAC: m2, Ethernet: true}}
	t.Cleanup(func() { netLinks = nil })
}

const netplanTwo = `network:
  version: 2
  ethernets:
    lan:
      match: {macaddress: "52:54:00:12:34:56"}
      addresses: [10.0.2.15/24]
      gateway4: 10.0.2.2
      nameservers: {addresses: [10.0.2.3]}
    wan:
      match: {macaddress: "52:54:00:12:34:57"}
      dhcp4: yes
`

// TestNetworkInputs boots with each input format and checks the live ops
// and the persistent config written for the image's network manager.
func TestNetworkInputs(t *testing.T) {
	tests := []struct {
		name    string
		props   []string
		manager string // a file that makes DetectManager pick a manager
		wantOps []string
		file    string // persistent file expected
		fileHas string
	}{
		{"network-config netplan v2", []string{"network-config", b64(netplanTwo)}, "usr/lib/systemd/systemd-networkd",
			[]string{"addr replace 10.0.2.15/24 dev ens3", "route replace default via 10.0.2.2 dev ens3", "link set ens4 up", "dhcp4 dev ens4", "dns set 10.0.2.3"},
			"etc/systemd/network/10-ovfinit-ens4.network", "DHCP=ipv4"},
		{"network-config cloud-init v1", []string{"network-config", b64("version: 1\nconfig:\n- type: physical\n  name: x\n  mac_address: '52:54:00:12:34:57'\n  subnets:\n  - type: static\n    address: 192.168.5.5/24\n    gateway: 192.168.5.1\n")}, "usr/sbin/netplan",
			// cloud-init renames the NIC with mac_address to name (issue 15).
			[]string{"link set ens4 name x", "link set x up", "addr replace 192.168.5.5/24 dev x", "route replace default via 192.168.5.1 dev x"},
			"etc/netplan/90-ovfinit.yaml", `macaddress: "52:54:00:12:34:57"`},
		{"per-NIC properties", []string{"ovfinit.net.0.mac", "52:54:00:12:34:56", "ovfinit.net.0.address", "10.0.2.15/24, fd00::5/64", "ovfinit.net.0.routes", "10.8.0.0/16 via 10.0.2.9 metric 7",
			"ovfinit.net.1.mac", "52:54:00:12:34:57", "ovfinit.net.1.dhcp4", "yes", "ovfinit.net.1.mtu", "9000"}, "usr/sbin/NetworkManager",
			[]string{"addr replace 10.0.2.15/24 dev ens3", "addr replace fd00::5/64 dev ens3", "route replace 10.8.0.0/16 via 10.0.2.9 dev ens3 metric 7", "link set ens4 mtu 9000", "link set ens4 up", "dhcp4 dev ens4"},
			"etc/NetworkManager/system-connections/ovfinit-ens4.nmconnection", "method=auto"},
		{"VMware-style", []string{"vami.ip0.myvm", "10.0.2.15", "vami.netmask0.myvm", "255.255.255.0", "vami.gateway.myvm", "10.0.2.2", "vami.DNS.myvm", "10.0.2.3,10.0.2.4", "searchpath", "corp"}, "etc/sysconfig/network-scripts/x",
			[]string{"link set eth0 up", "addr replace 10.0.2.15/24 dev eth0", "route replace default via 10.0.2.2 dev eth0", "dns set 10.0.2.3 10.0.2.4 search corp"},
			"etc/sysconfig/network-scripts/ifcfg-eth0", "IPADDR0=10.0.2.15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "VMware-style" {
				twoNICs(t)
			}
			m := newMachine(t)
			m.touch(tt.manager)
			_, _, err := m.boot(envXML(append([]string{"instance-id", "i-1"}, tt.props...)...))
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if diff := cmp.Diff(tt.wantOps, m.net.applied); diff != "" {
				t.Errorf("network ops (-want +got):\n%s", diff)
			}
			if got := m.read(tt.file); !strings.Contains(got, tt.fileHas) {
				t.Errorf("%s = %q, want it to contain %q", tt.file, got, tt.fileHas)
			}
			if !m.exists("var/lib/ovfinit/" + netAppliedFile) {
				t.Errorf("%s not saved", netAppliedFile)
			}
		})
	}
}

// TestNetworkBadInput: each problem is an error naming the property (and
// YAML line), a failed event with retry=false, and no change at all.
func TestNetworkBadInput(t *testing.T) {
	cb := []string{"ovfinit.callback.url", "http://127.0.0.1:9/events"}
	tests := []struct {
		name    string
		props   []string
		wantErr []string
	}{
		{"invalid CIDR", []string{"ovfinit.net.1.mac", "52:54:00:12:34:57", "ovfinit.net.1.address", "10.0.0.1/33"}, []string{"property ovfinit.net.1.address", "10.0.0.1/33"}},
		{"gateway outside every subnet", []string{"ovfinit.net.0.mac", "52:54:00:12:34:56", "ovfinit.net.0.address", "10.0.2.15/24", "ovfinit.net.0.gateway", "10.1.1.1"}, []string{"property ovfinit.net.0.gateway", "outside 10.0.2.0/24"}},
		{"MAC matching no NIC", []string{"ovfinit.net.2.mac", "00:11:22:33:44:55", "ovfinit.net.2.dhcp4", "true"}, []string{"property ovfinit.net.2.mac", "no network interface has this MAC"}},
		{"duplicate addresses", []string{"ovfinit.net.0.mac", "52:54:00:12:34:56", "ovfinit.net.0.address", "10.0.2.15/24", "ovfinit.net.1.mac", "52:54:00:12:34:57", "ovfinit.net.1.address", "10.0.2.15/24"},
			[]string{"property ovfinit.net.1.address", "address configured twice"}},
		{"unknown YAML key", []string{"network-config", b64("version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    gatway4: 10.0.0.1\n")}, []string{"property network-config", "line 5", "gatway4"}},
		{"YAML value error names the line", []string{"network-config", b64(strings.Replace(netplanTwo, "gateway4: 10.0.2.2", "gateway4: 10.7.0.1", 1))}, []string{"property network-config", "YAML line 7", "outside 10.0.2.0/24"}},
		{"two inputs", []string{"network-config", b64(netplanTwo), "ovfinit.net.address", "10.0.2.15/24"}, []string{"network configured twice"}},
		{"bad route", []string{"ovfinit.net.address", "10.0.2.15/24", "ovfinit.net.0.routes", "10.8.0.0/16 through 10.0.2.1"}, []string{"property ovfinit.net.0.routes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			twoNICs(t)
			m := newMachine(t)
			m.touch("usr/lib/systemd/systemd-networkd")
			_, ev, err := m.boot(envXML(append(append([]string{}, cb...), tt.props...)...))
			failedAt(t, ev, err, tt.wantErr, "validate", false)
			if len(m.net.applied) > 0 || m.exists("etc/systemd/network") || m.exists("etc/resolv.conf") {
				t.Errorf("changes after a failed validation: ops %v, networkd dir %v", m.net.applied, m.exists("etc/systemd/network"))
			}
		})
	}
}

// ifupdownImage makes the machine's root an ifupdown image: ifup, and an
// interfaces file that sources interfaces.d.
func (m *machine) ifupdownImage() {
	m.touch("sbin/ifup")
	p := filepath.Join(m.root, "etc/network/interfaces")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("source /etc/network/interfaces.d/*\n"), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// touch creates an empty executable file under the machine's root.
func (m *machine) touch(path string) {
	p := filepath.Join(m.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o755); err != nil {
		m.t.Fatal(err)
	}
}

func TestLiveAddresses(t *testing.T) {
	c := netcfg.Config{NICs: []netcfg.NIC{{ID: "a", Name: "eth0"}, {ID: "b", Name: "eth1", DHCP4: true}}}
	cur := netcfg.Current{Links: []netcfg.Link{
		{Name: "lo", Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.15/24")}},
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.15/24")}},
	}}
	want := []string{"10.0.2.15/24", "10.0.3.15/24"}
	if got := netcfg.LiveAddresses(c, cur); !cmp.Equal(got, want) {
		t.Errorf("LiveAddresses() = %q, want %q", got, want)
	}
}

// TestIfupdownSourceAdded: an image whose /etc/network/interfaces does not
// read interfaces.d would ignore ovfinit's file after a reboot; the network
// step adds the line, keeping the file's mode, and leaves a file that has it.
func TestIfupdownSourceAdded(t *testing.T) {
	tests := []struct {
		name, interfaces string
		wantAdded        bool
	}{
		{"missing", "auto lo\niface lo inet loopback\n", true},
		{"present", "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			m.touch("sbin/ifup")
			p := filepath.Join(m.root, "etc/network/interfaces")
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(tt.interfaces), 0o640); err != nil {
				t.Fatal(err)
			}
			// 0640 here; on Windows what stands for it (0666: only the
			// read-only attribute exists).
			before, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.boot(envXML("instance-id", "i-1", "ovfinit.net.address", "10.0.2.15/24")); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			got := m.read("etc/network/interfaces")
			if added := got != tt.interfaces; added != tt.wantAdded {
				t.Errorf("interfaces changed = %v, want %v:\n%s", added, tt.wantAdded, got)
			}
			if !strings.Contains(got, "interfaces.d") || !m.exists("etc/network/interfaces.d/50-ovfinit") {
				t.Errorf("interfaces = %q and 50-ovfinit exists %v; want it read by ifup", got, m.exists("etc/network/interfaces.d/50-ovfinit"))
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != before.Mode().Perm() {
				t.Errorf("interfaces mode = %v, want %v kept", fi.Mode().Perm(), before.Mode().Perm())
			}
		})
	}
}

// TestIfupdownHandOff: on an ifupdown image the NICs ovfinit configured
// are recorded in ifupdown's state, so the image's networking.service
// (ifup -a, after ovfinit) does not add the same address again and fail;
// other interfaces' lines are kept.
func TestIfupdownHandOff(t *testing.T) {
	m := newMachine(t)
	m.touch("sbin/ifup")
	p := filepath.Join(m.root, "etc/network/interfaces")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.MkdirAll(filepath.Join(m.root, "run/network"), 0o755)
	if err := os.WriteFile(p, []byte("source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.root, "run/network/ifstate"), []byte("lo=lo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _, err := m.boot(envXML("instance-id", "i-1", "ovfinit.net.address", "10.0.2.15/24"))
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	nic := e.Plan.Net.NICs[0].Name
	if got, want := m.read("run/network/ifstate"), "lo=lo\n"+nic+"="+nic+"\n"; got != want {
		t.Errorf("/run/network/ifstate = %q, want %q", got, want)
	}
	// What ifup itself reads to skip an interface that is up.
	if got, want := m.read("run/network/ifstate."+nic), nic+"\n"; got != want {
		t.Errorf("/run/network/ifstate.%s = %q, want %q", nic, got, want)
	}
}

// TestSample01Boots: cloud-init's own OVF example (shared sample 01) has a
// network-config matching name eth*. It boots: the host name is set, and
// the glob configures the NICs it selects, here none (ens3, ens4), as
// netplan does (issue 15).
func TestSample01Boots(t *testing.T) {
	xml, err := os.ReadFile("/work/shared/ovf-env-samples/01-cloud-init-doc-example.xml")
	if err != nil {
		t.Skipf("shared sample not here: %v", err)
	}
	twoNICs(t)
	m := newMachine(t)
	m.touch("usr/lib/systemd/systemd-networkd")
	if _, _, err := m.boot(string(xml)); err != nil {
		t.Fatalf("Run(sample 01) = %v", err)
	}
	if len(m.net.applied) != 0 {
		t.Errorf("network ops = %q, want none (eth* selects no NIC here)", m.net.applied)
	}
	if got := m.read("etc/hostname"); !strings.Contains(got, "ubuntuhost") {
		t.Errorf("etc/hostname = %q, want ubuntuhost", got)
	}
}

// TestNetworkFallback: with no network property at all, the agent does what
// cloud-init does by default, DHCPv4 on the first ethernet NIC with a carrier,
// persisted for the image's network manager; ovfinit.net.fallback=off leaves
// the network alone (issue 15).
func TestNetworkFallback(t *testing.T) {
	tests := []struct {
		name    string
		props   []string
		manager string
		wantOps []string
		file    string // "" for no file
		fileHas string
	}{
		{"default: DHCP on the connected NIC", nil, "usr/lib/systemd/systemd-networkd",
			[]string{"link set ens4 up", "dhcp4 dev ens4"}, "etc/systemd/network/10-ovfinit-fallback.network", "DHCP=ipv4"},
		{"dhcp, ifupdown", []string{"ovfinit.net.fallback", "dhcp"}, "sbin/ifup",
			[]string{"link set ens4 up", "dhcp4 dev ens4"}, "etc/network/interfaces.d/50-ovfinit", "iface ens4 inet dhcp"},
		{"off", []string{"ovfinit.net.fallback", "off"}, "usr/lib/systemd/systemd-networkd", nil, "", ""},
		{"set with another input: not used", []string{"ovfinit.net.fallback", "dhcp", "ovfinit.net.1.mac", "52:54:00:12:34:56", "ovfinit.net.1.address", "10.0.2.15/24"}, "usr/lib/systemd/systemd-networkd",
			[]string{"addr replace 10.0.2.15/24 dev ens3"}, "etc/systemd/network/10-ovfinit-ens3.network", "Address=10.0.2.15/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			twoNICs(t)
			netLinks[2].Carrier = true // ens4 has the cable, ens3 not
			m := newMachine(t)
			m.touch(tt.manager)
			if tt.manager == "sbin/ifup" {
				os.MkdirAll(filepath.Join(m.root, "etc/network"), 0o755)
				os.WriteFile(filepath.Join(m.root, "etc/network/interfaces"), []byte("source /etc/network/interfaces.d/*\n"), 0o644)
			}
			if _, _, err := m.boot(envXML(append([]string{"instance-id", "i-1"}, tt.props...)...)); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if diff := cmp.Diff(tt.wantOps, m.net.applied); diff != "" {
				t.Errorf("network ops (-want +got):\n%s", diff)
			}
			if tt.file == "" {
				for _, d := range []string{"etc/systemd/network", "etc/network/interfaces.d"} {
					if m.exists(d) {
						t.Errorf("%s written with ovfinit.net.fallback=off", d)
					}
				}
				return
			}
			if got := m.read(tt.file); !strings.Contains(got, tt.fileHas) {
				t.Errorf("%s = %q, want it to contain %q", tt.file, got, tt.fileHas)
			}
		})
	}
}

// TestNetworkFallbackBadValue: a wrong ovfinit.net.fallback is an error
// naming the property, at validate.
func TestNetworkFallbackBadValue(t *testing.T) {
	twoNICs(t)
	m := newMachine(t)
	_, _, err := m.boot(envXML("instance-id", "i-1", "ovfinit.net.fallback", "maybe"))
	if err == nil || !strings.Contains(err.Error(), "property ovfinit.net.fallback") || !strings.Contains(err.Error(), "want dhcp or off") {
		t.Fatalf("Run() = %v, want an error naming ovfinit.net.fallback", err)
	}
	if len(m.net.applied) > 0 {
		t.Errorf("network ops %v after a failed validation", m.net.applied)
	}
}

// TestNetworkConfigEncodings: network-config is base64 in cloud-init's OVF
// datasource (b64decode, which skips line breaks); ovfinit also reads it
// wrapped, unpadded, or as plain YAML, which cannot be mistaken for base64.
func TestNetworkConfigEncodings(t *testing.T) {
	const doc = "network:\n  ethernets:\n    lan:\n      match: {macaddress: \"52:54:00:12:34:57\"}\n      dhcp4: true\n"
	wrapped := b64(doc)
	wrapped = wrapped[:20] + "\n  " + wrapped[20:40] + " \r\n" + wrapped[40:]
	tests := []struct {
		name, value string
		wantErr     string
	}{
		{"base64", b64(doc), ""},
		{"base64 wrapped over lines", wrapped, ""},
		{"base64 without padding", strings.TrimRight(b64(doc+"#"), "="), ""},
		{"plain YAML without version", doc, ""},
		{"plain YAML, bare v2", "ethernets:\n  lan:\n    match: {macaddress: \"52:54:00:12:34:57\"}\n    dhcp4: true\n", ""},
		{"plain YAML with an error keeps its line", "version: 2\nethernets:\n  lan:\n    match: {macaddress: \"52:54:00:12:34:57\"}\n    dhcp4: true\n    gatway4: 10.0.0.1\n", "line 6"},
		{"neither", "!!not base64 at all", "neither base64 nor a YAML network-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			twoNICs(t)
			m := newMachine(t)
			m.touch("usr/lib/systemd/systemd-networkd")
			var v strings.Builder
			xml.EscapeText(&v, []byte(tt.value)) // newlines as &#xA;, as a manager writes them
			env := strings.Replace(envXML("instance-id", "i-1", "network-config", "VALUE"), `"VALUE"`, `"`+v.String()+`"`, 1)
			_, _, err := m.boot(env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "property network-config") {
					t.Fatalf("Run() = %v, want an error naming network-config and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if diff := cmp.Diff([]string{"link set ens4 up", "dhcp4 dev ens4"}, m.net.applied); diff != "" {
				t.Errorf("network ops (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNetworkManagerRefusalAtValidate: a key the image's network manager
// cannot apply (optional with NetworkManager) fails the validate step with
// its YAML line, before anything changes, instead of the network step.
func TestNetworkManagerRefusalAtValidate(t *testing.T) {
	doc := "version: 2\nethernets:\n  lan:\n    match: {macaddress: '52:54:00:12:34:57'}\n    dhcp4: true\n    optional: true\n"
	twoNICs(t)
	m := newMachine(t)
	m.touch("usr/sbin/NetworkManager")
	_, ev, err := m.boot(envXML("instance-id", "i-1", "hostname", "h1", "network-config", b64(doc)))
	if err == nil {
		t.Fatal("Run() = nil, want optional refused for NetworkManager")
	}
	for _, w := range []string{"step validate", "property network-config", "YAML line 6", "not supported with networkmanager"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Run() = %q, want it to mention %q", err, w)
		}
	}
	if last := ev.events[len(ev.events)-1]; last.Data.Step != "validate" {
		t.Errorf("failed at step %q, want validate", last.Data.Step)
	}
	if len(m.net.applied) > 0 || m.exists("etc/hostname") {
		t.Errorf("changes before the refusal: ops %v, hostname written %v", m.net.applied, m.exists("etc/hostname"))
	}
}

// TestNetworkConfigDisabled: cloud-init's network-config "config: disabled"
// leaves the network alone, without the fallback.
func TestNetworkConfigDisabled(t *testing.T) {
	for _, doc := range []string{"network:\n  config: disabled\n", "config: disabled\n"} {
		twoNICs(t)
		netLinks[2].Carrier = true
		m := newMachine(t)
		m.touch("usr/lib/systemd/systemd-networkd")
		if _, _, err := m.boot(envXML("instance-id", "i-1", "network-config", b64(doc))); err != nil {
			t.Fatalf("Run(%q) = %v", doc, err)
		}
		if len(m.net.applied) > 0 || m.exists("etc/systemd/network") {
			t.Errorf("network-config %q: ops %v, networkd files %v; want the network left alone", doc, m.net.applied, m.exists("etc/systemd/network"))
		}
	}
}

// TestNetworkOpenedOnce: a boot opens the live network (a netlink handle)
// once, for validate and the network step together, and closes it when the
// network step ends, whether it ran or failed validate first.
func TestNetworkOpenedOnce(t *testing.T) {
	tests := []struct {
		name    string
		props   []string
		wantErr bool
	}{
		{"configured", []string{"ovfinit.net.1.mac", "52:54:00:12:34:56", "ovfinit.net.1.address", "10.0.2.15/24"}, false},
		{"fallback DHCP", nil, false},
		{"validate fails: no NIC with the MAC", []string{"ovfinit.net.1.mac", "52:54:00:99:99:99", "ovfinit.net.1.address", "10.0.2.15/24"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			_, _, err := m.boot(envXML(append([]string{"instance-id", "i-1"}, tt.props...)...))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Run() = %v, want error %v", err, tt.wantErr)
			}
			if m.net.opens != 1 || m.net.closes != 1 {
				t.Errorf("network opened %d times and closed %d times, want once each", m.net.opens, m.net.closes)
			}
		})
	}
}

// TestFailSafeNetwork: a boot that fails before the network step (a bad
// host name here) brings up DHCP on the first NIC, live only, so that the
// failed event can reach the manager; nothing of the environment is
// applied and no network file is written. A failure after the network
// step leaves the NICs as that step set them.
func TestFailSafeNetwork(t *testing.T) {
	m := newMachine(t)
	m.ifupdownImage()
	e, ev := m.env(envXML("instance-id", "i-1", "hostname", "bad_host!", "ovfinit.net.address", "10.0.2.15/24"))
	e.FailSafeNetwork = true // as NewEnv on a live system
	err := Run(context.Background(), e, Steps())
	if err == nil || !strings.Contains(err.Error(), "hostname") {
		t.Fatalf("Run() = %v, want a failure naming hostname", err)
	}
	if last := ev.events[len(ev.events)-1]; last.Type != callback.TypeFailed {
		t.Errorf("last event %s, want failed", last.Type)
	}
	got := strings.Join(m.net.applied, "\n")
	if !strings.Contains(got, "dhcp") || !strings.Contains(got, "eth0") || strings.Contains(got, "10.0.2.15") {
		t.Errorf("ops after the failure:\n%s\nwant DHCP on eth0 and nothing of the environment", got)
	}
	if m.exists("etc/network/interfaces.d/50-ovfinit") {
		t.Errorf("a failed boot wrote the network configuration")
	}
}

// TestFailSafeNetworkAfterNetworkStep: when the network step itself fails
// (a NIC renamed under it: "Link not found") and leaves the machine with
// no global address, the fail-safe DHCP still comes up, so that the failed
// event can leave; when an address is there, what the step set is left
// alone.
func TestFailSafeNetworkAfterNetworkStep(t *testing.T) {
	for _, tt := range []struct {
		name     string
		addrs    []netip.Prefix
		wantDHCP bool
	}{
		{"no address left", nil, true},
		{"an address on the NIC", []netip.Prefix{netip.MustParsePrefix("10.0.2.15/24")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			e, ev := m.env(envXML("instance-id", "i-1", "ovfinit.net.address", "10.0.2.15/24"))
			e.FailSafeNetwork = true // as NewEnv on a live system
			m.net.failApply = errors.New("link set eth0 up: Link not found")
			m.net.addrs = tt.addrs
			if err := Run(context.Background(), e, Steps()); err == nil || !strings.Contains(err.Error(), "Link not found") {
				t.Fatalf("Run() = %v, want the network step's failure", err)
			}
			if last := ev.events[len(ev.events)-1]; last.Type != callback.TypeFailed {
				t.Errorf("last event %s, want failed", last.Type)
			}
			got := strings.Join(m.net.applied, "\n")
			if dhcp := strings.Contains(got, "dhcp4 dev eth0"); dhcp != tt.wantDHCP {
				t.Errorf("ops after the failure:\n%s\nwant fail-safe DHCP on eth0: %v", got, tt.wantDHCP)
			}
		})
	}
}

// TestNetplanActivated: on a netplan image, the files ovfinit wrote are
// rendered this boot (`netplan generate`, as cloud-init does) and a running
// systemd-networkd reloads; without it networkd listed the NIC as
// "unmanaged" on the first boot (TestImageVariants/netplan). Other
// managers run nothing.
func TestNetplanActivated(t *testing.T) {
	for _, c := range []struct {
		image string
		want  []string
	}{
		{"usr/sbin/netplan", []string{"netplan generate", "systemctl try-reload-or-restart systemd-networkd.service"}},
		{"usr/lib/systemd/systemd-networkd", nil},
	} {
		t.Run(path.Base(c.image), func(t *testing.T) {
			m := newMachine(t)
			m.touch(c.image)
			e, _ := m.env(envXML("instance-id", "i-1", "ovfinit.net.address", "10.0.2.15/24"))
			run := &cmdrun.Fake{}
			e.Commands = run
			if err := Run(t.Context(), e, Steps()); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			var got []string
			for _, l := range run.Lines() {
				if strings.HasPrefix(l, "netplan") || strings.Contains(l, "networkd") {
					got = append(got, l)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("commands = %q, want %q", got, c.want)
			}
		})
	}
}

// bootAsNICsAppear boots an environment with props on a machine whose
// NICs the kernel adds late (hidden: polls before they show) or udev
// renames late (renaming: polls before the new name), validate waiting up
// to wait for them, on the real clock (the wait's deadline is on it).
func bootAsNICsAppear(t *testing.T, wait time.Duration, hidden, renaming int, props ...string) (*Env, error) {
	e, _, err := bootAsNICsAppearNet(t, wait, hidden, renaming, props...)
	return e, err
}

// bootAsNICsAppearNet is bootAsNICsAppear, with the fake network the boot
// changed.
func bootAsNICsAppearNet(t *testing.T, wait time.Duration, hidden, renaming int, props ...string) (*Env, *fakeNet, error) {
	t.Helper()
	m := newMachine(t)
	e, _ := m.env(envXML(props...))
	m.net.hidden, m.net.renaming = hidden, renaming
	e.WaitNICs = wait
	e.Now = time.Now
	return e, m.net, Run(t.Context(), e, Steps())
}

// macProps configure a NIC by MAC, for the NIC-waiting tests.
var macProps = []string{"instance-id", "i-1", "ovfinit.net.mac", "52:54:00:12:34:56", "ovfinit.net.address", "10.0.2.15/24"}

// TestNetworkWaitsForUdev: a NIC udev has not finished with may still be
// renamed (TestDebianImage/bookworm failed with "link set eth0 up: Link
// not found": the MAC resolved to eth0, which udev renamed ens3 before the
// network step). A NIC picked by MAC is the same NIC after the rename:
// validate goes on with eth0, the steps before the network's run while
// udev works, and the network step waits for udev and configures ens3.
// A NIC picked by name (a glob here) may not be: validate waits for udev
// and plans with ens3.
func TestNetworkWaitsForUdev(t *testing.T) {
	byName := []string{"instance-id", "i-1", "network-config", b64("version: 2\nethernets:\n  lan:\n    match:\n      name: \"e*\"\n    addresses: [10.0.2.15/24]\n")}
	for _, c := range []struct {
		name        string
		wait        time.Duration
		props       []string
		planned, on string
	}{
		{"by MAC", 30 * time.Second, macProps, "eth0", "ens3"},
		{"by name", 30 * time.Second, byName, "ens3", "ens3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, net, err := bootAsNICsAppearNet(t, c.wait, 0, 2, c.props...)
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if e.Plan.Net == nil || len(e.Plan.Net.NICs) != 1 || e.Plan.Net.NICs[0].Name != c.planned {
				t.Errorf("validated network = %+v, want %s", e.Plan.Net, c.planned)
			}
			got := strings.Join(net.applied, "\n")
			if !strings.Contains(got, "dev "+c.on) || c.on != "eth0" && strings.Contains(got, "eth0") {
				t.Errorf("ops:\n%s\nwant them on %s", got, c.on)
			}
		})
	}
}

// TestNetworkWaitLeavesUdevTheCPU: while the network step waits for udev
// it looks at the pending NIC alone (UdevDone: a stat of udev's database
// entry), not at the whole network (Current: every link, address and
// route, tens of milliseconds of CPU each under emulation, taken from the
// udev it waits for); once udev is done it reads the network again and
// configures the NIC under its new name.
func TestNetworkWaitLeavesUdevTheCPU(t *testing.T) {
	e, net, err := bootAsNICsAppearNet(t, 30*time.Second, 0, 8, macProps...)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if net.udevChecks < 5 || net.currents > 5 { // 11 when each look read the network
		t.Errorf("the wait looked at udev %d times and at the whole network %d times; want the NIC's udev entry looked at, the network read only before and after", net.udevChecks, net.currents)
	}
	got := strings.Join(net.applied, "\n")
	if !strings.Contains(got, "dev ens3") || strings.Contains(got, "eth0") {
		t.Errorf("ops:\n%s\nwant them on ens3", got)
	}
	if e.Plan.Net.NICs[0].Name != "eth0" {
		t.Errorf("validated NIC %s, want eth0 (by MAC, udev not waited for)", e.Plan.Net.NICs[0].Name)
	}
}

// waitingEvents is fakeEvents whose Wait (callback.Sender's) returns once
// release is closed.
type waitingEvents struct {
	*fakeEvents
	release chan struct{}
}

func (w waitingEvents) Wait(ctx context.Context) error {
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestNetworkHandsOverAfterOutcome: the image's DHCP client takes over the
// lease only once the manager has the ready event (the sender has
// delivered it): starting it costs the CPU the ready event needs under
// emulation. Events that cannot wait release it when Run returns.
func TestNetworkHandsOverAfterOutcome(t *testing.T) {
	m := newMachine(t)
	e, ev := m.env(envXML(macProps...))
	release := make(chan struct{})
	e.Events = waitingEvents{ev, release}
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	hold := m.net.handOver
	if hold == nil {
		t.Fatal("the network step did not hold the hand-over")
	}
	select {
	case <-hold:
		t.Fatal("hand-over released before the ready event was delivered")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-hold:
	case <-time.After(5 * time.Second):
		t.Fatal("hand-over still held after the ready event was delivered")
	}

	m = newMachine(t)
	e, _ = m.env(envXML(macProps...))
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	select {
	case <-m.net.handOver:
	default:
		t.Error("with events that cannot wait, the hand-over is still held after Run")
	}
}

// TestNetworkHandOverSettles: on a live system the image's DHCP client
// waits HandOverSettle more after the ready event is delivered, so that it
// does not take the CPU from the manager's first logins.
func TestNetworkHandOverSettles(t *testing.T) {
	m := newMachine(t)
	e, ev := m.env(envXML(macProps...))
	release := make(chan struct{})
	e.Events = waitingEvents{ev, release}
	e.HandOverSettle = 300 * time.Millisecond
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	hold := m.net.handOver
	if hold == nil {
		t.Fatal("the network step did not hold the hand-over")
	}
	close(release)
	delivered := time.Now()
	select {
	case <-hold:
		if d := time.Since(delivered); d < e.HandOverSettle {
			t.Fatalf("hand-over released %v after the ready event was delivered; want %v or more", d, e.HandOverSettle)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hand-over still held 5 s after the ready event was delivered")
	}
	if d := NewEnv(Options{Root: "/"}, slog.New(slog.DiscardHandler), nil).HandOverSettle; d != DefaultHandOverSettle {
		t.Errorf("NewEnv: HandOverSettle = %v, want %v", d, DefaultHandOverSettle)
	}
}

// TestFinishHandOver: a process that exits while the hand-over is in its
// settle time hands over at once, and waits for it: afterwards nothing
// would renew the lease. Before the outcome is delivered it still waits.
func TestFinishHandOver(t *testing.T) {
	m := newMachine(t)
	e, ev := m.env(envXML(macProps...))
	release := make(chan struct{})
	e.Events = waitingEvents{ev, release}
	e.HandOverSettle = time.Hour
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := e.FinishHandOver(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FinishHandOver before the ready event was delivered = %v, want it to wait (deadline exceeded)", err)
	}
	close(release)
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := e.FinishHandOver(ctx); err != nil {
		t.Fatalf("FinishHandOver = %v, want the hand-over released and done", err)
	}
	select {
	case <-m.net.handOver:
	default:
		t.Fatal("FinishHandOver returned with the hand-over still held")
	}
	// Without a hand-over held (no network step), it returns at once.
	if err := (&Env{}).FinishHandOver(t.Context()); err != nil {
		t.Errorf("FinishHandOver with nothing held = %v", err)
	}
}

// TestNetworkStepReplansAfterRename: a NIC renamed after validate (udev
// got to its event late, on a loaded Debian 12 image: "link set eth0 up:
// Link not found") is found again by its MAC: the network step plans the
// network again with the NICs as they are, and configures and writes
// ens3; the validated Plan is left as it was.
func TestNetworkStepReplansAfterRename(t *testing.T) {
	m := newMachine(t)
	m.ifupdownImage()
	e, _ := m.env(envXML("instance-id", "i-1", "ovfinit.net.mac", "52:54:00:12:34:56", "ovfinit.net.address", "10.0.2.15/24"))
	var steps []Step
	for _, s := range Steps() {
		steps = append(steps, s)
		if s.Name == "validate" {
			steps = append(steps, Step{Name: "udev-renames", Freq: PerBoot, Run: func(context.Context, *Env) (Result, error) {
				m.net.renamedNow = true
				return Result{}, nil
			}})
		}
	}
	if err := Run(t.Context(), e, steps); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	got := strings.Join(m.net.applied, "\n")
	if !strings.Contains(got, "dev ens3") || strings.Contains(got, "eth0") {
		t.Errorf("ops:\n%s\nwant them on ens3, the NIC's name now", got)
	}
	file, err := os.ReadFile(filepath.Join(m.root, "etc/network/interfaces.d/50-ovfinit"))
	if err != nil || !strings.Contains(string(file), "ens3") || strings.Contains(string(file), "eth0") {
		t.Errorf("ifupdown file = %q, %v; want ens3", file, err)
	}
	if e.Plan.Net.NICs[0].Name != "eth0" {
		t.Errorf("the validated plan changed: NIC %s", e.Plan.Net.NICs[0].Name)
	}
}

// TestValidateWaitsForFallbackNIC: with no network properties the fallback
// DHCPs the first ethernet NIC; when validate runs before the NIC's driver
// is loaded it waits for one (a Debian 12 bench boot left the network
// alone and no event left the VM).
func TestValidateWaitsForFallbackNIC(t *testing.T) {
	for _, c := range []struct {
		name string
		wait time.Duration
		want bool
	}{
		{"waits", 30 * time.Second, true},
		{"no wait", 0, false}, // no NIC: the network is left alone
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := bootAsNICsAppear(t, c.wait, 2, 0, "instance-id", "i-1")
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			got := e.Plan.Net != nil && e.Plan.NetFallback && len(e.Plan.Net.NICs) == 1 && e.Plan.Net.NICs[0].Name == "eth0"
			if got != c.want {
				t.Errorf("fallback DHCP on eth0 planned = %v, want %v (plan %+v)", got, c.want, e.Plan.Net)
			}
		})
	}
}

// TestValidateWaitsForNIC: a NIC the network config names by MAC that the
// kernel has not added yet (its driver loads after ovfinit starts, as
// virtio_net did on a loaded Debian image) is waited for, up to WaitNICs,
// instead of failing the boot; with WaitNICs 0 it fails at once, naming
// the property.
func TestValidateWaitsForNIC(t *testing.T) {
	for _, c := range []struct {
		name    string
		wait    time.Duration
		wantErr bool
	}{
		{"appears", 30 * time.Second, false},
		{"no wait", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := bootAsNICsAppear(t, c.wait, 2, 0, macProps...)
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), "ovfinit.net.mac") || !strings.Contains(err.Error(), "no network interface has this MAC") {
					t.Fatalf("Run() = %v, want the missing MAC refused at once", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run() = %v, want the boot to wait for the NIC", err)
			}
			if e.Plan.Net == nil || len(e.Plan.Net.NICs) != 1 || e.Plan.Net.NICs[0].Name != "eth0" {
				t.Errorf("planned network = %+v, want eth0 once it appeared", e.Plan.Net)
			}
		})
	}
}

// TestValidateLoadsNICDrivers: while validate waits for a NIC, it asks
// modprobe for the drivers of unbound network devices by their modalias
// (the virtio NIC here), once, as udev's coldplug would, instead of
// waiting for udev to reach them: in a Debian 13 guest validate waited
// 4.3 s for udev to load virtio_net.
func TestValidateLoadsNICDrivers(t *testing.T) {
	m := newMachine(t)
	for dev, attrs := range map[string]map[string]string{
		"sys/bus/virtio/devices/virtio0":   {"device": "0x0001", "modalias": "virtio:d00000001v00001AF4"},
		"sys/bus/virtio/devices/virtio1":   {"device": "0x0002", "modalias": "virtio:d00000002v00001AF4"}, // a disk
		"sys/bus/pci/devices/0000:00:02.0": {"class": "0x020000", "modalias": "pci:v00001AF4d00001000"},
	} {
		for k, v := range attrs {
			m.write(dev+"/"+k, v+"\n")
		}
	}
	m.write("sys/bus/pci/devices/0000:00:02.0/driver/bind", "") // bound (a link in sysfs)
	e, _ := m.env(envXML("instance-id", "i-1"))
	run := &cmdrun.Fake{}
	e.Commands = run
	m.net.hidden = 2
	e.WaitNICs = 30 * time.Second
	e.Now = time.Now
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	var loads []string
	for _, l := range run.Lines() {
		if strings.HasPrefix(l, "modprobe") {
			loads = append(loads, l)
		}
	}
	want := []string{"modprobe -q -b -a -- virtio:d00000001v00001AF4"}
	if runtime.GOOS != "linux" {
		want = nil // modprobe is Linux's
	}
	if !slices.Equal(loads, want) {
		t.Errorf("modprobe runs = %q, want %q", loads, want)
	}
}

// TestFailSafeNetworkWaitsForNIC: a boot that fails before validate (a
// truncated environment, found as soon as the CD-ROM's driver is loaded)
// can reach the fail-safe before the NIC exists; it waits for it, as
// validate does, instead of leaving the network alone ("no fail-safe
// network: no ethernet NIC" in TestDebianImageFailed/trixie, and no
// failed event left the VM).
func TestFailSafeNetworkWaitsForNIC(t *testing.T) {
	m, e, ev := truncatedLiveBoot(t)
	m.net.hidden = 3
	if err := Run(t.Context(), e, Steps()); err == nil {
		t.Fatal("Run() of a truncated environment succeeded")
	}
	if last := ev.events[len(ev.events)-1]; last.Type != callback.TypeFailed {
		t.Errorf("last event %s, want failed", last.Type)
	}
	if got := strings.Join(m.net.applied, "\n"); !strings.Contains(got, "dhcp4 dev eth0") {
		t.Errorf("ops after the failure:\n%s\nwant the fail-safe DHCP on eth0 once it appeared", got)
	}
}

// TestFailSafeNetworkRetriesRenamedNIC: the fail-safe DHCP's NIC renamed by
// udev under it ("link set eth0 up: Link not found", seen in
// TestDebianImageFailed/bookworm) is looked for again and the DHCP goes to
// its new name.
func TestFailSafeNetworkRetriesRenamedNIC(t *testing.T) {
	m, e, _ := truncatedLiveBoot(t)
	m.net.failApply = fmt.Errorf("link set eth0 up: %w", netcfg.ErrLinkGone)
	m.net.renameOnFail = true
	if err := Run(t.Context(), e, Steps()); err == nil {
		t.Fatal("Run() of a truncated environment succeeded")
	}
	if got := strings.Join(m.net.applied, "\n"); !strings.Contains(got, "dhcp4 dev ens3") {
		t.Errorf("ops after the failure:\n%s\nwant the fail-safe DHCP on ens3, the NIC's new name", got)
	}
}

// TestNetworkStepRetriesRenamedNIC: a NIC renamed between the network
// step's look and its change (the first op fails: the link is gone) is
// planned and configured again under its new name, files included.
func TestNetworkStepRetriesRenamedNIC(t *testing.T) {
	m := newMachine(t)
	m.ifupdownImage()
	e, _ := m.env(envXML("instance-id", "i-1", "ovfinit.net.mac", "52:54:00:12:34:56", "ovfinit.net.address", "10.0.2.15/24"))
	m.net.failApply = fmt.Errorf("link set eth0 up: %w", netcfg.ErrLinkGone)
	m.net.renameOnFail = true
	if err := Run(t.Context(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if got := strings.Join(m.net.applied, "\n"); !strings.Contains(got, "dev ens3") || strings.Contains(got, "eth0") {
		t.Errorf("ops:\n%s\nwant them on ens3", got)
	}
	file, err := os.ReadFile(filepath.Join(m.root, "etc/network/interfaces.d/50-ovfinit"))
	if err != nil || !strings.Contains(string(file), "ens3") || strings.Contains(string(file), "eth0") {
		t.Errorf("ifupdown file = %q, %v; want ens3", file, err)
	}
}

// truncatedLiveBoot is a machine whose environment is cut in half (the
// boot fails at parse-environment), with the fail-safe network and the NIC
// wait of a live system.
func truncatedLiveBoot(t *testing.T) (*machine, *Env, *fakeEvents) {
	t.Helper()
	m := newMachine(t)
	xml := envXML("instance-id", "i-1", "hostname", "h1")
	e, ev := m.env(xml[:len(xml)/2])
	e.FailSafeNetwork = true // as NewEnv on a live system
	e.WaitNICs = 30 * time.Second
	e.Now = time.Now
	return m, e, ev
}
