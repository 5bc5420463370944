//go:build unix && !linux

package vm

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts qemu in its own process group.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
