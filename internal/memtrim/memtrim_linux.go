package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimExecutable drops the page-table entries of the executable's read-only
// file mappings (MADV_DONTNEED). Writable mappings are never touched: for a
// private mapping that would discard the process's own changes.
func trimExecutable() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("trimming the executable: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("trimming the executable: %w", err)
	}
	ranges, err := readOnlyRanges(maps, exe)
	if err != nil {
		return 0, fmt.Errorf("trimming the executable: /proc/self/maps: %w", err)
	}
	var total int64
	for _, r := range ranges {
		if err := madvise(r[0], r[1]-r[0], unix.MADV_DONTNEED); err != nil {
			return total, fmt.Errorf("trimming the executable: madvise %#x-%#x: %w", r[0], r[1], err)
		}
		total += int64(r[1] - r[0])
	}
	return total, nil
}

// madvise on an address range of this process's own mappings, which the Go
// heap does not own (x/sys's unix.Madvise takes a []byte).
func madvise(addr, length uintptr, advice int) error {
	_, _, e := unix.Syscall(unix.SYS_MADVISE, addr, length, uintptr(advice))
	if e != 0 {
		return e
	}
	return nil
}

// readOnlyRanges parses /proc/PID/maps text and returns the [start, end)
// ranges of the read-only, private mappings of the file path.
func readOnlyRanges(maps []byte, path string) ([][2]uintptr, error) {
	var out [][2]uintptr
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for line := 1; sc.Scan(); line++ {
		// 00400000-009e9000 r-xp 00000000 fe:00 10019322   /usr/sbin/ovfinit
		f := strings.Fields(sc.Text())
		if len(f) < 6 || strings.Join(f[5:], " ") != path {
			continue
		}
		perm := f[1]
		if len(perm) != 4 || perm[0] != 'r' || perm[1] != '-' || perm[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("line %d: address range %q", line, f[0])
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			return nil, fmt.Errorf("line %d: address range %q", line, f[0])
		}
		out = append(out, [2]uintptr{uintptr(a), uintptr(b)})
	}
	return out, sc.Err()
}
