package cloudconfig

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/internal/wine"
)

func TestWriteFiles(t *testing.T) {
	root := writeTree(t, map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1005:1006::/srv/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1006:\n",
		"etc/motd":   "old\n",
	})
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(root, "etc/escape"))
	files := []File{
		{Line: 2, Path: "/etc/motd", Content: []byte("new\n"), Owner: "root:root", Permissions: 0o644, Append: true},
		{Line: 3, Path: "/srv/app/conf", Content: []byte("x"), Owner: "app:app", Permissions: 0o600},
		{Line: 4, Path: "/srv/app/later", Content: []byte("y"), Owner: "app", Permissions: 0o755, Defer: true},
	}
	n, err := WriteFiles(root, files, false, slog.New(slog.DiscardHandler))
	if err != nil || n != 2 {
		t.Fatalf("WriteFiles() = %d, %v; want 2 files", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/motd")); string(b) != "old\nnew\n" {
		t.Errorf("appended motd = %q", b)
	}
	fi, err := os.Stat(filepath.Join(root, "srv/app/conf"))
	// Windows keeps only the read-only bit: Go reports 0666 for 0600.
	want := fs.FileMode(0o600)
	if runtime.GOOS == "windows" {
		want = 0o666
	}
	if err != nil || fi.Mode().Perm() != want {
		t.Fatalf("conf: %v, %v; want mode %v", fi, err, want)
	}
	if os.Geteuid() == 0 {
		if uid, gid, _ := rootfs.Owner(fi); uid != 1005 || gid != 1006 {
			t.Errorf("conf owner = %d:%d, want app:app (1005:1006)", uid, gid)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "srv/app/later")); err == nil {
		t.Errorf("a deferred file was written in the first pass")
	}
	if n, err := WriteFiles(root, files, true, slog.New(slog.DiscardHandler)); err != nil || n != 1 {
		t.Errorf("WriteFiles(deferred) = %d, %v", n, err)
	}
	// The link out of the tree: Wine's CreateSymbolicLinkW makes none.
	linked := true
	if fi, err := os.Lstat(filepath.Join(root, "etc/escape")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		if !wine.Detected() {
			t.Fatalf("etc/escape is no symbolic link: %v, %v", fi, err)
		}
		t.Logf("Wine lacks CreateSymbolicLinkW (it makes no link): the write through a link out of the tree is not checked")
		linked = false
	}
	for _, tc := range []struct {
		f    File
		want string
	}{
		{File{Line: 7, Path: "/x", Owner: "nobody", Permissions: 0o644}, "write_files (line 7) /x: owner nobody: no such user"},
		{File{Line: 8, Path: "/x", Owner: "app:staff", Permissions: 0o644}, "no such group staff"},
		{File{Line: 9, Path: "/etc/escape/x", Owner: "root", Permissions: 0o644}, "write_files (line 9) /etc/escape/x"},
	} {
		if tc.f.Path == "/etc/escape/x" && !linked {
			continue
		}
		if _, err := WriteFiles(root, []File{tc.f}, false, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WriteFiles(%+v) = %v, want %q", tc.f, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
		t.Errorf("a write through a link in the tree left the root")
	}
}

func TestPackageCommands(t *testing.T) {
	c := &Config{PackageUpdate: true, PackageUpgrade: true, Packages: []Package{{Name: "nginx"}, {Name: "libfoo", Version: "1.2"}}}
	for m, want := range map[string][][]string{
		"apt": {
			{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"},
			{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "--option=Dpkg::Options::=--force-confold", "--assume-yes", "--quiet", "dist-upgrade"},
			{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "--option=Dpkg::Options::=--force-confold", "--assume-yes", "--quiet", "install", "nginx", "libfoo=1.2"},
		},
		"dnf":    {{"dnf", "makecache"}, {"dnf", "-y", "upgrade"}, {"dnf", "-y", "install", "nginx", "libfoo-1.2"}},
		"zypper": {{"zypper", "--non-interactive", "refresh"}, {"zypper", "--non-interactive", "update"}, {"zypper", "--non-interactive", "install", "nginx", "libfoo=1.2"}},
		"apk":    {{"apk", "update"}, {"apk", "upgrade"}, {"apk", "add", "nginx", "libfoo=1.2"}},
	} {
		got, err := PackageCommands(m, c)
		if err != nil {
			t.Fatalf("PackageCommands(%s) = %v", m, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PackageCommands(%s) (-want +got):\n%s", m, diff)
		}
	}
	if _, err := PackageCommands("", c); err == nil {
		t.Errorf("PackageCommands(no manager) = nil error")
	}
	got, _ := PackageCommands("apt", &Config{Packages: []Package{{Name: "x"}}})
	if len(got) != 2 || got[0][3] != "update" {
		t.Errorf("PackageCommands(packages only) = %q, want update then install, as cloud-init", got)
	}
	root := writeTree(t, map[string]string{"usr/bin/dnf": ""})
	if m := DetectPackageManager(root); m != "dnf" {
		t.Errorf("DetectPackageManager() = %q, want dnf", m)
	}
}

func TestCommandArgv(t *testing.T) {
	for _, tc := range []struct {
		c    Command
		env  []string
		want []string
	}{
		{Command{Shell: "echo $HOME > /x"}, nil, []string{"/bin/sh", "-c", "echo $HOME > /x"}},
		{Command{Argv: []string{"ls", "-l"}}, nil, []string{"ls", "-l"}},
		{Command{Argv: []string{"ls"}}, []string{"INSTANCE_ID=i"}, []string{"env", "INSTANCE_ID=i", "ls"}},
	} {
		if got := CommandArgv(tc.c, tc.env...); !cmp.Equal(got, tc.want) {
			t.Errorf("CommandArgv(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
	for ps, want := range map[PowerState]string{
		{Mode: "poweroff"}:                         "shutdown -P now",
		{Mode: "reboot", Delay: 5, Message: "bye"}: "shutdown -r +5 bye",
		{Mode: "halt"}:                             "shutdown -H now",
	} {
		if got := strings.Join(PowerArgv(&ps), " "); got != want {
			t.Errorf("PowerArgv(%+v) = %q, want %q", ps, got, want)
		}
	}
}

func TestPostPhoneHome(t *testing.T) {
	PhoneHomeRetry = 0
	var calls atomic.Int32
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		r.ParseForm()
		got = r.URL.Path + " " + r.PostForm.Encode()
	}))
	defer srv.Close()
	ph := &PhoneHome{Line: 3, URL: srv.URL + "/$INSTANCE_ID", Post: []string{"instance_id", "pub_key_rsa"}, Tries: 2}
	if err := PostPhoneHome(context.Background(), srv.Client(), ph, map[string]string{"instance_id": "i-1", "hostname": "h"}); err != nil {
		t.Fatalf("PostPhoneHome() = %v", err)
	}
	if want := "/i-1 instance_id=i-1&pub_key_rsa=N%2FA"; got != want {
		t.Errorf("posted %q, want %q", got, want)
	}
	ph.Tries = 1
	calls.Store(0)
	if err := PostPhoneHome(context.Background(), srv.Client(), ph, nil); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("PostPhoneHome(failing) = %v, want an error naming line 3", err)
	}
}

func TestDecodeContent(t *testing.T) {
	for _, tc := range []struct{ content, enc, want string }{
		{"plain", "", "plain"},
		{"aGk=", "b64", "hi"},
		{"aGk=", "base64", "hi"},
		{"H4sIAAAAAAAAA8vIBACsKpPYAgAAAA==", "gz+b64", "hi"},
	} {
		got, err := decodeContent(tc.content, tc.enc)
		if err != nil || string(got) != tc.want {
			t.Errorf("decodeContent(%q, %q) = %q, %v; want %q", tc.content, tc.enc, got, err, tc.want)
		}
	}
	if _, err := decodeContent("x", "rot13"); err == nil {
		t.Errorf("decodeContent(rot13) = nil error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("#cloud-config\nusers: [default, {name: a, groups: b}]\nwrite_files: [{path: /x, content: y}]\n"))
	f.Add([]byte("#cloud-config\nchpasswd: {list: 'a:b'}\nruncmd: [[ls], echo]\n"))
	f.Add([]byte("#cloud-config\nphone_home: {url: 'http://x', post: all}\npower_state: {mode: reboot, delay: +1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil && c == nil {
			t.Fatalf("Parse() = nil, nil")
		}
	})
}

// TestWriteFilesOwnerLookup: write_files' owners are looked up as the C
// library looks them up (internal/passwd): the first line of a name wins,
// and a malformed line of that name is an error naming the file and line,
// not "no such user".
func TestWriteFilesOwnerLookup(t *testing.T) {
	root := writeTree(t, map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1005:1006::/srv/app:/bin/sh\napp:x:2000:2000::/x:/bin/sh\nbad:x:nope:1::/:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1006:\napp:x:2000:\nbadg:x:-1:\n",
	})
	fsys, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	d := &idDB{fsys: fsys}
	if uid, gid, err := d.owner("app:app"); err != nil || uid != 1005 || gid != 1006 {
		t.Errorf("owner(app:app) = %d, %d, %v; want 1005, 1006 (the first lines)", uid, gid, err)
	}
	for owner, want := range map[string]string{
		"bad":      "owner bad: /etc/passwd:4: bad: bad uid \"nope\"",
		"app:badg": "owner app:badg: /etc/group:4: badg: bad gid \"-1\"",
		"+app":     "owner +app: no such user",
	} {
		if _, _, err := d.owner(owner); err == nil || err.Error() != want {
			t.Errorf("owner(%q) = %v, want %q", owner, err, want)
		}
	}
}
