//go:build unix && !aix

package sshd

import (
	"os"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// setWinsize sets the terminal size through the file's raw connection.
// (pty.Setsize calls File.Fd, which switches ptmx to blocking mode, so that
// closing it would no longer stop a pending Read.)
func setWinsize(f *os.File, w gliderssh.Window) error {
	ws := &unix.Winsize{Row: clampUint16(w.Height), Col: clampUint16(w.Width)}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) {
		ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws)
	}); err != nil {
		return err
	}
	return ioErr
}

func clampUint16(n int) uint16 {
	switch {
	case n < 0:
		return 0
	case n > 0xffff:
		return 0xffff
	}
	return uint16(n)
}
