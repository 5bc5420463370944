//go:build linux

package agent

import "golang.org/x/sys/unix"

func setKernelHostname(name string) error { return unix.Sethostname([]byte(name)) }
