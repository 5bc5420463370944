//go:build unix

package scripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileRefusesUserLinks is issue 13 defect 1 for file.*: a link a user
// left in a directory they can change (their home; here a directory
// others may write) is never followed by a script running as root, while
// a link root made in a directory only root can change (merged /usr's
// lib -> usr/lib) still is.
func TestFileRefusesUserLinks(t *testing.T) {
	env, _ := testEnv(t, nil)
	root := env.Root
	const passwd = "root:x:0:0::/root:/bin/sh\n"
	for p, data := range map[string]string{"etc/passwd": passwd, "usr/lib/os-release": "ID=test\n"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(data), 0o644)
	}
	home := filepath.Join(root, "home", "alice")
	os.MkdirAll(home, 0o755)
	os.Chmod(home, 0o777) // the user's: others than root change it
	os.Symlink("../../etc", filepath.Join(home, "cfg"))
	os.Symlink("../../etc/passwd", filepath.Join(home, "notes"))
	os.Symlink("usr/lib", filepath.Join(root, "lib"))

	for _, src := range []string{
		`file.write("/home/alice/cfg/passwd", "pwned\n")`,
		`file.append("/home/alice/cfg/passwd", "pwned\n")`,
		`file.append("/home/alice/notes", "pwned\n")`,
		`file.chmod("/home/alice/cfg/passwd", 0o666)`,
		`file.chmod("/home/alice/notes", 0o666)`,
		`file.mkdir("/home/alice/cfg/new")`,
		`file.remove("/home/alice/cfg/passwd")`,
	} {
		err := run(t, src, env)
		if err == nil || !strings.Contains(err.Error(), "symbolic link not followed") {
			t.Errorf("Run(%q) = %v, want a refused symbolic link", src, err)
		}
	}
	fi, err := os.Stat(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc", "passwd")); string(b) != passwd || fi.Mode().Perm() != 0o644 {
		t.Fatalf("etc/passwd changed through a user's link: %q, mode %v", b, fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(root, "etc", "new")); err == nil {
		t.Errorf("file.mkdir made etc/new through a user's link")
	}

	// file.write replaces a link at the path, never writes through it.
	if err := run(t, `file.write("/home/alice/notes", "mine\n")`, env); err != nil {
		t.Fatalf("file.write over a link = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc", "passwd")); string(b) != passwd {
		t.Fatalf("file.write wrote through a link: etc/passwd = %q", b)
	}

	// Root's own links are followed.
	if err := run(t, `file.write("/lib/x.conf", "ok\n")
if file.read("/lib/os-release") != "ID=test\n":
    fail("read through lib -> usr/lib")`, env); err != nil {
		t.Fatalf("Run(through lib -> usr/lib) = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "usr", "lib", "x.conf")); err != nil || string(b) != "ok\n" {
		t.Errorf("usr/lib/x.conf = %q, %v; want the file written through lib -> usr/lib", b, err)
	}
}
