//go:build unix

package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const stateDir = "/var/lib/ovfinit"

func TestReserveSanitize(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for name, newM := range managers(t, log) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			writeFiles(t, root, baseSystem)
			m := newM(root)
			now := testDay
			exp := now.Add(24 * time.Hour)
			a, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "res1", Keys: []string{keyA}, PasswordHash: testHash, Admin: true, Expires: exp}, now)
			if err != nil {
				t.Fatalf("Reserve(res1) = %v", err)
			}
			if _, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "res2", Keys: []string{keyB}}, now); err != nil {
				t.Fatalf("Reserve(res2) = %v", err)
			}
			if keys, _ := StoredKeys(root, stateDir, "res1"); len(keys) != 1 {
				t.Errorf("StoredKeys(res1) = %v, want one key", keys)
			}
			rs, err := Reservations(root, stateDir)
			want := []Reservation{{User: "res1", Created: now, Expires: exp, Admin: true}, {User: "res2", Created: now}}
			if diff := cmp.Diff(want, rs); err != nil || diff != "" {
				t.Errorf("Reservations() = %v; mismatch (-want +got):\n%s", err, diff)
			}
			if sh := shadowEntry(t, root, "res1"); sh[1] != testHash {
				t.Errorf("res1 shadow hash = %q, want the --password-hash", sh[1])
			}

			// Refusals: an existing non-reservation account, a clear password.
			if _, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "bobby"}, now); !errors.Is(err, ErrNotReservation) {
				t.Errorf("Reserve(bobby) = %v, want ErrNotReservation", err)
			}
			if _, err := Reserve(ctx, m, stateDir, ReserveRequest{User: "res3", PasswordHash: "clear"}, now); err == nil || !strings.Contains(err.Error(), "--password-hash") {
				t.Errorf("Reserve(clear hash) = %v, want a --password-hash error", err)
			}
			if _, err := Sanitize(ctx, m, stateDir, SanitizeOptions{Users: []string{"bobby"}, Now: now}); !errors.Is(err, ErrNotReservation) {
				t.Errorf("Sanitize(bobby) = %v, want ErrNotReservation", err)
			}

			// A login 10 minutes ago keeps them with --if-no-login 1h.
			later := now.Add(3 * time.Hour)
			if err := RecordLogin(root, stateDir, Login{User: "res2", From: "10.0.0.1:22", Time: later.Add(-10 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
			var killed []int
			kill := func(uid int) error { killed = append(killed, uid); return nil }
			res, err := Sanitize(ctx, m, stateDir, SanitizeOptions{All: true, IfNoLoginSince: time.Hour, Now: later, Kill: kill})
			if err != nil || len(res.Removed) != 0 || !slices.Equal(res.Kept, []string{"res1", "res2"}) {
				t.Errorf("Sanitize(if no login 1h) = %+v, %v; want both kept", res, err)
			}
			// Two hours on, nobody logged in for an hour: remove res1 alone.
			res, err = Sanitize(ctx, m, stateDir, SanitizeOptions{Users: []string{"res1"}, IfNoLoginSince: time.Hour, Now: later.Add(2 * time.Hour), Kill: kill})
			if err != nil || !slices.Equal(res.Removed, []string{"res1"}) {
				t.Fatalf("Sanitize(res1) = %+v, %v; want res1 removed", res, err)
			}
			if !slices.Equal(killed, []int{a.UID}) {
				t.Errorf("killed uids %v, want [%d]", killed, a.UID)
			}
			db, _ := m.readDB()
			if db.HasUser("res1") || !db.HasUser("res2") || !db.HasUser("bobby") {
				t.Errorf("after Sanitize(res1): res1 %v res2 %v bobby %v; want only res1 gone", db.HasUser("res1"), db.HasUser("res2"), db.HasUser("bobby"))
			}
			if keys, _ := StoredKeys(root, stateDir, "res1"); keys != nil {
				t.Errorf("res1 stored keys left: %v", keys)
			}
			for _, p := range []string{"home/res1", "etc/sudoers.d/ovfinit-res1"} {
				if _, err := os.Stat(filepath.Join(root, p)); !os.IsNotExist(err) {
					t.Errorf("%s after sanitize: %v, want it gone", p, err)
				}
			}
			// --keep-home.
			res, err = Sanitize(ctx, m, stateDir, SanitizeOptions{All: true, KeepHome: true, Now: later})
			if err != nil || !slices.Equal(res.Removed, []string{"res2"}) {
				t.Fatalf("Sanitize(all, keep home) = %+v, %v", res, err)
			}
			if _, err := os.Stat(filepath.Join(root, "home/res2")); err != nil {
				t.Errorf("home/res2 after --keep-home: %v, want it kept", err)
			}
			if rs, _ := Reservations(root, stateDir); len(rs) != 0 {
				t.Errorf("Reservations() after sanitizing all = %v, want none", rs)
			}
			checkDB(t, root)
		})
	}
}

func TestKillUID(t *testing.T) {
	proc := t.TempDir()
	status := map[string]string{
		"100":  "Name:\tsshd\nUid:\t1001\t1001\t1001\t1001\n",
		"101":  "Name:\tbash\nUid:\t0\t0\t0\t0\n",
		"102":  "Name:\tsu\nUid:\t0\t1001\t0\t0\n",
		"103":  "Name:\tother\nUid:\t10010\t10010\t10010\t10010\n",
		"self": "Uid:\t1001\t1001\t1001\t1001\n",
	}
	for pid, s := range status {
		os.MkdirAll(filepath.Join(proc, pid), 0o755)
		os.WriteFile(filepath.Join(proc, pid, "status"), []byte(s), 0o644)
	}
	var signalled []int
	err := killUID(proc, 1001, func(pid int) error {
		signalled = append(signalled, pid)
		return os.RemoveAll(filepath.Join(proc, fmt.Sprint(pid)))
	}, 3)
	if err != nil || !slices.Equal(signalled, []int{100, 102}) {
		t.Errorf("killUID(1001) = %v, signalled %v; want [100 102]", err, signalled)
	}
	// A process that will not die is reported.
	err = killUID(proc, 0, func(int) error { return nil }, 3)
	if err == nil {
		t.Errorf("killUID(0) = nil, want a refusal")
	}
	err = killUID(proc, 10010, func(int) error { return nil }, 3)
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("killUID(stubborn) = %v, want 'still running'", err)
	}
}
