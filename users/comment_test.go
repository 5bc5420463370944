package users

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestComment: a new account's GECOS field (cloud-init's gecos) reaches
// passwd through every applier; one that would break the passwd line is
// refused.
func TestComment(t *testing.T) {
	o := Op{Kind: OpAddUser, Name: "bob", ID: 1001, GID: 1001, Home: "/home/bob", Shell: "/bin/sh", Comment: "Bob Builder"}
	for flavor, want := range map[string]string{
		FlavorShadow: "useradd -u 1001 -g 1001 -d /home/bob -s /bin/sh -m -c Bob Builder bob",
		FlavorPw:     "pw useradd bob -u 1001 -g 1001 -d /home/bob -s /bin/sh -m -c Bob Builder",
	} {
		if got := strings.Join(toolCommands(flavor, "/", o, time.Now())[0].argv, " "); got != want {
			t.Errorf("toolCommands(%s) = %q, want %q", flavor, got, want)
		}
	}
	db := ParseDB([]byte("root:x:0:0:root:/root:/bin/sh\n"), []byte("root:x:0:\n"), nil)
	if _, err := Plan(db, User{Name: "bob", Comment: "a:b"}); err == nil || !strings.Contains(err.Error(), "comment") {
		t.Errorf("Plan(comment with ':') = %v, want a comment error", err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	for name, content := range map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n", "etc/shadow": "root:*:1:0:99999:7:::\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &Manager{Root: root}
	if _, err := m.Ensure(t.Context(), User{Name: "bob", Comment: "Bob Builder"}); err != nil {
		t.Fatalf("Ensure() = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); !strings.Contains(string(b), "\nbob:x:1000:1000:Bob Builder:/home/bob:/bin/sh\n") {
		t.Errorf("/etc/passwd = %q, want bob with his comment", b)
	}
}
