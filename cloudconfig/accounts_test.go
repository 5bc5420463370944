package cloudconfig

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/users"
)

// TestEnsureAccounts: groups first, then user-data's users with the
// groups that list them, then chpasswd's accounts, then the members left
// (existing accounts) joining theirs, in name order, each group once.
func TestEnsureAccounts(t *testing.T) {
	c, err := Parse([]byte(`#cloud-config
groups:
  - ops: [zed, carol, alice]
  - dev: [carol]
users:
  - default
  - name: alice
    groups: [staff]
chpasswd:
  expire: false
  users:
    - {name: bob, password: s3cret-pw}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := Accounts{Default: users.User{Name: "debian"}}
	for _, cu := range c.Users {
		u, _, errs := cu.Account()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		a.Users = append(a.Users, u)
	}
	a.Passwords = []users.User{{Name: "bob"}}
	var log []string
	done, err := c.EnsureAccounts(context.Background(), a,
		func(_ context.Context, name string) (bool, error) {
			log = append(log, "group "+name)
			return name == "ops", nil
		},
		func(u users.User) error {
			log = append(log, fmt.Sprintf("user %s %s", u.Name, strings.Join(u.Groups, ",")))
			return nil
		})
	if err != nil {
		t.Fatalf("EnsureAccounts() = %v", err)
	}
	want := []string{"group ops", "group dev", "user alice staff,ops", "user bob ", "user carol ops,dev", "user zed ops"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("EnsureAccounts() calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"group ops", "user alice", "user bob", "user carol", "user zed"}, done); diff != "" {
		t.Errorf("EnsureAccounts() done (-want +got):\n%s", diff)
	}
}

// TestAccountPathsCheckedAsUsersDoes: a user-data user's homedir and shell
// are checked by users.CheckPath, the rule the user step applies: a NUL
// (YAML's "\0") is refused when the plan is made, not after the host name
// and the network have changed.
func TestAccountPathsCheckedAsUsersDoes(t *testing.T) {
	c, err := Parse([]byte("#cloud-config\nusers:\n  - name: alice\n    homedir: \"/home/a\\0b\"\n    shell: \"/bin/s\\0h\"\n  - name: bob\n    homedir: /srv/bob\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, errs := c.Users[0].Account()
	want := []string{`homedir: want an absolute path without ':', got "/home/a\x00b"`, `shell: want an absolute path without ':', got "/bin/s\x00h"`}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if !cmp.Equal(got, want) && !cmp.Equal(got, []string{want[1], want[0]}) {
		t.Errorf("Account(alice) errors = %q, want %q", got, want)
	}
	if u, _, errs := c.Users[1].Account(); len(errs) > 0 || u.Home != "/srv/bob" {
		t.Errorf("Account(bob) = %+v, %v", u, errs)
	}
	if err := users.CheckPath("/home/a\x00b"); err == nil {
		t.Errorf("users.CheckPath(NUL) = nil, want an error")
	}
}
