//go:build unix

package users

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(name, "shadow") {
			mode = 0o640
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnsureCreates(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"etc/passwd":  "root:x:0:0:root:/root:/bin/sh\nbobby:x:1000:1000::/home/bobby:/bin/sh\n",
		"etc/group":   "root:x:0:\nbobby:x:1000:\n",
		"etc/shadow":  "root:*:19000:0:99999:7:::\nbobby:*:19000:0:99999:7:::\n",
		"etc/gshadow": "root:*::\nbobby:!::\n",
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := Ensure(root, User{Name: "bob", Keys: []string{keyA}}, log)
	if err != nil {
		t.Fatalf("Ensure() = %v", err)
	}
	if !a.Created || a.UID != 1001 || a.GID != 1001 || a.Home != "/home/bob" {
		t.Errorf("Ensure() = %+v, want a created account 1001:1001 at /home/bob", a)
	}
	if got := read(t, root, "etc/passwd"); !strings.HasSuffix(got, "\nbob:x:1001:1001::/home/bob:/bin/sh\n") {
		t.Errorf("passwd = %q, want the new entry appended", got)
	}
	if got := read(t, root, "etc/passwd-"); !strings.Contains(got, "bobby") || strings.Contains(got, "bob:") {
		t.Errorf("passwd- = %q, want the previous file", got)
	}
	for name, want := range map[string]string{"etc/group": "bob:x:1001:\n", "etc/gshadow": "bob:!::\n"} {
		if got := read(t, root, name); !strings.HasSuffix(got, want) {
			t.Errorf("%s = %q, want it to end with %q", name, got, want)
		}
	}
	if got := read(t, root, "etc/shadow"); !strings.Contains(got, "\nbob:*:") {
		t.Errorf("shadow = %q, want a bob entry", got)
	}
	if fi, _ := os.Stat(filepath.Join(root, "etc/shadow")); fi.Mode().Perm() != 0o640 {
		t.Errorf("shadow mode = %v, want 0640 kept", fi.Mode().Perm())
	}
	ak := filepath.Join(root, "home/bob/.ssh/authorized_keys")
	if got := read(t, root, "home/bob/.ssh/authorized_keys"); got != keyA+"\n" {
		t.Errorf("authorized_keys = %q, want %q", got, keyA+"\n")
	}
	if fi, _ := os.Stat(ak); fi.Mode().Perm() != 0o600 {
		t.Errorf("authorized_keys mode = %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Dir(ak)); fi.Mode().Perm() != 0o700 {
		t.Errorf(".ssh mode = %v, want 0700", fi.Mode().Perm())
	}

	// Again, with one more key: the account is kept, the key added once.
	a2, err := Ensure(root, User{Name: "bob", Keys: []string{keyA, keyB}}, log)
	if err != nil {
		t.Fatalf("Ensure() again = %v", err)
	}
	if a2.Created || a2.UID != 1001 {
		t.Errorf("Ensure() again = %+v, want the existing account", a2)
	}
	if got := strings.Count(read(t, root, "etc/passwd"), "\nbob:"); got != 1 {
		t.Errorf("passwd has %d bob entries, want 1", got)
	}
	if got := read(t, root, "home/bob/.ssh/authorized_keys"); got != keyA+"\n"+keyB+"\n" {
		t.Errorf("authorized_keys = %q, want both keys once", got)
	}
}

func TestEnsureErrors(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	root := t.TempDir()
	if _, err := Ensure(root, User{Name: "bob"}, log); err == nil || !strings.Contains(err.Error(), "user database") {
		t.Errorf("Ensure() without /etc/passwd = %v, want a user database error", err)
	}
	if _, err := Ensure(root, User{Name: "Bad Name"}, log); err == nil || !strings.Contains(err.Error(), "invalid user name") {
		t.Errorf("Ensure(bad name) = %v, want invalid user name", err)
	}
}
