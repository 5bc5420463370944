//go:build !linux

package ovfenv

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
)

// isoTransport is the ISO transport's probe (probeISO).
func isoTransport(o TransportOptions) func(ctx context.Context) (*Source, error) {
	return func(ctx context.Context) (*Source, error) { return probeISO(o.Root, o.Log) }
}

// probeISO: the block device scan is Linux's; elsewhere the ISO transport
// is absent (the other transports still run).
func probeISO(root string, log *slog.Logger) (*Source, error) {
	return nil, fmt.Errorf("%w: the ISO transport scans Linux block devices, not %s", ErrNoEnvironment, runtime.GOOS)
}
