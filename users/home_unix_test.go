//go:build unix

package users

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// TestReserveRefusesLinksInHome is issue 13's reproduction: alice, reserved
// with K1, replaces her ~/.ssh (or authorized_keys) by a link into root's
// files; reserving her again with K2 must fail with an error naming the
// link, and leave root's authorized_keys and /etc as they were.
func TestReserveRefusesLinksInHome(t *testing.T) {
	const rootKeys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDontTouchRootsKeysxxxxxxxxxxxxxxxxxxxxxxxx root@host\n"
	cases := []struct {
		name   string
		attack func(t *testing.T, home string)
		want   string // in the error
	}{
		{"ssh dir links to root's", func(t *testing.T, home string) {
			os.RemoveAll(filepath.Join(home, ".ssh"))
			symlink(t, "../../root/.ssh", filepath.Join(home, ".ssh"))
		}, "/home/alice/.ssh: symbolic link"},
		{"ssh dir links to etc", func(t *testing.T, home string) {
			os.RemoveAll(filepath.Join(home, ".ssh"))
			symlink(t, "../../etc", filepath.Join(home, ".ssh"))
		}, "/home/alice/.ssh: symbolic link"},
		{"authorized_keys links to root's", func(t *testing.T, home string) {
			os.Remove(filepath.Join(home, ".ssh", "authorized_keys"))
			symlink(t, "../../../root/.ssh/authorized_keys", filepath.Join(home, ".ssh", "authorized_keys"))
		}, "/home/alice/.ssh/authorized_keys: symbolic link"},
		{"ssh dir is world-writable", func(t *testing.T, home string) {
			os.Chmod(filepath.Join(home, ".ssh"), 0o777)
		}, "/home/alice/.ssh: unsafe ownership or mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			writeFiles(t, root, baseSystem)
			writeFiles(t, root, map[string]string{"root/.ssh/authorized_keys": rootKeys})
			os.Chmod(filepath.Join(root, "root/.ssh/authorized_keys"), 0o600)
			m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
			if _, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "alice", Keys: []string{keyA}}, testDay); err != nil {
				t.Fatalf("Reserve(alice, K1) = %v", err)
			}
			etc := statOwner(t, filepath.Join(root, "etc"))
			home := filepath.Join(root, "home", "alice")
			c.attack(t, home)

			_, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "alice", Keys: []string{keyA, keyB}}, testDay)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Reserve(alice, K2) after the attack = %v, want an error with %q", err, c.want)
			}
			if got := read(t, root, "root/.ssh/authorized_keys"); got != rootKeys {
				t.Errorf("root's authorized_keys = %q, want it untouched", got)
			}
			if got := statOwner(t, filepath.Join(root, "etc")); got != etc {
				t.Errorf("owner of /etc = %d, want %d (untouched)", got, etc)
			}
			if got := statOwner(t, filepath.Join(root, "root/.ssh")); got != os.Geteuid() {
				t.Errorf("owner of /root/.ssh = %d, want %d (untouched)", got, os.Geteuid())
			}
			if _, err := os.Lstat(filepath.Join(root, "etc", "authorized_keys")); err == nil {
				t.Errorf("an authorized_keys was written into /etc")
			}
		})
	}
}

// TestReserveRefusesForeignSSHDir: a ~/.ssh owned by someone else than the
// user (or root) is refused, not written into.
func TestReserveRefusesForeignSSHDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another uid")
	}
	ctx := context.Background()
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
	if _, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "alice", Keys: []string{keyA}}, testDay); err != nil {
		t.Fatalf("Reserve(alice, K1) = %v", err)
	}
	// bobby (uid 1000) owns alice's .ssh now.
	if err := os.Chown(filepath.Join(root, "home/alice/.ssh"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	_, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "alice", Keys: []string{keyB}}, testDay)
	if !errors.Is(err, rootfs.ErrUnsafe) || !strings.Contains(err.Error(), "/home/alice/.ssh") {
		t.Errorf("Reserve(alice) with a .ssh owned by uid 1000 = %v, want ErrUnsafe naming /home/alice/.ssh", err)
	}
	if strings.Contains(read(t, root, "home/alice/.ssh/authorized_keys"), "b@example") {
		t.Errorf("K2 written into a .ssh owned by another user")
	}
}

// TestEnsureHomeOwnsThroughDescriptor: a new ~/.ssh and authorized_keys
// are the user's (given with fchown), mode 0700 and 0600.
func TestEnsureHomeOwnsThroughDescriptor(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
	a, err := m.Ensure(context.Background(), User{Name: "alice", Keys: []string{keyA}})
	if err != nil {
		t.Fatalf("Ensure(alice) = %v", err)
	}
	want := os.Geteuid()
	if want == 0 {
		want = a.UID
	}
	for p, mode := range map[string]os.FileMode{"home/alice": 0o700, "home/alice/.ssh": 0o700, "home/alice/.ssh/authorized_keys": 0o600} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode || int(fi.Sys().(*syscall.Stat_t).Uid) != want {
			t.Errorf("%s: mode %v uid %d, want %v uid %d", p, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, mode, want)
		}
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func statOwner(t *testing.T, p string) int {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
