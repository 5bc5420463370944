//go:build linux || darwin || freebsd || netbsd || openbsd

package rootfs

import "golang.org/x/sys/unix"

func readlinkatSys(fd int, name string, buf []byte) (int, error) {
	return unix.Readlinkat(fd, name, buf)
}

func symlinkatSys(target string, fd int, name string) error {
	return unix.Symlinkat(target, fd, name)
}

func linkatSys(olddirfd int, oldname string, newdirfd int, newname string) error {
	return unix.Linkat(olddirfd, oldname, newdirfd, newname, 0)
}
