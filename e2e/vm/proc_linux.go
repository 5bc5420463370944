package vm

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts qemu in its own process group (a Ctrl-C in the
// terminal must reach the demo, which powers the guest off cleanly, not
// qemu) and has the kernel kill it if the harness dies without doing so
// (a go test timeout, say), so no orphaned VM keeps a core busy.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
