package users

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// KillUser returns a function that ends every process of a uid on the live
// system, SSH sessions included, by SIGKILL through /proc.
func KillUser() func(uid int) error {
	return func(uid int) error {
		return killUID("/proc", uid, func(pid int) error {
			err := unix.Kill(pid, unix.SIGKILL)
			time.Sleep(10 * time.Millisecond) // let it go before looking again
			return err
		}, 20)
	}
}

func isNoProcess(err error) bool { return errors.Is(err, unix.ESRCH) }
