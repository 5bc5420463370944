package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

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
	ctx := t.Context()
	start := time.Now()
	h := &harness{dir: t.TempDir()}

	k, err := vm.FindKernel()
	if err != nil {
		t.Fatal(err)
	}
	agent := os.Getenv("OVFINIT_E2E_AGENT")
	if agent == "" {
		if agent, err = vm.BuildAgent(ctx, h.dir); err != nil {
			t.Fatal(err)
		}
	}
	initrd := filepath.Join(h.dir, "initramfs.cpio.gz")
	mods := append(slices.Clone(vm.DefaultModules), "8021q", "bonding")
	if err := vm.BuildInitramfs(ctx, initrd, vm.InitramfsOptions{Kernel: k, Agent: agent, Modules: mods}); err != nil {
		t.Fatal(err)
	}
	h.assets = &vm.Assets{Kernel: k, Agent: agent, Initramfs: initrd}
	if h.rec, err = vm.NewRecorder(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rec.Close() })
	h.disk = filepath.Join(h.dir, "state.img")
	if err := vm.NewDisk(h.disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	h.signer = newSigner(t)
	t.Logf("assets built in %v", time.Since(start).Round(time.Millisecond))

	env := vm.GuestEnv{
		InstanceID:    "e2e-net-1",
		Hostname:      guestHostname,
		User:          guestUser,
		PublicKey:     strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.signer.PublicKey()))),
		CallbackURL:   h.rec.GuestURL(),
		NetworkConfig: netcfgNetplan,
	}
	x, err := env.XML()
	if err != nil {
		t.Fatal(err)
	}
	iso, err := vm.BuildISO(h.dir, x)
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}

	b := h.bootWith(t, iso, env.InstanceID, func(o *vm.Options) { o.ExtraNICs = netcfgNICs })
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

// bootWith is harness.boot with changes to the qemu options.
func (h *harness) bootWith(t *testing.T, iso, instanceID string, opt func(*vm.Options)) *booted {
	t.Helper()
	h.rec.Reset()
	o := vm.Options{
		Assets:    h.assets,
		ISO:       iso,
		Disk:      h.disk,
		SerialLog: filepath.Join(h.dir, strings.ReplaceAll(t.Name(), "/", "_")+".serial"),
	}
	if os.Getenv("OVFINIT_E2E_CONSOLE") != "" {
		o.Console = t.Output()
	}
	opt(&o)
	m, err := vm.Boot(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("qemu command line:\n%s", m.CommandLine())
			t.Logf("serial console (last 80 lines):\n%s", m.Tail(80))
		}
		m.Kill()
	})
	ctx, cancel := context.WithTimeout(t.Context(), bootTimeout)
	defer cancel()
	ctx, stop := m.Context(ctx)
	defer stop()
	end, err := h.rec.Wait(ctx, vm.TypeReady, vm.TypeFailed)
	if err != nil {
		t.Fatalf("no ready event within %v of qemu start: %v", bootTimeout, err)
	}
	if end.Type == vm.TypeFailed {
		t.Fatalf("agent reported failed: %s", end.Raw)
	}
	b := &booted{m: m, ready: end, status: map[string]string{}}
	t.Logf("ready %v after qemu start; agent durationMs %v", end.Received.Sub(m.Started).Round(time.Millisecond), end.Data.DurationMs)
	for _, e := range h.rec.Events() {
		b.events = append(b.events, e)
		if e.Type == vm.TypeStepFinished {
			b.status[e.Data.Step] = e.Data.Status
		}
		if e.ID == end.ID {
			break
		}
	}
	checkSequence(t, b.events)
	if got := end.Data.InstanceID; got != instanceID {
		t.Errorf("ready data.instanceId = %q, want %q", got, instanceID)
	}
	return b
}
