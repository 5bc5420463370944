package e2e

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// netpersistConfig is TestNetworkPersistsWithoutAgent's static config: two
// NICs matched by MAC; the first with two IPv4 addresses, an IPv6 address,
// both default gateways and a route of each family with and without a
// metric; the second with its own MTU and route.
const netpersistConfig = `network:
  version: 2
  ethernets:
    lan:
      match: {macaddress: "52:54:00:12:34:56"}
      addresses: [10.0.2.15/24, 10.0.2.16/24, "fd00:2::15/64"]
      gateway4: 10.0.2.2
      gateway6: "fd00:2::1"
      routes:
        - {to: 192.168.100.0/24, via: 10.0.2.254, metric: 100}
        - {to: "fd00:99::/64", via: "fd00:2::1"}
      nameservers: {addresses: [10.0.2.3]}
    san:
      match: {macaddress: "52:54:00:12:34:57"}
      addresses: [10.0.3.20/24]
      mtu: 1400
      routes:
        - {to: 192.168.200.0/24, via: 10.0.3.2}
`

// netpersistWant is the kernel state both boots must show.
var netpersistWant = struct {
	addrs  []string          // "dev family address/len", global ones
	mtu    map[string]string // MAC -> "dev mtu N"
	routes []string          // each the start of one route line (v4 and v6)
}{
	addrs: []string{
		"eth0 inet 10.0.2.15/24",
		"eth0 inet 10.0.2.16/24",
		"eth0 inet6 fd00:2::15/64",
		"eth1 inet 10.0.3.20/24",
	},
	mtu: map[string]string{
		vm.DefaultMAC:       "eth0 mtu 1500",
		"52:54:00:12:34:57": "eth1 mtu 1400",
	},
	routes: []string{
		"default via 10.0.2.2 dev eth0",
		"192.168.100.0/24 via 10.0.2.254 dev eth0 metric 100",
		"192.168.200.0/24 via 10.0.3.2 dev eth1",
		"default via fd00:2::1 dev eth0",
		"fd00:99::/64 via fd00:2::1 dev eth0",
	},
}

// TestNetworkPersistsWithoutAgent proves that the persistent configuration
// the agent writes holds after a reboot with the agent disabled. The guest
// looks like a Debian ifupdown system: Debian's own ifup (from the
// ifupdown package prepare.sh unpacks, with this host's C library), the
// /etc/network/interfaces Debian creates (source /etc/network/interfaces.d/*),
// iproute2's ip and dash as /bin/sh; busybox for the rest.
//
// Boot 1 runs the agent with a static two-NIC config: it detects ifupdown,
// writes /etc/network/interfaces.d/50-ovfinit on the state disk and applies
// the config live; the kernel's state is read over SSH. Boot 2 of the same
// disk does not start the agent: /init runs "ifup -a" as Debian's
// networking service does and prints the kernel's state to the console.
// Both must show the same addresses, MTUs and routes.
//
// Busybox's own ifup cannot read what the renderer writes, nor can
// busybox's ip run every command Debian's ifup runs (see "ifupdown and
// busybox" in docs/network.md): the guest has Debian's ifup, iproute2's ip
// and dash as /bin/sh, as a Debian system has (vm.IfupdownTree).
func TestNetworkPersistsWithoutAgent(t *testing.T) {
	requireVM(t)
	pkg, err := vm.IfupdownDir()
	if err != nil {
		if os.Getenv("OVFINIT_E2E") == "require" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := t.Context()
	start := time.Now()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := vm.IfupdownTree(tree, pkg); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, setup{dir: dir, initramfs: vm.InitramfsOptions{Tree: tree}})
	initrdNoAgent := filepath.Join(h.dir, "initramfs-noagent.cpio.gz")
	if err := vm.BuildInitramfs(ctx, initrdNoAgent, vm.InitramfsOptions{Kernel: h.assets.Kernel, Agent: h.assets.Agent, Tree: tree, NoAgent: true}); err != nil {
		t.Fatal(err)
	}
	env := h.env("e2e-netpersist-1")
	env.Script = ""
	env.NetworkConfig = netpersistConfig
	iso := h.isoOf(t, env.InstanceID, env.Properties())
	nics := []vm.NIC{{MAC: "52:54:00:12:34:57", Net: "10.0.3.0/24"}}

	// Boot 1: the agent.
	t.Run("agent", func(t *testing.T) {
		b := h.boot(t, iso, env.InstanceID, withNICs(nics))
		defer h.poweroff(t, b)
		checkSteps(t, b, map[string]string{"network": "ok"})
		client, _ := h.dial(t, b.m, h.signer)
		defer client.Close()
		state := vm.NetState{}
		for _, c := range []struct{ kind, cmd string }{
			{"link", "ip -o link show"},
			{"addr", "ip -o addr show"},
			{"route", "ip route show"},
			{"route6", "ip -6 route show"},
			{"file:/etc/network/interfaces.d/50-ovfinit", "cat /etc/network/interfaces.d/50-ovfinit"},
		} {
			state[c.kind] = strings.Split(strings.TrimRight(mustSSH(t, client, c.cmd), "\n"), "\n")
		}
		if !slices.ContainsFunc(state["file:/etc/network/interfaces.d/50-ovfinit"], func(l string) bool { return strings.HasPrefix(l, "iface eth0 inet static") }) {
			t.Errorf("the agent wrote no ifupdown stanza for eth0 (is ifupdown detected?): %q", state["file:/etc/network/interfaces.d/50-ovfinit"])
		}
		checkNetState(t, state)
	})
	if t.Failed() {
		return
	}

	// Boot 2: the same disk, no agent, Debian's ifup -a.
	t.Run("ifupdown", func(t *testing.T) {
		// No ISO: the agent does not run to read it.
		m := h.start(t, vm.Options{
			Assets:    &vm.Assets{Kernel: h.assets.Kernel, Agent: h.assets.Agent, Initramfs: initrdNoAgent},
			Disk:      h.disk,
			ExtraNICs: nics,
		})
		wctx, cancel := context.WithTimeout(ctx, bootTimeout)
		defer cancel()
		state, err := m.WaitNetState(wctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("network state printed %v after qemu start", time.Since(m.Started).Round(time.Millisecond))
		for _, k := range []string{"ifup", "addr", "route", "route6"} {
			t.Logf("%s:\n%s", k, strings.Join(state[k], "\n"))
		}
		for _, l := range m.Serial() {
			if strings.Contains(l, "OVFINIT-EXIT") || strings.Contains(l, "ovfinit run") {
				t.Errorf("the agent ran in the no-agent boot: %q", l)
			}
		}
		if !slices.Contains(state["ifup"], "status 0") {
			t.Errorf("ifup -a did not succeed; its output:\n%s", strings.Join(state["ifup"], "\n"))
		}
		if len(state["file:/etc/network/interfaces.d/50-ovfinit"]) == 0 {
			t.Errorf("the state disk has no /etc/network/interfaces.d/50-ovfinit; files: %q", slices.Sorted(maps.Keys(state)))
		}
		checkNetState(t, state)
		poweroff(t, m)
	})
	t.Logf("TestNetworkPersistsWithoutAgent wall time %v", time.Since(start).Round(time.Millisecond))
}

// checkNetState checks the output of "ip -o link", "ip -o addr", "ip route"
// and "ip -6 route" (busybox's) against netpersistWant: the global
// addresses exactly, each NIC's MTU by its MAC, and each wanted route.
func checkNetState(t *testing.T, s vm.NetState) {
	t.Helper()
	var addrs []string
	for _, l := range s["addr"] {
		f := strings.Fields(l) // 2: eth0 inet 10.0.2.15/24 brd ... scope global eth0
		if len(f) < 4 || f[1] == "lo" || strings.HasPrefix(f[3], "fe80:") {
			continue
		}
		addrs = append(addrs, strings.Join(f[1:4], " "))
	}
	slices.Sort(addrs)
	if diff := cmp.Diff(netpersistWant.addrs, addrs); diff != "" {
		t.Errorf("global addresses (-want +got):\n%s\nip -o addr:\n%s", diff, strings.Join(s["addr"], "\n"))
	}
	for mac, want := range netpersistWant.mtu {
		got := "(no link with this MAC)"
		for _, l := range s["link"] {
			f := strings.Fields(l) // 2: eth0: <...> mtu 1500 qdisc ... link/ether MAC brd ...
			if !slices.Contains(f, mac) || len(f) < 2 {
				continue
			}
			got = strings.TrimSuffix(f[1], ":")
			if i := slices.Index(f, "mtu"); i >= 0 && i+1 < len(f) {
				got += " mtu " + f[i+1]
			}
		}
		if got != want {
			t.Errorf("link %s = %q, want %q", mac, got, want)
		}
	}
	var routes []string
	for _, l := range append(slices.Clone(s["route"]), s["route6"]...) {
		// The agent's routes are "proto static", ifupdown's "proto boot"
		// (not shown): the protocol is not compared.
		f := strings.Fields(l)
		if i := slices.Index(f, "proto"); i >= 0 && i+1 < len(f) {
			f = slices.Delete(f, i, i+2)
		}
		routes = append(routes, strings.Join(f, " "))
	}
	for _, want := range netpersistWant.routes {
		if !slices.ContainsFunc(routes, func(r string) bool { return r == want || strings.HasPrefix(r, want+" ") }) {
			t.Errorf("no route %q in:\n%s", want, strings.Join(routes, "\n"))
		}
	}
}
