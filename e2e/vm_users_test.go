package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// usersHash is a SHA-512 crypt hash (of "e2e-password") given as the
// user's password property.
const usersHash = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"

// usersISO is the standard guest environment plus a password hash, and a
// script that lets rootKey log in as root (the lifecycle commands need
// root; the environment's user is not).
func (h *harness) usersISO(t *testing.T, id string, rootKey ssh.PublicKey) string {
	t.Helper()
	g := h.env(id)
	g.Script = fmt.Sprintf("file.write(\"/root/.ssh/authorized_keys\", %q, mode=0o600)\n",
		string(ssh.MarshalAuthorizedKey(rootKey)))
	return h.isoOf(t, id, append(g.Properties(), vm.Property{Key: "password", Value: usersHash}))
}

// TestUsersLifecycle: a user created from the environment with a password
// hash and a key logs in; `ovfinit reserve` then `ovfinit sanitize`, run as
// root over SSH, add a user and remove it, closing its session; `ovfinit
// seal --end-state off` powers the guest off, and the next boot of that
// disk runs every per-instance step again, with a new host key.
func TestUsersLifecycle(t *testing.T) {
	requireVM(t)
	ctx := t.Context()
	h := newHarness(t, setup{})
	rootSigner, resSigner := newSigner(t), newSigner(t)
	const id = "e2e-users-1"
	iso := h.usersISO(t, id, rootSigner.PublicKey())

	var fp1 string
	if !t.Run("boot1", func(t *testing.T) {
		b := h.boot(t, iso, id)
		user, hostKey := h.dial(t, b.m, h.signer)
		defer user.Close()
		fp1 = ssh.FingerprintSHA256(hostKey)
		if got := strings.TrimSpace(mustSSH(t, user, "id -un")); got != guestUser {
			t.Errorf("id -un = %q, want %q", got, guestUser)
		}
		root, _ := dialAs(t, b.m, "root", rootSigner)
		defer root.Close()
		if got := mustSSH(t, root, "grep '^"+guestUser+":' /etc/shadow"); !strings.HasPrefix(got, guestUser+":"+usersHash+":") {
			t.Errorf("shadow entry = %q, want the password hash from the environment", got)
		}

		// reserve, log in as the reservation user, keep a session open.
		resKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(resSigner.PublicKey())))
		if out := mustSSH(t, root, "ovfinit reserve --user res1 --key '"+resKey+"'"); !strings.Contains(out, "reserved user res1") {
			t.Errorf("reserve = %q, want 'reserved user res1'", out)
		}
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := h.rec.Wait(ectx, vm.TypeReserved); err != nil {
			t.Errorf("no reserved event: %v", err)
		}
		cancel()
		res, _ := dialAs(t, b.m, "res1", resSigner)
		defer res.Close()
		if got := strings.TrimSpace(mustSSH(t, res, "id -un")); got != "res1" {
			t.Errorf("id -un as res1 = %q", got)
		}
		sess, err := res.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("sleep 600"); err != nil {
			t.Fatal(err)
		}
		ended := make(chan error, 1)
		go func() { ended <- sess.Wait() }()

		if out := mustSSH(t, root, "ovfinit sanitize --user res1"); !strings.Contains(out, "sanitized users res1") {
			t.Errorf("sanitize = %q, want 'sanitized users res1'", out)
		}
		select {
		case err := <-ended:
			t.Logf("res1's session ended: %v", err)
		case <-time.After(30 * time.Second):
			t.Errorf("res1's session still open 30s after sanitize")
		}
		if out := mustSSH(t, root, "grep '^res1:' /etc/passwd /etc/shadow /etc/group; ls /home; echo end"); strings.Contains(out, "res1") {
			t.Errorf("after sanitize: %q, want no trace of res1", out)
		}
		if c, err := dialOnce(b.m.SSHAddr(), "res1", resSigner, nil); err == nil {
			c.Close()
			t.Errorf("SSH as res1 after sanitize: logged in, want refused")
		}

		// seal: the guest powers itself off.
		runSSH(root, "ovfinit seal --end-state off") // the connection dies with the guest
		select {
		case <-b.m.Done():
		case <-time.After(poweroffTimeout):
			t.Fatalf("guest still running %v after seal --end-state off", poweroffTimeout)
		}
		if strings.Contains(b.m.Tail(40), "OVFINIT-E2E poweroff") {
			t.Errorf("the guest's init powered off, not seal")
		}
	}) {
		t.FailNow()
	}

	t.Run("boot2-after-seal", func(t *testing.T) {
		b := h.boot(t, iso, id) // the same instance id: only the sealed state makes it fresh
		defer h.poweroff(t, b)
		checkSteps(t, b, stepStatuses("ok", "ok"))
		user, hostKey := h.dial(t, b.m, h.signer)
		defer user.Close()
		if fp := ssh.FingerprintSHA256(hostKey); fp == fp1 {
			t.Errorf("host key after seal = %s, the sealed instance's; want a new one", fp)
		}
	})
}
