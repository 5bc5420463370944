//go:build !linux

package callback

import "context"

// WatchNetwork does nothing on this OS: waiting events are retried on
// their backoff alone.
func WatchNetwork(ctx context.Context, changed func()) error { return nil }
