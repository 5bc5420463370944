//go:build !linux

package ovfenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
)

// Find is not implemented on this system: it scans Linux's /sys/block. The
// error wraps errors.ErrUnsupported.
func (f *ISOFinder) Find(ctx context.Context) (*Source, error) {
	return nil, fmt.Errorf("finding the OVF environment ISO on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// probeISO: the block device scan is Linux's; elsewhere the ISO transport
// is absent (the other transports still run).
func probeISO(root string, log *slog.Logger) (*Source, error) {
	return nil, fmt.Errorf("%w: the ISO transport scans Linux block devices, not %s", ErrNoEnvironment, runtime.GOOS)
}
