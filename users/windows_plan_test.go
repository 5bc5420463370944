package users

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeWin is an in-memory Windows account database that records calls.
type fakeWin struct {
	users, groups map[string]bool
	calls         []string
}

func (f *fakeWin) call(s string, args ...any)        { f.calls = append(f.calls, fmt.Sprintf(s, args...)) }
func (f *fakeWin) UserExists(n string) (bool, error) { return f.users[n], nil }
func (f *fakeWin) AddUser(n, pw string) error {
	f.users[n] = true
	f.call("NetUserAdd %s password=%v", n, pw != "")
	return nil
}
func (f *fakeWin) SetPassword(n, pw string) error     { f.call("NetUserSetInfo(1003) %s", n); return nil }
func (f *fakeWin) ExpirePassword(n string) error      { f.call("expire %s", n); return nil }
func (f *fakeWin) GroupExists(n string) (bool, error) { return f.groups[n], nil }
func (f *fakeWin) AddGroup(n string) error {
	f.groups[n] = true
	f.call("NetLocalGroupAdd %s", n)
	return nil
}
func (f *fakeWin) AddToGroup(g, u string) error {
	f.call("NetLocalGroupAddMembers %s %s", g, u)
	return nil
}
func (f *fakeWin) AdminGroup() (string, error) { return "Administratoren", nil } // a German Windows
func (f *fakeWin) DeleteUser(n string) error {
	delete(f.users, n)
	f.call("NetUserDel %s", n)
	return nil
}

func TestEnsureWindows(t *testing.T) {
	tests := []struct {
		name  string
		users []string
		u     User
		want  []string
	}{
		{"new admin", nil, User{Name: "bob", Password: NewPassword("Pa55word!"), Admin: true, Groups: []string{"devs"}, ExpirePassword: true},
			[]string{"NetLocalGroupAdd devs", "NetUserAdd bob password=true", "expire bob",
				"NetLocalGroupAddMembers devs bob", "NetLocalGroupAddMembers Administratoren bob"}},
		// Keys only: a random password, never a NULL one (issue 17).
		{"new, keys only", nil, User{Name: "bob"}, []string{"NetUserAdd bob password=true"}},
		{"existing, new password", []string{"bob"}, User{Name: "bob", Password: NewPassword("x")}, []string{"NetUserSetInfo(1003) bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeWin{users: map[string]bool{}, groups: map[string]bool{"Users": true, "Administratoren": true}}
			for _, u := range tt.users {
				f.users[u] = true
			}
			if _, err := EnsureWindows(f, tt.u); err != nil {
				t.Fatalf("EnsureWindows(%s) = %v", tt.u.Name, err)
			}
			if diff := cmp.Diff(tt.want, f.calls); diff != "" {
				t.Errorf("EnsureWindows(%s) calls mismatch (-want +got):\n%s", tt.u.Name, diff)
			}
		})
	}
	f := &fakeWin{users: map[string]bool{}, groups: map[string]bool{}}
	if _, err := EnsureWindows(f, User{Name: "bob", Password: NewPassword(testHash)}); err == nil || !strings.Contains(err.Error(), "clear") {
		t.Errorf("EnsureWindows(hash) = %v, want an error asking for a clear password", err)
	}
	if len(f.calls) > 0 {
		t.Errorf("EnsureWindows(hash) made calls %v before failing", f.calls)
	}
}

func TestReserveSanitizeWindows(t *testing.T) {
	ctx := context.Background()
	f := &fakeWin{users: map[string]bool{"Administrator": true}, groups: map[string]bool{"Administratoren": true}}
	root := t.TempDir()
	m := &Manager{Root: root, win: f}
	if _, err := Reserve(ctx, m, "/ProgramData/ovfinit", ReserveRequest{User: "res1", Keys: []string{keyA}, Admin: true}, time.Now()); err != nil {
		t.Fatalf("Reserve() = %v", err)
	}
	if keys, _ := StoredKeys(root, "/ProgramData/ovfinit", "res1"); len(keys) != 1 {
		t.Errorf("StoredKeys(res1) = %v, want the key (Windows logins read the key store)", keys)
	}
	if _, err := Sanitize(ctx, m, "/ProgramData/ovfinit", SanitizeOptions{All: true, Now: time.Now()}); err != nil {
		t.Fatalf("Sanitize() = %v", err)
	}
	want := []string{"NetUserAdd res1 password=true", "NetLocalGroupAddMembers Administratoren res1", "NetUserDel res1"}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestRandomWindowsPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		pw, err := randomWindowsPassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != randomPasswordLen || seen[pw] {
			t.Fatalf("randomWindowsPassword() = %d characters (repeated %v), want %d, new each time", len(pw), seen[pw], randomPasswordLen)
		}
		seen[pw] = true
		for _, class := range []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_~"} {
			if !strings.ContainsAny(pw, class) {
				t.Errorf("randomWindowsPassword() has none of %q: fails Windows' complexity rules", class)
			}
		}
	}
}

// An account without a password gets a random one through the real
// Manager path too (MemAccounts refuses an empty password as netapi32 now
// does).
func TestEnsureWindowsNeverNullPassword(t *testing.T) {
	acc := &MemAccounts{}
	m := NewWindowsManager(t.TempDir(), nil, acc)
	if _, err := m.Ensure(context.Background(), User{Name: "keysonly", Keys: []string{keyA}}); err != nil {
		t.Fatalf("Ensure(keys only) = %v", err)
	}
	if diff := cmp.Diff([]string{"NetUserAdd keysonly"}, acc.Calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

// An administrator's keys go into Win32-OpenSSH's
// administrators_authorized_keys as well (it reads no other file for
// members of Administrators), once, next to the lines already there, and
// sanitize takes them out again.
func TestAdminKeysWindows(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvlLOvdaIYDGyE2Ul8gBr0MfsP4aT0oIVMOiuvr1aUw other@example"
	if err := os.MkdirAll(filepath.Join(root, "ProgramData", "ssh"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, filepath.FromSlash(AdminKeysPath))
	if err := os.WriteFile(file, []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	acc := &MemAccounts{Admin: "Administratoren"}
	m := NewWindowsManager(root, nil, acc)
	for range 2 {
		if _, err := Reserve(ctx, m, "/ProgramData/ovfinit/state", ReserveRequest{User: "adm", Keys: []string{keyA}, Admin: true}, time.Now()); err != nil {
			t.Fatalf("Reserve(adm) = %v", err)
		}
	}
	if got, want := readFile(t, file), other+"\r\n"+keyA+"\r\n"; got != want {
		t.Errorf("%s after reserving an admin twice = %q, want %q", AdminKeysPath, got, want)
	}
	if got := acc.Groups["Administratoren"]; !slices.Contains(got, "adm") {
		t.Errorf("Administratoren members = %v, want adm", got)
	}
	// A user who is no administrator: not in that file.
	if _, err := m.Ensure(ctx, User{Name: "plain", Keys: []string{keyB}}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, file); strings.Contains(got, keyB) {
		t.Errorf("%s = %q: has a non-administrator's key", AdminKeysPath, got)
	}
	if _, err := Sanitize(ctx, m, "/ProgramData/ovfinit/state", SanitizeOptions{All: true, Now: time.Now()}); err != nil {
		t.Fatalf("Sanitize() = %v", err)
	}
	if got, want := readFile(t, file), other+"\r\n"; got != want {
		t.Errorf("%s after sanitize = %q, want %q", AdminKeysPath, got, want)
	}
}

// Any root other than the running system's refuses account changes on
// Windows, before anything is recorded.
func TestOfflineWindowsRefused(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	m := NewWindowsManager(root, nil, OfflineAccounts{Root: root})
	if _, err := m.Ensure(ctx, User{Name: "bob", Keys: []string{keyA}}); !errors.Is(err, ErrOfflineWindows) || !strings.Contains(err.Error(), root) {
		t.Errorf("Ensure(offline) = %v, want ErrOfflineWindows naming %s", err, root)
	}
	if _, err := Reserve(ctx, m, "/state", ReserveRequest{User: "res1", Keys: []string{keyA}}, time.Now()); !errors.Is(err, ErrOfflineWindows) {
		t.Errorf("Reserve(offline) = %v, want ErrOfflineWindows", err)
	}
	if rs, err := Reservations(root, "/state"); err != nil || len(rs) != 0 {
		t.Errorf("Reservations after a refused reserve = %v, %v; want none", rs, err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
