//go:build !linux && !freebsd && !windows

package netcfg

import (
	"fmt"
	"runtime"
)

// NewSystem fails: live network configuration is implemented for Linux only.
func NewSystem(root string) (System, error) {
	return nil, fmt.Errorf("network configuration is not supported on %s yet", runtime.GOOS)
}
