//go:build linux || darwin || freebsd || netbsd || openbsd

package rootfs

import "golang.org/x/sys/unix"

func readlinkatSys(fd int, name string, buf []byte) (int, error) {
	return unix.Readlinkat(fd, name, buf)
}
