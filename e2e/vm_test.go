package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestFirstBoot(t *testing.T) {
	requireVM(t)
	start := time.Now()
	h := newHarness(t, setup{})

	iso1 := h.iso(t, "e2e-instance-1")
	var fp1 string

	if !t.Run("boot1", func(t *testing.T) {
		b := h.boot(t, iso1, "e2e-instance-1")
		defer h.poweroff(t, b)
		checkSteps(t, b, stepStatuses("ok", "ok"))
		client, hostKey := h.dial(t, b.m, h.signer)
		defer client.Close()
		fp1 = checkHostKey(t, b.ready, hostKey)
		checkGuest(t, client, "e2e-instance-1")

		wrong := newSigner(t)
		if c, err := dialOnce(b.m.SSHAddr(), guestUser, wrong, nil); err == nil {
			c.Close()
			t.Errorf("SSH as %s with a key not in public-keys: logged in, want refused", guestUser)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("SSH as %s with a wrong key: %v, want an authentication failure", guestUser, err)
		}
	}) {
		t.FailNow()
	}

	if !t.Run("boot2-same-instance", func(t *testing.T) {
		b := h.boot(t, iso1, "e2e-instance-1")
		defer h.poweroff(t, b)
		checkSteps(t, b, stepStatuses("ok", "skipped"))
		client, hostKey := h.dial(t, b.m, h.signer)
		defer client.Close()
		if fp := checkHostKey(t, b.ready, hostKey); fp != fp1 {
			t.Errorf("host key after a reboot = %s, want the first boot's %s", fp, fp1)
		}
		checkGuest(t, client, "e2e-instance-1")
	}) {
		t.FailNow()
	}

	t.Run("boot3-new-instance", func(t *testing.T) {
		iso2 := h.iso(t, "e2e-instance-2")
		b := h.boot(t, iso2, "e2e-instance-2")
		defer h.poweroff(t, b)
		checkSteps(t, b, stepStatuses("ok", "ok"))
		client, hostKey := h.dial(t, b.m, h.signer)
		defer client.Close()
		if fp := checkHostKey(t, b.ready, hostKey); fp == fp1 {
			t.Errorf("host key for a new instance id = %s, the old instance's; want a new key", fp)
		}
		checkGuest(t, client, "e2e-instance-2")
	})
	t.Logf("TestFirstBoot wall time %v", time.Since(start).Round(time.Millisecond))
}
