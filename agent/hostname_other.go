//go:build !linux

package agent

import (
	"fmt"
	"runtime"
)

func setKernelHostname(name string) error {
	return fmt.Errorf("setting the live host name is not supported on %s yet", runtime.GOOS)
}
