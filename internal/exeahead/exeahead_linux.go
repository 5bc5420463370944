package exeahead

import (
	"os"

	"golang.org/x/sys/unix"
)

func init() {
	if forRun(os.Args) {
		Prefetch("/proc/self/exe") // best effort: an error leaves the faults as they were
	}
}

// Prefetch asks the kernel to read the whole file into the page cache in
// the background (POSIX_FADV_WILLNEED), and returns at once.
func Prefetch(name string) error {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	return eachChunk(st.Size, func(off, n int64) error { return unix.Fadvise(fd, off, n, unix.FADV_WILLNEED) })
}
