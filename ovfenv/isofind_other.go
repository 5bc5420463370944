//go:build !linux

package ovfenv

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Find is not implemented on this system: it scans Linux's /sys/block. The
// error wraps errors.ErrUnsupported.
func (f *ISOFinder) Find(ctx context.Context) (*Source, error) {
	return nil, fmt.Errorf("finding the OVF environment ISO on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
