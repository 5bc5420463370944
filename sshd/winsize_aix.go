//go:build aix

package sshd

import (
	"fmt"
	"os"
	"runtime"

	gliderssh "github.com/gliderlabs/ssh"
)

func setWinsize(f *os.File, w gliderssh.Window) error {
	return fmt.Errorf("pseudo-terminals are not supported on %s", runtime.GOOS)
}
