//go:build !linux && !freebsd && !windows

package hostname

import (
	"context"
	"fmt"
	"runtime"
)

// Live is not supported here: the error names the OS.
func Live(context.Context, string, string) (bool, error) {
	return false, fmt.Errorf("setting the live host name is not supported on %s", runtime.GOOS)
}
