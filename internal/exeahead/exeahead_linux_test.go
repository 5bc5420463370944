package exeahead

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestPrefetch: Prefetch reads a file into the page cache without anyone
// touching its pages (mincore counts them), so the binary's later page
// faults find their pages there.
func TestPrefetch(t *testing.T) {
	name := filepath.Join(t.TempDir(), "exe")
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	resident := func() float64 {
		vec := make([]byte, (len(data)+os.Getpagesize()-1)/os.Getpagesize())
		if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
			t.Fatal(e)
		}
		n := 0
		for _, v := range vec {
			n += int(v & 1)
		}
		return float64(n) / float64(len(vec))
	}
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	if r := resident(); r > 0.5 {
		t.Skipf("the file system keeps %.0f%% of the file cached after DONTNEED (tmpfs?): nothing to measure", r*100)
	}
	if err := Prefetch(name); err != nil {
		t.Fatalf("prefetch() = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for resident() < 0.9 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := resident(); r < 0.9 {
		t.Errorf("after Prefetch %.0f%% of the file is in the page cache, want all of it", r*100)
	}
}

// TestEachChunk: the whole file is asked for, in order, in chunks
// the kernel reads whole (it caps one WILLNEED at its readahead window,
// 128 KiB by default, so a single call for the file would read only its
// start).
func TestEachChunk(t *testing.T) {
	for _, size := range []int64{0, 1, chunk, chunk + 1, 14<<20 + 12345} {
		var next int64
		calls := 0
		err := eachChunk(size, func(off, n int64) error {
			calls++
			if off != next || n <= 0 || n > chunk {
				t.Errorf("size %d: advise(%d, %d) after %d bytes, want the next chunk of at most %d", size, off, n, next, chunk)
			}
			next = off + n
			return nil
		})
		if err != nil || next != size {
			t.Errorf("size %d: covered %d bytes in %d calls, err %v; want all of it", size, next, calls, err)
		}
	}
}

// TestForRun: the readahead is for `ovfinit run` alone, the boot's
// command; `ovfinit status` run by a user does not read 14 MB.
func TestForRun(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"/usr/sbin/ovfinit", "run"}, true},
		{[]string{"/usr/sbin/ovfinit", "run", "--log-level", "debug"}, true},
		{[]string{"/usr/sbin/ovfinit", "status"}, false},
		{[]string{"/usr/sbin/ovfinit", "version", "run"}, false},
		{[]string{"/usr/sbin/ovfinit"}, false},
		{nil, false},
	} {
		if got := forRun(c.args); got != c.want {
			t.Errorf("forRun(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}
