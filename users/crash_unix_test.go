//go:build unix

package users

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/passwd"
)

// checkDB fails the test if the user database under root is not valid: every
// line has its field count, names are unique, every user has a shadow entry
// and a primary group that exists.
func checkDB(t *testing.T, root string) {
	t.Helper()
	fields := map[string]int{"passwd": 7, "group": 4, "shadow": 9, "gshadow": 4}
	dbs := map[string][]passwd.Entry{}
	for name, n := range fields {
		data := read(t, root, "etc/"+name)
		if data != "" && !strings.HasSuffix(data, "\n") {
			t.Errorf("%s does not end with a newline", name)
		}
		db := passwd.Parse([]byte(data))
		seen := map[string]bool{}
		for i, e := range db {
			if len(e) != n {
				t.Errorf("%s line %d has %d fields, want %d: %q", name, i+1, len(e), n, strings.Join(e, ":"))
			}
			if seen[e[0]] {
				t.Errorf("%s: %s appears twice", name, e[0])
			}
			seen[e[0]] = true
		}
		dbs[name] = db
	}
	for _, u := range dbs["passwd"] {
		if passwd.Find(dbs["shadow"], u[0]) == nil {
			t.Errorf("user %s has no shadow entry", u[0])
		}
		found := false
		for _, g := range dbs["group"] {
			if len(g) > 2 && len(u) > 3 && g[2] == u[3] {
				found = true
			}
		}
		if !found {
			t.Errorf("user %s: primary gid %s is no group", u[0], u[3])
		}
	}
}

var errPowerCut = errors.New("power cut")

// TestCrashAtEveryWrite stops the files applier before its k-th file write,
// for every k, as a power cut would (every write is a temp file renamed into
// place, so a write either happened or not), then checks the files are
// valid and that running again converges to the result of an uninterrupted run.
func TestCrashAtEveryWrite(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	u := User{Name: "bob", Keys: []string{keyA}, Groups: []string{"docker", "video"}, Admin: true,
		Password: NewPassword(testHash), LockPassword: true, ExpirePassword: true}
	files := []string{"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", "etc/sudoers.d/ovfinit-bob", "home/bob/.ssh/authorized_keys"}
	newM := func(root string, hook func(string) error) *Manager {
		return &Manager{Root: root, Log: log, Now: func() time.Time { return testDay }, beforeWrite: hook}
	}

	ref := t.TempDir()
	writeFiles(t, ref, baseSystem)
	writes := 0
	if _, err := newM(ref, func(string) error { writes++; return nil }).Ensure(context.Background(), u); err != nil {
		t.Fatalf("Ensure() = %v", err)
	}
	if writes < 10 {
		t.Fatalf("an uninterrupted run made %d writes, want at least 10 (the hook is not called)", writes)
	}
	checkDB(t, ref)

	for k := 1; k <= writes; k++ {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, baseSystem)
			n := 0
			var at string
			_, err := newM(root, func(p string) error {
				if n++; n == k {
					at = p
					return errPowerCut
				}
				return nil
			}).Ensure(context.Background(), u)
			if !errors.Is(err, errPowerCut) {
				t.Fatalf("Ensure() with a cut at write %d = %v, want the cut", k, err)
			}
			checkDB(t, root)
			if t.Failed() {
				t.Logf("cut before writing %s", at)
			}
			if _, err := newM(root, nil).Ensure(context.Background(), u); err != nil {
				t.Fatalf("Ensure() after the cut at %s = %v", at, err)
			}
			for _, f := range files {
				if got, want := read(t, root, f), read(t, ref, f); got != want {
					t.Errorf("after a cut at %s and a re-run, %s =\n%s\nwant\n%s", at, f, got, want)
				}
			}
		})
	}
}

// TestHelperHoldLock is not a test: TestLockWaits runs the test binary
// again to hold the password-file lock from another process (fcntl locks
// belong to a process, so a second fd in this one would not block).
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv("OVFINIT_TEST_HOLD_LOCK")
	if path == "" {
		t.Skip("helper process only")
	}
	unlock, err := lockPasswd(path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent says so
	unlock()
	os.Exit(0)
}

func TestLockWaits(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	if q := os.Getenv("OVFINIT_QEMU_USER"); q != "" {
		// make cross-test: a foreign test binary runs through the emulator.
		cmd = exec.Command(q, os.Args[0], "-test.run=^TestHelperHoldLock$")
	}
	cmd.Env = append(os.Environ(), "OVFINIT_TEST_HOLD_LOCK="+root)
	release, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("helper said %q, want locked", line)
	}

	done := make(chan error, 1)
	go func() {
		_, err := (&Manager{Root: root, Log: slog.New(slog.DiscardHandler)}).Ensure(context.Background(), User{Name: "bob"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Ensure() returned (%v) while another process held the lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	if strings.Contains(read(t, root, "etc/passwd"), "bob:") {
		t.Fatalf("passwd changed while another process held the lock")
	}
	release.Close() // the helper unlocks and exits
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Ensure() after the lock was released = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Ensure() did not proceed after the lock was released")
	}
	if !strings.Contains(read(t, root, "etc/passwd"), "\nbob:") {
		t.Errorf("passwd has no bob after Ensure()")
	}
	checkDB(t, root)
	cmd.Wait()
}
