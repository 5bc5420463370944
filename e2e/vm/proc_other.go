//go:build !unix

package vm

import "os/exec"

// setProcessGroup does nothing here: the VM tests run qemu on Linux hosts.
func setProcessGroup(cmd *exec.Cmd) {}
