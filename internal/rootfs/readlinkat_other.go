//go:build unix && !(linux || darwin || freebsd || netbsd || openbsd)

package rootfs

import "golang.org/x/sys/unix"

// readlinkatSys: x/sys has no readlinkat here, so links are never
// followed on this OS (an FS refuses them).
func readlinkatSys(int, string, []byte) (int, error) { return 0, unix.ENOTSUP }

// symlinkatSys: x/sys has no symlinkat here either; making links in an
// image tree is refused on this OS.
func symlinkatSys(string, int, string) error { return unix.ENOTSUP }

// linkatSys: no linkat in x/sys here; WriteFile's NoReplace falls back to
// an exclusive create.
func linkatSys(int, string, int, string) error { return unix.ENOTSUP }
