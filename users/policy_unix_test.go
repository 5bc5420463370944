//go:build unix

package users

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// policyImage is an image tree for the account checks: a system account,
// an ordinary one, a system group, a group with members, /etc/shells, a
// login.defs with an old-style UID_MIN of 500, and /home/carol, which
// belongs to whoever runs the test.
func policyImage(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\nbobby:x:1000:1000::/home/bobby:/bin/sh\n",
		"etc/group":      "root:x:0:\nsudo:x:27:\nshadow:x:42:\ndocker:x:999:\nbobby:x:1000:\nlabs:x:1200:bobby\nleft:x:1300:\n",
		"etc/shells":     "# comment\n/bin/sh\n/bin/bash\n",
		"etc/login.defs": "# login.defs\nUID_MIN   500\nUID_MAX  60000\n",
	})
	if err := os.MkdirAll(filepath.Join(root, "home/carol"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(root, "home/link")); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 4000 {
		t.Skip("the test's own uid is 4000, the uid the home check needs to differ from")
	}
	return root
}

// TestImageCheck (issue 13, defect 13 and the system-account policy): each
// clash and each policy refusal comes back as an error naming its field;
// AllowSystem turns the policy ones, and only those, into warnings.
func TestImageCheck(t *testing.T) {
	im, err := ReadImage(policyImage(t))
	if err != nil {
		t.Fatal(err)
	}
	if im.UIDMin != 500 || im.UIDMax != 60000 {
		t.Errorf("ReadImage: UID_MIN..UID_MAX = %d..%d, want 500..60000 from login.defs", im.UIDMin, im.UIDMax)
	}
	tests := []struct {
		name      string
		u         User
		field     string // "" when accepted
		system    bool
		wantInErr string
	}{
		{"ordinary new user", User{Name: "alice", Shell: "/bin/bash", Groups: []string{"docker"}}, "", false, ""},
		{"uid in the image's ordinary range", User{Name: "alice", UID: 600}, "", false, ""},
		{"nologin needs no /etc/shells entry", User{Name: "alice", Shell: "/usr/sbin/nologin"}, "", false, ""},
		{"existing ordinary user as it is", User{Name: "bobby", UID: 1000, Home: "/home/bobby/", Shell: "/bin/sh", PrimaryGroup: "bobby"}, "", false, ""},
		{"leftover own group of an interrupted run", User{Name: "left"}, "", false, ""},
		{"home of the new user's uid already", User{Name: "carol"}, "", false, ""},
		{"uid taken", User{Name: "alice", UID: 1000}, FieldUID, false, "taken by bobby"},
		{"existing user, other uid", User{Name: "bobby", UID: 1001}, FieldUID, false, "exists with uid 1000"},
		{"existing user, other group", User{Name: "bobby", PrimaryGroup: "labs"}, FieldGroup, false, "primary group id 1000"},
		{"existing user, other home", User{Name: "bobby", Home: "/srv/bobby"}, FieldHome, false, "exists with home"},
		{"existing user, other shell", User{Name: "bobby", Shell: "/bin/bash"}, FieldShell, false, "exists with shell"},
		{"own group is a system group", User{Name: "docker"}, FieldName, false, "system group named docker"},
		{"own group has members", User{Name: "labs"}, FieldName, false, "members (bobby)"},
		{"home belongs to someone else", User{Name: "dave", UID: 4000, Home: "/home/carol"}, FieldHome, false, "belongs to uid"},
		{"home is a symlink", User{Name: "link", UID: 4000}, FieldHome, false, "symbolic link"},
		{"system account", User{Name: "daemon"}, FieldName, true, "uid 1; ordinary accounts have 500-60000"},
		{"nobody is a system account too", User{Name: "nobody"}, FieldName, true, "uid 65534"},
		{"system uid", User{Name: "alice", UID: 499}, FieldUID, true, "499 is a system uid"},
		{"another user's own group", User{Name: "alice", Groups: []string{"labs", "bobby"}}, FieldGroups, true, "own group of user bobby"},
		{"another user's own group as primary", User{Name: "alice", PrimaryGroup: "bobby"}, FieldGroup, true, "own group of user bobby"},
		{"shell not listed", User{Name: "alice", Shell: "/usr/bin/python3"}, FieldShell, true, "/etc/shells"},
		{"home in a protected directory", User{Name: "alice", Home: "/srv/state/alice"}, FieldHome, false, "ovfinit's own directories"},
	}
	im.Protected = []string{"/srv/state"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "home of the new user's uid already" {
				// /home/carol belongs to the test's uid: a new carol with that
				// uid may take it; another uid may not.
				tt.u.UID = os.Getuid()
				if tt.u.UID > 60000 || tt.u.UID < 500 {
					t.Skip("the test's uid is not an ordinary one")
				}
			}
			w, errs := im.Check(tt.u)
			if len(w) != 0 {
				t.Errorf("Check(%+v) warnings = %v, want none without AllowSystem", tt.u, w)
			}
			if tt.field == "" {
				if len(errs) != 0 {
					t.Errorf("Check(%+v) = %v, want no error", tt.u, errs)
				}
				return
			}
			if len(errs) != 1 || fieldsOf(errs)[0] != tt.field || !strings.Contains(errs[0].Error(), tt.wantInErr) {
				t.Fatalf("Check(%+v) = %v (fields %v), want one error on %s with %q", tt.u, errs, fieldsOf(errs), tt.field, tt.wantInErr)
			}
			tt.u.AllowSystem = true
			w, errs = im.Check(tt.u)
			if tt.system && (len(w) != 1 || len(errs) != 0) {
				t.Errorf("Check(%+v with AllowSystem) = warnings %v, errors %v; want it as one warning", tt.u, w, errs)
			}
			if !tt.system && (len(w) != 0 || len(errs) != 1) {
				t.Errorf("Check(%+v with AllowSystem) = warnings %v, errors %v; want the clash still an error", tt.u, w, errs)
			}
		})
	}
	if _, err := ReadImage(t.TempDir()); !errors.Is(err, ErrNoAccounts) {
		t.Errorf("ReadImage(empty tree) = %v, want ErrNoAccounts", err)
	}
}

// TestReserveRefusesSystem: reserve applies the same checks before it
// records anything: a name whose own group is a system group (it would
// become the user's primary group), or a home that belongs to someone else.
func TestReserveRefusesSystem(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct{ user, want string }{
		{"docker", "system group named docker"},
		{"carol", "/home/carol exists and belongs to uid"},
	} {
		root := policyImage(t)
		m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
		before, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
		_, err := Reserve(ctx, m, stateDir, ReserveRequest{User: tt.user, Keys: []string{keyA}}, testDay)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--user "+tt.user) {
			t.Errorf("Reserve(%s) = %v, want an error naming --user with %q", tt.user, err, tt.want)
		}
		if rs, _ := Reservations(root, stateDir); len(rs) != 0 {
			t.Errorf("Reserve(%s) failed but recorded %v", tt.user, rs)
		}
		if after, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); string(after) != string(before) {
			t.Errorf("Reserve(%s) failed but changed /etc/passwd: %q", tt.user, after)
		}
		if _, err := os.Stat(filepath.Join(root, "home/carol/.ssh")); err == nil {
			t.Errorf("Reserve(%s) wrote into /home/carol", tt.user)
		}
	}
}
