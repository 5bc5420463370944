package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

func planFrom(t *testing.T, props ...string) (*Plan, error) {
	t.Helper()
	env, err := ovfenv.Parse([]byte(envXML(props...)))
	if err != nil {
		t.Fatal(err)
	}
	return BuildPlan(env, func() (netcfg.Current, netcfg.Applied, error) { return netcfg.Current{}, netcfg.Applied{}, nil })
}

func TestPlanUser(t *testing.T) {
	const hash = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"
	p, err := planFrom(t,
		"ovfinit.user", "bob", "password", hash, "ovfinit.user.uid", "2001", "ovfinit.user.group", "staff",
		"ovfinit.user.groups", "docker, video", "ovfinit.user.shell", "/bin/bash", "ovfinit.user.home", "/srv/bob",
		"ovfinit.user.admin", "yes", "ovfinit.user.lock-password", "false", "ovfinit.user.expire-password", "True")
	if err != nil {
		t.Fatalf("BuildPlan() = %v", err)
	}
	want := users.User{Name: "bob", UID: 2001, PrimaryGroup: "staff", Groups: []string{"docker", "video"},
		Shell: "/bin/bash", Home: "/srv/bob", Admin: true, ExpirePassword: true, Password: users.NewPassword(hash)}
	if diff := cmp.Diff(want, p.User, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b users.Password) bool {
		return fmt.Sprint(a.IsHash(), a.Set()) == fmt.Sprint(b.IsHash(), b.Set())
	})); diff != "" {
		t.Errorf("BuildPlan().User mismatch (-want +got):\n%s", diff)
	}
	if !p.User.Password.IsHash() {
		t.Errorf("password %q: yescrypt hash not recognised as a hash", hash)
	}
}

func TestPlanUserErrors(t *testing.T) {
	const secret = "hunter2:x"
	_, err := planFrom(t, "password", secret, "ovfinit.user.uid", "0", "ovfinit.user.groups", "ok,Bad",
		"ovfinit.user.shell", "bash", "ovfinit.user.admin", "maybe")
	if err == nil {
		t.Fatal("BuildPlan() = nil, want errors")
	}
	for _, w := range []string{"property password", "property ovfinit.user.uid", "property ovfinit.user.groups",
		"property ovfinit.user.shell", "property ovfinit.user.admin"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("BuildPlan() error %q does not mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("BuildPlan() error %q echoes the password", err)
	}
	if _, err := planFrom(t, "ovfinit.user.expire-password", "true"); err == nil || !strings.Contains(err.Error(), "needs a password") {
		t.Errorf("BuildPlan(expire without password) = %v, want a 'needs a password' error", err)
	}
}

func TestUserStepStoresKeys(t *testing.T) {
	m := newMachine(t)
	if _, _, err := m.boot(fullEnv("i-1")); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	keys, err := users.StoredKeys(m.root, "/var/lib/ovfinit", "ovfuser")
	if err != nil || len(keys) != 1 {
		t.Errorf("StoredKeys(ovfuser) = %v, %v; want the one public-keys key", keys, err)
	}
}
