package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// The NICs of TestNetworkVM: the first (DefaultMAC, 10.0.2.0/24, SSH
// forwarded) gets a static address; the second asks qemu's DHCP server on
// 10.0.3.0/24; the third and fourth are bonded. A VLAN sits on the first.
var netcfgNICs = []vm.NIC{
	{MAC: "52:54:00:12:34:57", Net: "10.0.3.0/24"},
	{MAC: "52:54:00:12:34:58", Net: "10.0.4.0/24"},
	{MAC: "52:54:00:12:34:59", Net: "10.0.5.0/24"},
}

const netcfgNetplan = `network:
  version: 2
  ethernets:
    lan:
      match: {macaddress: "52:54:00:12:34:56"}
      addresses: [10.0.2.15/24]
      gateway4: 10.0.2.2
      nameservers: {addresses: [10.0.2.3], search: [e2e.example]}
    wan:
      match: {macaddress: "52:54:00:12:34:57"}
      dhcp4: yes
    m1:
      match: {macaddress: "52:54:00:12:34:58"}
    m2:
      match: {macaddress: "52:54:00:12:34:59"}
  bonds:
    bond0:
      interfaces: [m1, m2]
      addresses: [10.0.4.15/24]
      parameters: {mode: active-backup}
  vlans:
    vlan42:
      id: 42
      link: lan
      addresses: [192.168.42.2/24]
`

// TestNetworkVM boots a four-NIC guest whose NICs are matched by MAC: one
// static, one by DHCP, two in a bond, and a VLAN on the static one. The
// guest is the busybox initramfs: its udhcpc has no hook script, so the
// agent's built-in DHCPv4 client takes the lease. The host checks the
// ready event's addresses and, over SSH, the kernel's state.
func TestNetworkVM(t *testing.T) {
	requireVM(t)
	start := time.Now()
	h := newHarness(t, setup{initramfs: vm.InitramfsOptions{Modules: append(slices.Clone(vm.DefaultModules), "8021q", "bonding")}})
	env := h.env("e2e-net-1")
	env.Script = ""
	env.NetworkConfig = netcfgNetplan

	b := h.boot(t, h.isoOf(t, env.InstanceID, env.Properties()), env.InstanceID, withNICs(netcfgNICs))
	defer h.poweroff(t, b)
	checkSteps(t, b, map[string]string{"network": "ok", "sshd": "ok"})

	// The ready event: the static addresses, and the DHCP lease qemu's
	// second network hands out (the guest's first address there, .15).
	wantAddrs := []string{"10.0.2.15/24", "10.0.3.15/24", "10.0.4.15/24", "192.168.42.2/24"}
	got := slices.Clone(b.ready.Data.Addresses)
	slices.Sort(got)
	if !slices.Equal(got, wantAddrs) {
		t.Errorf("ready data.addresses = %q, want %q", b.ready.Data.Addresses, wantAddrs)
	}

	client, _ := h.dial(t, b.m, h.signer)
	defer client.Close()
	for _, tc := range []struct {
		cmd  string
		want []string // each must appear in the output
		not  []string // none may appear
	}{
		// The MAC-matched NICs got their addresses; the DHCP one its lease.
		{cmd: "ip -o -4 addr show", want: []string{"10.0.2.15/24", "10.0.3.15/24", "10.0.4.15/24", "192.168.42.2/24"}},
		{cmd: "cat /sys/class/net/eth1/address; ip -o -4 addr show dev eth1", want: []string{"52:54:00:12:34:57", "inet 10.0.3.15/24"}},
		{cmd: "cat /proc/net/fib_trie", want: []string{"10.0.3.15", "10.0.2.15", "192.168.42.2", "10.0.4.15"}},
		// The static default route wins; the lease's has metric 100.
		{cmd: "ip route show", want: []string{"default via 10.0.2.2 dev eth0", "default via 10.0.3.2 dev eth1", "metric 100"}},
		// The lease came from the built-in client: no udhcpc runs.
		{cmd: "ps", not: []string{"udhcpc"}},
		// /proc/net/vlan is root's only: sysfs shows vlan42 on eth0.
		{cmd: "ls /sys/class/net/eth0/; cat /sys/class/net/vlan42/operstate", want: []string{"upper_vlan42", "up"}},
		{cmd: "cat /proc/net/bonding/bond0", want: []string{"active-backup", "Slave Interface: eth2", "Slave Interface: eth3"}},
		{cmd: "cat /etc/resolv.conf", want: []string{"nameserver 10.0.2.3", "search e2e.example"}},
	} {
		out, err := runSSH(client, tc.cmd)
		if err != nil {
			t.Errorf("ssh %q: %v (output %q)", tc.cmd, err, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("ssh %q = %q, want it to contain %q", tc.cmd, out, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("ssh %q = %q, want no %q", tc.cmd, out, n)
			}
		}
	}
	var builtin bool
	for _, l := range b.m.Serial() {
		builtin = builtin || strings.Contains(l, "DHCPv4 lease applied") && strings.Contains(l, "built-in")
	}
	if !builtin {
		t.Error(`serial console has no "DHCPv4 lease applied" by the built-in client`)
	}
	t.Logf("TestNetworkVM wall time %v", time.Since(start).Round(time.Millisecond))
}
