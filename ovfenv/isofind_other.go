//go:build !linux

package ovfenv

import (
	"fmt"
	"log/slog"
	"runtime"
)

// probeISO: the block device scan is Linux's; elsewhere the ISO transport
// is absent (the other transports still run).
func probeISO(root string, log *slog.Logger) (*Source, error) {
	return nil, fmt.Errorf("%w: the ISO transport scans Linux block devices, not %s", ErrNoEnvironment, runtime.GOOS)
}
