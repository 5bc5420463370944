//go:build unix

package users

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"golang.org/x/sys/unix"
)

// NewManager returns a Manager for root that uses the OS's own tools where
// they exist (shadow-utils on Linux, pw on FreeBSD; they need root to work
// on another root) and edits the files itself otherwise (busybox and
// minimal images).
func NewManager(root string, log *slog.Logger) *Manager {
	m := &Manager{Root: root, Log: log, Run: cmdrun.Exec{Log: log}}
	if os.Geteuid() != 0 {
		return m
	}
	switch runtime.GOOS {
	case "linux":
		if haveTools("useradd", "usermod", "groupadd", "chpasswd", "chage", "userdel") {
			m.Flavor = FlavorShadow
		}
	case "freebsd":
		if haveTools("pw") {
			m.Flavor = FlavorPw
		}
	}
	return m
}

func haveTools(names ...string) bool {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return false
		}
	}
	return true
}

// lockPasswd takes the fcntl write lock on /etc/.pwd.lock that glibc's
// lckpwdf and shadow-utils take, waiting while another process holds it, so
// no other tool edits the files meanwhile. flock(2) would not exclude them.
func lockPasswd(root string) (func(), error) {
	const path = "/etc/.pwd.lock"
	rfs, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer rfs.Close()
	f, err := rfs.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
