package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// TestImageVariants boots the Debian 12 image variants prepare.sh builds
// under `make test-images` (OVFINIT_E2E_VARIANTS: the other network
// managers and init systems Debian images use) with the .deb from this
// tree, twice each:
//
//  1. a first boot: ready, a key login as the environment's user to the
//     image's OpenSSH with the host key ready reported, the environment
//     applied (host name, user, static address, script), and no failed
//     service, in the variant's own terms;
//  2. a reboot of the same instance (powered off from a root shell: the
//     builder's key is baked in for root, as sysvinit and OpenRC have no
//     ACPI power button handler): the per-instance steps skipped, the
//     same host key, the environment still applied, no failed service.
//
// It runs only when OVFINIT_E2E_VARIANTS is set (not in make test: eight
// more image boots).
func TestImageVariants(t *testing.T) {
	list := os.Getenv("OVFINIT_E2E_VARIANTS")
	if list == "" {
		t.Skip("image variants run under make test-images (OVFINIT_E2E_VARIANTS=all)")
	}
	if list == "all" {
		list = "netplan nm sysvinit openrc"
	}
	requireVM(t)
	for _, v := range strings.Fields(list) {
		t.Run(v, func(t *testing.T) {
			builder := newSigner(t)
			h := newImageHarness(t, "bookworm-"+v, builderKey(builder))
			const id = "e2e-variant-1"
			iso := h.iso(t, id)
			if v == "netplan" || v == "nm" {
				iso = h.imageISO(t, id) // journal access: systemd only
			}
			// 1. First boot.
			b := h.imageBoot(t, iso, id)
			checkSteps(t, b, stepStatuses("ok", "ok"))
			c, hostKey := h.dial(t, b.m, h.signer)
			fp1 := checkHostKey(t, b.ready, hostKey)
			checkGuest(t, c, id)
			checkVariant(t, b.m, c, builder, v)
			c.Close()
			poweroffAsRoot(t, b.m, builder)

			// 2. Reboot of the same instance.
			b = h.imageBoot(t, iso, id)
			c = checkReboot(t, h, b, fp1, id)
			checkVariant(t, b.m, c, builder, v)
			c.Close()
			poweroffAsRoot(t, b.m, builder)
		})
	}
}

// checkVariant checks, as the user (c), no service failed and the
// variant's network manager or init system did its part; what it logs
// (files only root reads among them) it reads as root, with the
// builder's key.
func checkVariant(t *testing.T, m *vm.Machine, c *ssh.Client, builder ssh.Signer, variant string) {
	t.Helper()
	root, _ := dialAs(t, m, "root", builder)
	defer root.Close()
	logf := func(cmd string) {
		out, err := runSSH(root, cmd)
		t.Logf("%s: %v\n%s", cmd, err, out)
	}
	want := func(cmd, substr string) {
		t.Helper()
		if out, err := runSSH(c, cmd); err != nil || !strings.Contains(out, substr) {
			t.Errorf("ssh %q = %q, %v; want %q in it", cmd, out, err, substr)
		}
	}
	if out, _ := runSSH(c, "/usr/sbin/ovfinit status; echo rc=$?"); !strings.Contains(out, "ready") || !strings.HasSuffix(strings.TrimSpace(out), "rc=0") {
		t.Errorf("ovfinit status as the user = %q, want ready and exit 0", out)
	}
	switch variant {
	case "netplan":
		checkNotDegraded(t, c)
		want("systemctl is-active systemd-networkd ssh", "active\nactive")
		want("ls /etc/netplan", ".yaml")
		// Rendered this boot (netplan generate after ovfinit wrote its
		// file), not "unmanaged" until the next one. networkd may still
		// be configuring the link when ovfinit reports ready (ovfinit
		// does not wait for it): configured within a minute.
		var list string
		t0 := time.Now()
		if !eventually(time.Minute, func() bool {
			list, _ = runSSH(c, "networkctl list --no-pager")
			return strings.Contains(list, "configured")
		}) {
			t.Errorf("networkctl list for a minute after ready = %q, want the NIC configured", list)
		} else {
			t.Logf("networkd had the NIC configured %v after the first look", time.Since(t0).Round(100*time.Millisecond))
		}
		logf("networkctl list --no-pager; networkctl status --no-pager -n 20 ens2; cat /etc/netplan/*.yaml /run/systemd/network/*.network")
	case "nm":
		checkNotDegraded(t, c)
		want("systemctl is-active NetworkManager ssh", "active\nactive")
		logf("nmcli -t device; ls -l /etc/NetworkManager/system-connections/")
	case "sysvinit":
		want("/sbin/runlevel", "2")
		want("/etc/init.d/ssh status; echo rc=$?", "rc=0")
		want("ls /etc/rc2.d/", "ovfinit")
		logf("ls /etc/rc2.d/ /etc/rcS.d/")
	case "openrc":
		want("test -d /run/openrc && echo openrc", "openrc")
		if out, _ := runSSH(c, "rc-status --crashed"); strings.TrimSpace(out) != "" {
			t.Errorf("rc-status --crashed = %q, want none", out)
		}
		if out, _ := runSSH(c, "rc-status --all 2>&1 | grep -iE 'failed|crashed'"); strings.TrimSpace(out) != "" {
			t.Errorf("rc-status --all shows failed services:\n%s", out)
		}
		want("rc-status --all", "ovfinit")
		logf("rc-status --all")
	}
}
