//go:build unix

package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func openFS(t *testing.T) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, dir
}

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAbsoluteLinkStaysInRoot: in an offline image tree an absolute link
// means the image's path; it never resolves on the build host.
func TestAbsoluteLinkStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "hostname"), "host\n")

	t.Run("etc is a link to the host's directory", func(t *testing.T) {
		f, dir := openFS(t)
		if err := os.Symlink(outside, filepath.Join(dir, "etc")); err != nil {
			t.Fatal(err)
		}
		err := f.WriteFile("/etc/hostname", []byte("image\n"), 0o644, Keep)
		if b, _ := os.ReadFile(filepath.Join(outside, "hostname")); string(b) != "host\n" {
			t.Fatalf("WriteFile(/etc/hostname) through etc -> %s changed the host's file to %q (err %v)", outside, b, err)
		}
		if err == nil {
			// It may only have landed inside the root.
			if b, rerr := os.ReadFile(filepath.Join(dir, outside, "hostname")); rerr != nil || string(b) != "image\n" {
				t.Errorf("WriteFile succeeded but the file is not inside the root: %v", rerr)
			}
		}
	})
	t.Run("etc is a link to /etc", func(t *testing.T) {
		f, dir := openFS(t)
		if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
			t.Fatal(err)
		}
		// /etc -> /etc inside the root is a loop: an error, never the host.
		if err := f.WriteFile("/etc/ovfinit-rootfs-test", []byte("x"), 0o644, Keep); err == nil {
			t.Errorf("WriteFile through etc -> /etc = nil, want an error")
		}
		if _, err := os.Lstat("/etc/ovfinit-rootfs-test"); err == nil {
			os.Remove("/etc/ovfinit-rootfs-test")
			t.Fatalf("WriteFile wrote the build host's /etc")
		}
	})
	t.Run("absolute link to a directory of the image", func(t *testing.T) {
		f, dir := openFS(t)
		os.MkdirAll(filepath.Join(dir, "real", "etc"), 0o755)
		os.Symlink("/real/etc", filepath.Join(dir, "etc"))
		if err := f.WriteFile("/etc/hostname", []byte("image\n"), 0o644, Keep); err != nil {
			t.Fatalf("WriteFile = %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "real", "etc", "hostname")); err != nil || string(b) != "image\n" {
			t.Errorf("file under the link's image target = %q, %v; want image", b, err)
		}
		if b, err := f.ReadFile("etc/hostname", 100); err != nil || string(b) != "image\n" {
			t.Errorf("ReadFile(etc/hostname) = %q, %v", b, err)
		}
	})
	t.Run("dot dot", func(t *testing.T) {
		f, dir := openFS(t)
		if err := f.WriteFile("../../x", []byte("x"), 0o644, Keep); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err != nil {
			t.Errorf("../../x did not land at the root: %v", err)
		}
	})
}

// TestLinkInUserDirectoryRefused: a link in a directory that others than
// root can change is never followed, and a final link is replaced, not
// written through.
func TestLinkInUserDirectoryRefused(t *testing.T) {
	f, dir := openFS(t)
	mustWrite(t, filepath.Join(dir, "etc", "passwd"), "root:x:0:0::/root:/bin/sh\n")
	home := filepath.Join(dir, "home", "alice")
	os.MkdirAll(home, 0o755)
	os.Chmod(home, 0o777) // a directory others can change
	os.Symlink("../../etc", filepath.Join(home, "link"))

	err := f.WriteFile("/home/alice/link/passwd", []byte("pwned\n"), 0o644, Keep)
	if !errors.Is(err, ErrSymlink) {
		t.Errorf("WriteFile(/home/alice/link/passwd) = %v, want ErrSymlink", err)
	}
	if err := f.MkdirAll("/home/alice/link/sub", 0o755); !errors.Is(err, ErrSymlink) {
		t.Errorf("MkdirAll through the link = %v, want ErrSymlink", err)
	}
	if err := f.Chmod("/home/alice/link", 0o777); !errors.Is(err, ErrSymlink) {
		t.Errorf("Chmod(link) = %v, want ErrSymlink", err)
	}
	if err := f.AppendFile("/home/alice/link", []byte("x")); !errors.Is(err, ErrSymlink) {
		t.Errorf("AppendFile(link) = %v, want ErrSymlink", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "etc", "passwd")); string(b) != "root:x:0:0::/root:/bin/sh\n" {
		t.Fatalf("etc/passwd changed through a user's link: %q", b)
	}
	// A final link is replaced by the file.
	os.Symlink("../../etc/passwd", filepath.Join(home, "f"))
	if err := f.WriteFile("/home/alice/f", []byte("mine\n"), 0o600, Keep); err != nil {
		t.Fatalf("WriteFile(final link) = %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(home, "f")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("final link not replaced by a regular file: %v, %v", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "etc", "passwd")); string(b) != "root:x:0:0::/root:/bin/sh\n" {
		t.Fatalf("etc/passwd written through a final link: %q", b)
	}
	// RemoveAll removes the link, not what it points to.
	if err := f.RemoveAll("/home/alice/link"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc", "passwd")); err != nil {
		t.Errorf("RemoveAll(link) removed its target: %v", err)
	}
}

// TestReadFileRefusesFIFO: a FIFO is refused at once, not read.
func TestReadFileRefusesFIFO(t *testing.T) {
	f, dir := openFS(t)
	p := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := f.ReadFile("fifo", 100); !errors.Is(err, ErrNotRegular) {
		t.Errorf("FS.ReadFile(fifo) = %v, want ErrNotRegular", err)
	}
	if _, err := ReadFile(p, 100, Check{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile(fifo) = %v, want ErrNotRegular", err)
	}
	if _, err := ReadFile(dir, 100, Check{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile(dir) = %v, want ErrNotRegular", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none"), 100, Check{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want ErrNotExist", err)
	}
	mustWrite(t, filepath.Join(dir, "big"), "0123456789")
	if _, err := ReadFile(filepath.Join(dir, "big"), 5, Check{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile(10 bytes, limit 5) = %v, want ErrTooLarge", err)
	}
	os.Chmod(filepath.Join(dir, "big"), 0o666)
	if _, err := ReadFile(filepath.Join(dir, "big"), 100, Check{NotWritableByOthers: true}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile(mode 0666, NotWritableByOthers) = %v, want ErrUnsafe", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "big"), 100, Check{Owners: []int{os.Geteuid() + 1}}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile(other owner) = %v, want ErrUnsafe", err)
	}
}

// TestUserDir: ReadUserFile and Dir refuse links below the home.
func TestUserDir(t *testing.T) {
	f, dir := openFS(t)
	home := filepath.Join(dir, "home", "alice")
	os.MkdirAll(home, 0o700)
	mustWrite(t, filepath.Join(dir, "root", ".ssh", "authorized_keys"), "root key\n")
	os.Chmod(filepath.Join(dir, "root", ".ssh", "authorized_keys"), 0o600)
	os.Symlink("../../root/.ssh", filepath.Join(home, ".ssh"))
	uid := os.Geteuid()

	if _, err := ReadUserFile(home, ".ssh/authorized_keys", uid, 1<<20); !errors.Is(err, ErrSymlink) {
		t.Errorf("ReadUserFile(.ssh is a link) = %v, want ErrSymlink", err)
	}
	d, err := f.OpenDir("/home/alice")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.MkdirOwned(".ssh", 0o700, -1, -1, Check{}); !errors.Is(err, ErrSymlink) {
		t.Errorf("MkdirOwned(.ssh is a link) = %v, want ErrSymlink", err)
	}
	os.Remove(filepath.Join(home, ".ssh"))
	ssh, err := d.MkdirOwned(".ssh", 0o700, -1, -1, Check{Owners: TrustedOwners(uid), NotWritableByOthers: true})
	if err != nil {
		t.Fatalf("MkdirOwned(.ssh) = %v", err)
	}
	defer ssh.Close()
	os.Symlink("../../../root/.ssh/authorized_keys", filepath.Join(home, ".ssh", "authorized_keys"))
	if _, err := ssh.ReadFile("authorized_keys", 100, Check{}); !errors.Is(err, ErrSymlink) {
		t.Errorf("Dir.ReadFile(link) = %v, want ErrSymlink", err)
	}
	if _, err := ReadUserFile(home, ".ssh/authorized_keys", uid, 1<<20); !errors.Is(err, ErrSymlink) {
		t.Errorf("ReadUserFile(authorized_keys is a link) = %v, want ErrSymlink", err)
	}
	if err := ssh.WriteFile("authorized_keys", []byte("k\n"), 0o600, Keep); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadUserFile(home, ".ssh/authorized_keys", uid, 1<<20); err != nil || string(b) != "k\n" {
		t.Errorf("ReadUserFile = %q, %v; want the key written", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "root", ".ssh", "authorized_keys")); string(b) != "root key\n" {
		t.Errorf("root's authorized_keys changed: %q", b)
	}
}

// TestOpenDirRoot: the root itself opens as a Dir (a home directly under
// it, /root, is made in it), however it is named.
func TestOpenDirRoot(t *testing.T) {
	f, dir := openFS(t)
	for _, name := range []string{"/", "", ".", "/.."} {
		d, err := f.OpenDir(name)
		if err != nil {
			t.Fatalf("OpenDir(%q) = %v, want the root", name, err)
		}
		sub, err := d.MkdirOwned("root", 0o700, -1, -1, Check{})
		if err != nil {
			t.Fatalf("OpenDir(%q).MkdirOwned(root) = %v", name, err)
		}
		sub.Close()
		d.Close()
		if fi, err := os.Stat(filepath.Join(dir, "root")); err != nil || !fi.IsDir() {
			t.Fatalf("after OpenDir(%q).MkdirOwned: %s/root = %v, %v; want a directory in the root", name, dir, fi, err)
		}
		os.Remove(filepath.Join(dir, "root"))
	}
}
