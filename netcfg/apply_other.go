//go:build !linux && !freebsd && !windows

package netcfg

import (
	"errors"
	"fmt"
	"runtime"
)

// NewSystem fails: live network configuration is implemented for Linux only.
func NewSystem(root string) (System, error) {
	return nil, fmt.Errorf("network configuration is not supported on %s yet", runtime.GOOS)
}

// IsLinkGone says whether err is an op's failure because the interface it
// names does not exist (any more); only Linux's netlink tells that apart
// (and ErrLinkGone, which fakes return).
func IsLinkGone(err error) bool { return errors.Is(err, ErrLinkGone) }
