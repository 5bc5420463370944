package memtrim

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadOnlyRanges(t *testing.T) {
	const maps = `00400000-009e9000 r-xp 00000000 fe:00 10019322                           /usr/sbin/ovfinit
009e9000-00fe4000 r--p 005e9000 fe:00 10019322                           /usr/sbin/ovfinit
00fe4000-0104a000 rw-p 00be4000 fe:00 10019322                           /usr/sbin/ovfinit
0104a000-0308e000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fe:00 42                         /usr/sbin/ovfinit.old
7f0000002000-7f0000003000 r--s 00000000 fe:00 10019322                   /usr/sbin/ovfinit
7fad85344000-7fad85346000 r-xp 00000000 00:00 0                          [vdso]
`
	tests := []struct {
		name, maps, path string
		want             [][2]uintptr
		wantErr          bool
	}{
		{"ovfinit", maps, "/usr/sbin/ovfinit", [][2]uintptr{{0x400000, 0x9e9000}, {0x9e9000, 0xfe4000}}, false},
		{"other path", maps, "/usr/bin/other", nil, false},
		{"path with a space", "00400000-00401000 r-xp 00000000 fe:00 1 /opt/my tools/ovfinit\n", "/opt/my tools/ovfinit", [][2]uintptr{{0x400000, 0x401000}}, false},
		{"bad range", "zz-00401000 r-xp 00000000 fe:00 1 /x\n", "/x", nil, true},
		{"empty range", "00401000-00401000 r-xp 00000000 fe:00 1 /x\n", "/x", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readOnlyRanges([]byte(tt.maps), tt.path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("readOnlyRanges(%q) error = %v, want error %v", tt.path, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readOnlyRanges(%q) (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func rssFileKiB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("RssFile %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestTrim checks that Trim unmaps pages of the running test binary and that
// the process keeps running (its code faults back in).
func TestTrim(t *testing.T) {
	before := rssFileKiB(t)
	r, err := Trim()
	if err != nil {
		t.Fatalf("Trim() error = %v", err)
	}
	after := rssFileKiB(t)
	if r.Executable == 0 {
		t.Errorf("Trim() = %+v, want a non-zero Executable", r)
	}
	if after >= before {
		t.Errorf("RssFile after Trim() = %d KiB, want less than before (%d KiB)", after, before)
	}
	t.Logf("RssFile %d KiB -> %d KiB; unmapped %d KiB", before, after, r.Executable>>10)
}
