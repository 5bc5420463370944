package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The first log line says how long ago the process was started and how
// much of it came before main; both from /proc, so both must be sane.
func TestStartupAttrs(t *testing.T) {
	a := startupAttrs()
	m := map[string]any{}
	for i := 0; i+1 < len(a); i += 2 {
		m[a[i].(string)] = a[i+1]
	}
	if _, ok := m["major_faults"]; !ok {
		t.Fatalf("startupAttrs() = %v, want major_faults", a)
	}
	since, ok1 := m["since_exec"].(time.Duration)
	before, ok2 := m["before_main"].(time.Duration)
	if !ok1 && !ok2 && os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user (crosstest.sh), which emulates /proc/self/stat: its start time is not the process's")
	}
	if !ok1 || !ok2 {
		t.Fatalf("startupAttrs() = %v, want since_exec and before_main durations", a)
	}
	// /proc's clocks tick in 10 ms: allow two ticks either way.
	if since < time.Since(mainAt)-20*time.Millisecond || since > time.Since(mainAt)+time.Minute {
		t.Errorf("since_exec = %v, but main began %v ago", since, time.Since(mainAt))
	}
	if before < -20*time.Millisecond || before > since+20*time.Millisecond {
		t.Errorf("before_main = %v, want between 0 and since_exec %v", before, since)
	}
}

// The line after the pipeline says what it cost in CPU time: ovfinit's own
// (this test has burnt some) and its commands'.
func TestCostAttrs(t *testing.T) {
	for x, deadline := 0, time.Now().Add(30*time.Millisecond); time.Now().Before(deadline); x++ {
		_ = x * x
	}
	a := costAttrs()
	m := map[string]any{}
	for i := 0; i+1 < len(a); i += 2 {
		m[a[i].(string)] = a[i+1]
	}
	cpu, ok := m["cpu"].(time.Duration)
	if !ok || cpu <= 0 {
		t.Fatalf("costAttrs() = %v, want a positive cpu duration", a)
	}
	if c, ok := m["children_cpu"].(time.Duration); !ok || c < 0 {
		t.Errorf("costAttrs() = %v, want children_cpu, not negative", a)
	}
	if _, ok := m["max_rss_kib"]; !ok {
		t.Errorf("costAttrs() = %v, want max_rss_kib", a)
	}
}

// TestPrefetch: prefetch reads a file into the page cache without anyone
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
	if err := prefetch(name); err != nil {
		t.Fatalf("prefetch() = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for resident() < 0.9 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := resident(); r < 0.9 {
		t.Errorf("after prefetch %.0f%% of the file is in the page cache, want all of it", r*100)
	}
}

// TestPrefetchRange: the whole file is asked for, in order, in chunks
// the kernel reads whole (it caps one WILLNEED at its readahead window,
// 128 KiB by default, so a single call for the file would read only its
// start).
func TestPrefetchRange(t *testing.T) {
	for _, size := range []int64{0, 1, prefetchChunk, prefetchChunk + 1, 14<<20 + 12345} {
		var next int64
		calls := 0
		err := prefetchRange(size, func(off, n int64) error {
			calls++
			if off != next || n <= 0 || n > prefetchChunk {
				t.Errorf("size %d: advise(%d, %d) after %d bytes, want the next chunk of at most %d", size, off, n, next, prefetchChunk)
			}
			next = off + n
			return nil
		})
		if err != nil || next != size {
			t.Errorf("size %d: covered %d bytes in %d calls, err %v; want all of it", size, next, calls, err)
		}
	}
}
