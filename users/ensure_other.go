//go:build !unix

package users

import (
	"fmt"
	"log/slog"
	"runtime"
)

// Ensure fails: creating accounts is implemented for Unix-like systems only.
func Ensure(root string, u User, log *slog.Logger) (*Account, error) {
	return nil, fmt.Errorf("creating users is not supported on %s yet", runtime.GOOS)
}
