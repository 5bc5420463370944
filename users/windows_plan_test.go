package users

import (
	"context"
	"fmt"
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
		{"new, keys only", nil, User{Name: "bob"}, []string{"NetUserAdd bob password=false"}},
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
	want := []string{"NetUserAdd res1 password=false", "NetLocalGroupAddMembers Administratoren res1", "NetUserDel res1"}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}
