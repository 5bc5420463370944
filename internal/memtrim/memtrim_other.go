//go:build !linux

package memtrim

import (
	"fmt"
	"runtime"
)

func trimExecutable() (int64, error) {
	return 0, fmt.Errorf("trimming the executable's pages is not implemented on %s", runtime.GOOS)
}
