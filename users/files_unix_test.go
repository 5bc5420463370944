//go:build unix

package users

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/passwd"
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

// baseSystem is a small Debian-like user database: "bobby" must never be
// taken for "bob".
var baseSystem = map[string]string{
	"etc/passwd":  "root:x:0:0:root:/root:/bin/sh\nbobby:x:1000:1000::/home/bobby:/bin/sh\n",
	"etc/group":   "root:x:0:\nsudo:x:27:\nbobby:x:1000:\n",
	"etc/shadow":  "root:*:19000:0:99999:7:::\nbobby:*:19000:0:99999:7:::\n",
	"etc/gshadow": "root:*::\nsudo:*::\nbobby:!::\n",
}

var testDay = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// managers returns the appliers to test: editing the files, and, when run
// as root on a system that has them, the shadow-utils tools on --root.
func managers(t *testing.T, log *slog.Logger) map[string]func(root string) *Manager {
	ms := map[string]func(root string) *Manager{
		"files": func(root string) *Manager {
			return &Manager{Root: root, Log: log, Now: func() time.Time { return testDay }}
		},
	}
	if os.Geteuid() == 0 && haveTools("useradd", "usermod", "groupadd", "chpasswd", "chage", "userdel") {
		ms["tools"] = func(root string) *Manager {
			return &Manager{Root: root, Log: log, Flavor: FlavorShadow, Run: cmdrun.Exec{Log: log}, Now: time.Now}
		}
	} else {
		t.Log("not root or no shadow-utils: testing the files applier only")
	}
	return ms
}

func shadowEntry(t *testing.T, root, name string) passwd.Entry {
	t.Helper()
	e := passwd.Find(passwd.Parse([]byte(read(t, root, "etc/shadow"))), name)
	if e == nil {
		t.Fatalf("shadow has no %s entry", name)
	}
	return e
}

func TestEnsureCreates(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for name, newM := range managers(t, log) {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, baseSystem)
			m := newM(root)
			u := User{Name: "bob", Keys: []string{keyA}, Groups: []string{"docker"}, Admin: true,
				Password: NewPassword(testHash), ExpirePassword: true}
			a, err := m.Ensure(context.Background(), u)
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
			grp := passwd.Parse([]byte(read(t, root, "etc/group")))
			for _, want := range []string{"bob:x:1001:", "sudo:x:27:bob", "docker:x:1002:bob"} {
				f := strings.Split(want, ":")
				if e := passwd.Find(grp, f[0]); strings.Join(e, ":") != want {
					t.Errorf("group entry %s = %q, want %q", f[0], strings.Join(e, ":"), want)
				}
			}
			if got := read(t, root, "etc/gshadow"); !strings.Contains(got, "\nsudo:*::bob\n") {
				t.Errorf("gshadow = %q, want bob in sudo", got)
			}
			if sh := shadowEntry(t, root, "bob"); sh[1] != testHash || sh[2] != "0" {
				t.Errorf("shadow bob = %q, want the hash and last change 0 (expired)", strings.Join(sh, ":"))
			}
			if fi, _ := os.Stat(filepath.Join(root, "etc/shadow")); fi.Mode().Perm() != 0o640 {
				t.Errorf("shadow mode = %v, want 0640 kept", fi.Mode().Perm())
			}
			sudoers := filepath.Join(root, "etc/sudoers.d/ovfinit-bob")
			if fi, err := os.Stat(sudoers); err != nil || fi.Mode().Perm() != 0o440 {
				t.Errorf("sudoers drop-in: %v, %v; want mode 0440", fi, err)
			}
			if got := read(t, root, "home/bob/.ssh/authorized_keys"); got != keyA+"\n" {
				t.Errorf("authorized_keys = %q, want %q", got, keyA+"\n")
			}

			// Again: nothing left to do but the (idempotent) sudoers file.
			db, err := m.readDB()
			if err != nil {
				t.Fatal(err)
			}
			ops, err := Plan(db, u)
			if err != nil || len(ops) != 1 || ops[0].Kind != OpSudoers {
				t.Errorf("Plan() after Ensure = %v, %v; want only the sudoers op", ops, err)
			}
			a2, err := m.Ensure(context.Background(), User{Name: "bob", Keys: []string{keyA, keyB}})
			if err != nil || a2.Created || a2.UID != 1001 {
				t.Errorf("Ensure() again = %+v, %v; want the existing account", a2, err)
			}
			if got := read(t, root, "home/bob/.ssh/authorized_keys"); got != keyA+"\n"+keyB+"\n" {
				t.Errorf("authorized_keys = %q, want both keys once", got)
			}

			if err := m.Remove(context.Background(), "bob", false); err != nil {
				t.Fatalf("Remove() = %v", err)
			}
			for _, f := range []string{"etc/passwd", "etc/shadow", "etc/group", "etc/gshadow"} {
				got := read(t, root, f)
				for _, line := range strings.Split(got, "\n") {
					if strings.HasPrefix(line, "bob:") || strings.HasSuffix(line, ":bob") || strings.Contains(line, "bob,") {
						t.Errorf("%s after Remove still has %q", f, line)
					}
				}
				if !strings.Contains(got, "bobby") {
					t.Errorf("%s after Remove lost bobby: %q", f, got)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "home/bob")); !os.IsNotExist(err) {
				t.Errorf("home after Remove: %v, want it gone", err)
			}
			if _, err := os.Stat(sudoers); !os.IsNotExist(err) {
				t.Errorf("sudoers after Remove: %v, want it gone", err)
			}
		})
	}
}

func TestEnsureClearPassword(t *testing.T) {
	const clear = "correct horse battery"
	for _, tt := range []struct {
		loginDefs, prefix string
	}{
		{"", "$6$"},
		{"ENCRYPT_METHOD SHA512\n", "$6$"},
		{"# comment\nENCRYPT_METHOD YESCRYPT\n", "$y$"},
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		for name, newM := range managers(t, log) {
			t.Run(name+tt.prefix, func(t *testing.T) {
				root := t.TempDir()
				writeFiles(t, root, baseSystem)
				if tt.loginDefs != "" {
					writeFiles(t, root, map[string]string{"etc/login.defs": tt.loginDefs})
				}
				m := newM(root)
				u := User{Name: "bob", Password: NewPassword(clear), LockPassword: true}
				if _, err := m.Ensure(context.Background(), u); err != nil {
					t.Fatalf("Ensure() = %v", err)
				}
				sh := shadowEntry(t, root, "bob")
				if !strings.HasPrefix(sh[1], "!"+tt.prefix) {
					t.Errorf("shadow hash = %q, want a locked %s hash", sh[1], tt.prefix)
				}
				if !PasswordMatches(strings.TrimPrefix(sh[1], "!"), NewPassword(clear)) {
					t.Errorf("PasswordMatches(stored, clear) = false, want true")
				}
				if perl, err := exec.LookPath("perl"); err == nil {
					h := strings.TrimPrefix(sh[1], "!")
					out, err := exec.Command(perl, "-e", `print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "ok" : "bad"`, clear, h).Output()
					if err != nil || string(out) != "ok" {
						t.Errorf("libc crypt(clear, %q) check = %q, %v; want ok", h, out, err)
					}
				}
				// Never in a file or a log.
				filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
					if err == nil && fi.Mode().IsRegular() {
						if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(clear)) {
							t.Errorf("%s holds the clear password", p)
						}
					}
					return nil
				})
				if bytes.Contains(logs.Bytes(), []byte(clear)) {
					t.Errorf("the log holds the clear password")
				}
				// A re-run with the same clear password changes nothing.
				db, _ := m.readDB()
				if ops, err := Plan(db, u); err != nil || len(ops) != 0 {
					t.Errorf("Plan() after Ensure = %v, %v; want no ops", ops, err)
				}
			})
		}
	}
}

func TestEnsureErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	root := t.TempDir()
	m := &Manager{Root: root, Log: log}
	if _, err := m.Ensure(context.Background(), User{Name: "bob"}); err == nil || !strings.Contains(err.Error(), "user database") {
		t.Errorf("Ensure() without /etc/passwd = %v, want a user database error", err)
	}
	if _, err := m.Ensure(context.Background(), User{Name: "Bad Name"}); err == nil || !strings.Contains(err.Error(), "invalid user name") {
		t.Errorf("Ensure(bad name) = %v, want invalid user name", err)
	}
}

// A new user's own group, made by useradd itself with the tools
// (withOwnGroup), gets the gid the plan gave it, not the uid.
func TestEnsureOwnGroupGID(t *testing.T) {
	for name, newM := range managers(t, slog.New(slog.DiscardHandler)) {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			files := maps.Clone(baseSystem)
			files["etc/group"] += "web:x:1001:\n"
			files["etc/gshadow"] += "web:!::\n"
			writeFiles(t, root, files)
			a, err := newM(root).Ensure(context.Background(), User{Name: "bob", Keys: []string{keyA}})
			if err != nil {
				t.Fatalf("Ensure() = %v", err)
			}
			if a.UID != 1001 || a.GID != 1002 {
				t.Errorf("Ensure() = %+v, want 1001:1002", a)
			}
			grp := passwd.Parse([]byte(read(t, root, "etc/group")))
			for _, want := range []string{"bob:x:1002:", "web:x:1001:"} {
				if e := passwd.Find(grp, strings.Split(want, ":")[0]); strings.Join(e, ":") != want {
					t.Errorf("group entry = %q, want %q", strings.Join(e, ":"), want)
				}
			}
			if got := read(t, root, "etc/gshadow"); !strings.Contains(got, "\nbob:!::\n") {
				t.Errorf("gshadow = %q, want bob's entry", got)
			}
		})
	}
}

// useradd -U fails rather than give the user's group another gid when
// the planned one was taken after the plan (the files changed in
// between): the account is not created with a group the plan did not
// choose.
func TestOwnGroupKeepsPlannedGID(t *testing.T) {
	if os.Geteuid() != 0 || !haveTools("useradd", "groupadd") {
		t.Skip("needs root and shadow-utils")
	}
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Flavor: FlavorShadow, Run: cmdrun.Exec{}, Now: time.Now}
	db, err := m.readDB()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := Plan(db, User{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	ops = withOwnGroup(ops)
	if len(ops) != 1 || !ops[0].OwnGroup || ops[0].GID != 1001 {
		t.Fatalf("ops = %v, want one useradd that makes group 1001", ops)
	}
	writeFiles(t, root, map[string]string{
		"etc/group":   baseSystem["etc/group"] + "late:x:1001:\n",
		"etc/gshadow": baseSystem["etc/gshadow"] + "late:!::\n",
	})
	if err := m.apply(context.Background(), ops[0]); err == nil {
		t.Fatalf("useradd with gid 1001 taken succeeded: group %q", read(t, root, "etc/group"))
	}
	if got := read(t, root, "etc/passwd"); strings.Contains(got, "bob:") {
		t.Errorf("passwd = %q, want no bob", got)
	}
}

// An own-group useradd given to the files applier makes the group too.
func TestApplyOwnGroupFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
	o := Op{Kind: OpAddUser, Name: "bob", ID: 1001, Group: "bob", GID: 1004, Home: "/home/bob", Shell: "/bin/sh", OwnGroup: true}
	if err := m.apply(context.Background(), o); err != nil {
		t.Fatalf("apply = %v", err)
	}
	if e := passwd.Find(passwd.Parse([]byte(read(t, root, "etc/group"))), "bob"); strings.Join(e, ":") != "bob:x:1004:" {
		t.Errorf("group bob = %q, want bob:x:1004:", strings.Join(e, ":"))
	}
	if got := read(t, root, "etc/passwd"); !strings.Contains(got, "\nbob:x:1001:1004::/home/bob:/bin/sh\n") {
		t.Errorf("passwd = %q, want bob 1001:1004", got)
	}
}
