package hostname

import (
	"context"

	"golang.org/x/sys/unix"
)

// Live sets the running kernel's host name to the short name.
func Live(_ context.Context, _, short string) (bool, error) {
	return false, unix.Sethostname([]byte(short))
}
