//go:build unix

package sshd

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/users"
)

// threadCount is the process's OS thread count (Linux /proc), or -1.
func threadCount() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

// TestKeyFileFIFODoesNotParkThreads is issue 13 defect 4: a user's FIFO as
// ~/.ssh/authorized_keys (and a FIFO as the key store or the shadow file)
// parked one OS thread per authentication attempt, forever. 300 attempts
// must each come back with a refusal and not grow the thread count.
func TestKeyFileFIFODoesNotParkThreads(t *testing.T) {
	if threadCount() < 0 {
		t.Skip("no /proc/self/status: cannot count threads here")
	}
	const attempts = 300
	const maxGrowth = 50
	uid := uint32(os.Geteuid())
	cases := []struct {
		name string
		fifo func(dir string) string // where the FIFO goes
		read func(dir string) error
	}{
		{"authorized_keys", func(dir string) string { return filepath.Join(dir, ".ssh", "authorized_keys") }, func(dir string) error {
			_, _, err := readAuthorizedKeys(&User{Name: "alice", UID: uid, Home: dir})
			return err
		}},
		{"key store", func(dir string) string { return filepath.Join(dir, "var/lib/ovfinit/keys/alice") }, func(dir string) error {
			_, err := users.StoredKeys(dir, "/var/lib/ovfinit", "alice")
			return err
		}},
		{"shadow", func(dir string) string { return filepath.Join(dir, "shadow") }, func(dir string) error {
			check, err := ShadowPasswords(filepath.Join(dir, "shadow"))
			if err != nil {
				return err
			}
			return check(&User{Name: "alice", UID: uid, Home: dir}, []byte("pw"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := c.fifo(dir)
			if err := os.MkdirAll(filepath.Dir(fifo), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			before := threadCount()
			errs := make(chan error, attempts)
			var wg sync.WaitGroup
			for range attempts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- c.read(dir)
				}()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			// Old code blocks in open(2) for good: unblock the readers at the
			// end by opening the FIFO for writing, so the test ends.
			defer func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if fd, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						syscall.Close(fd)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			peak := before
		wait:
			for {
				select {
				case <-done:
					break wait
				case <-time.After(20 * time.Millisecond):
				}
				peak = max(peak, threadCount())
				if peak-before > maxGrowth {
					t.Fatalf("%d attempts against a FIFO %s: threads grew from %d to %d (more than %d): they are parked", attempts, c.name, before, peak, maxGrowth)
				}
			}
			peak = max(peak, threadCount())
			close(errs)
			n := 0
			for err := range errs {
				n++
				if err == nil || (!errors.Is(err, rootfs.ErrNotRegular) && !strings.Contains(err.Error(), "not a regular file")) {
					t.Fatalf("attempt against a FIFO %s = %v, want a refusal (not a regular file)", c.name, err)
				}
			}
			if n != attempts {
				t.Fatalf("%d attempts returned, want %d", n, attempts)
			}
			t.Logf("%d attempts against a FIFO %s: threads %d before, %d at most during, %d after", attempts, c.name, before, peak, threadCount())
		})
	}
}
