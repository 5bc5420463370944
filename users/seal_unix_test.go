//go:build unix

package users

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSeal(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	writeFiles(t, root, map[string]string{
		"etc/ssh/ssh_host_ed25519_key":      "k",
		"etc/ssh/ssh_host_ed25519_key.pub":  "k",
		"etc/ssh/sshd_config":               "keep",
		"etc/machine-id":                    "0123456789abcdef0123456789abcdef\n",
		"var/lib/ovfinit/state.json":        "{}",
		"var/lib/ovfinit/ovf-env.xml":       "<secret/>",
		"var/lib/dhcp/dhclient.eth0.leases": "lease",
		"var/log/syslog":                    "log",
		"var/log/syslog.1":                  "old",
		"var/log/apt/history.log.2.gz":      "old",
		"var/log/empty.log":                 "",
		"root/.bash_history":                "secret commands",
		"home/bobby/.bash_history":          "more",
		"home/bobby/notes.txt":              "keep",
		"tmp/x":                             "x",
		"tmp/.X11-unix/X0":                  "x",
		"var/tmp/y":                         "y",
	})
	os.MkdirAll(filepath.Join(root, "var/lib/dbus"), 0o755)
	os.Symlink("/etc/machine-id", filepath.Join(root, "var/lib/dbus/machine-id")) // a link is kept
	m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
	if _, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "res1", Keys: []string{keyA}}, testDay); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"userdel res1",
		"remove /etc/ssh/ssh_host_ed25519_key", "remove /etc/ssh/ssh_host_ed25519_key.pub",
		"truncate /etc/machine-id",
		"remove /var/lib/ovfinit/keys", "remove /var/lib/ovfinit/ovf-env.xml", "remove /var/lib/ovfinit/reservations.json", "remove /var/lib/ovfinit/state.json",
		"remove /var/lib/dhcp/dhclient.eth0.leases",
		"remove /var/log/apt/history.log.2.gz", "truncate /var/log/syslog", "remove /var/log/syslog.1",
		"remove /root/.bash_history", "remove /home/bobby/.bash_history",
		"remove /tmp/.X11-unix", "remove /tmp/x", "remove /var/tmp/y",
	}
	var powered []string
	power := func(_ context.Context, s string) error { powered = append(powered, s); return nil }
	items, err := Seal(ctx, m, SealOptions{StateDir: stateDir, EndState: EndOff, DryRun: true, Power: power})
	if err != nil {
		t.Fatalf("Seal(dry run) = %v", err)
	}
	var got []string
	for _, i := range items {
		got = append(got, i.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Seal(dry run) items mismatch (-want +got):\n%s", diff)
	}
	if powered != nil || read(t, root, "etc/machine-id") == "" {
		t.Fatalf("dry run changed something: powered %v", powered)
	}

	if _, err := Seal(ctx, m, SealOptions{StateDir: stateDir, EndState: EndReboot, Power: power}); err != nil {
		t.Fatalf("Seal() = %v", err)
	}
	if !cmp.Equal(powered, []string{EndReboot}) {
		t.Errorf("power called with %v, want [reboot]", powered)
	}
	for _, gone := range []string{"etc/ssh/ssh_host_ed25519_key", "var/lib/ovfinit/state.json", "var/lib/ovfinit/ovf-env.xml",
		"var/log/syslog.1", "root/.bash_history", "tmp/x", "tmp/.X11-unix", "var/tmp/y", "home/res1", "var/lib/dhcp/dhclient.eth0.leases"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s after Seal: %v, want it gone", gone, err)
		}
	}
	for name, want := range map[string]string{"etc/machine-id": "", "var/log/syslog": "", "etc/ssh/sshd_config": "keep", "home/bobby/notes.txt": "keep"} {
		if got := read(t, root, name); got != want {
			t.Errorf("%s after Seal = %q, want %q", name, got, want)
		}
	}
	for _, kept := range []string{"var/lib/dbus/machine-id", "tmp", "var/lib/ovfinit"} {
		if _, err := os.Lstat(filepath.Join(root, kept)); err != nil {
			t.Errorf("%s after Seal: %v, want it kept", kept, err)
		}
	}
	if db, _ := m.readDB(); db.HasUser("res1") || !db.HasUser("bobby") {
		t.Errorf("after Seal: res1 %v, bobby %v; want res1 removed, bobby kept", db.HasUser("res1"), db.HasUser("bobby"))
	}
	checkDB(t, root)
	if _, err := Seal(ctx, m, SealOptions{StateDir: stateDir, EndState: "halt"}); err == nil {
		t.Errorf("Seal(end state halt) = nil, want an error")
	}
}
