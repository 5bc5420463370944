//go:build !windows

package packaging

import (
	"fmt"
	"runtime"
)

// SetRecovery sets Windows service recovery actions; elsewhere the init
// system's own restart policy is in the service definition.
func SetRecovery() error {
	return fmt.Errorf("service recovery actions are a Windows feature, not available on %s", runtime.GOOS)
}
