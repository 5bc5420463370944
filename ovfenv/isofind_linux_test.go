//go:build linux

package ovfenv

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// fakeDevice is one block device of a fake /sys and /dev tree.
type fakeDevice struct {
	name      string
	removable bool
	size      int64  // /sys/block/NAME/size in 512-byte sectors; -1: len(image)/512
	image     []byte // nil: no /dev node
}

func addDevice(t *testing.T, root string, d fakeDevice) {
	t.Helper()
	sys := filepath.Join(root, "sys", "block", d.name)
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	size := d.size
	if size < 0 {
		size = int64(len(d.image)+511) / 512
	}
	removable := "0\n"
	if d.removable {
		removable = "1\n"
	}
	write := func(path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		// Write then rename, so a Find running meanwhile never sees half.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	if d.image != nil {
		write(filepath.Join(root, "dev", d.name), d.image)
	}
	write(filepath.Join(sys, "removable"), []byte(removable))
	write(filepath.Join(sys, "size"), []byte(strconv.FormatInt(size, 10)+"\n"))
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestFind(t *testing.T) {
	envISO := goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})
	otherEnv := []byte(strings.Replace(string(sampleEnv), "h1", "h2", 1))
	otherISO := goISO(t, "OVF_ENV", map[string][]byte{"ovf_env.xml": otherEnv})
	cidata := goISO(t, "CIDATA", map[string][]byte{"meta-data": []byte("x")})
	noFile := goISO(t, "OVF ENV", map[string][]byte{"readme.txt": []byte("x")})
	corrupt := bytes.Clone(envISO)
	corrupt[pvdOffset+156] = 0
	disk := make([]byte, 64<<10)

	tests := []struct {
		name    string
		devices []fakeDevice
		wantDev string // "" means an error is wanted
		want    []byte
		wantErr []string // substrings of the error
		broken  bool     // the error is ErrBrokenMedium, not ErrNoEnvironment
	}{
		{
			name: "cd-rom",
			devices: []fakeDevice{
				{name: "loop0", size: -1, image: envISO},
				{name: "sda", size: -1, image: disk},
				{name: "sr0", removable: true, size: -1, image: envISO},
			},
			wantDev: "sr0", want: sampleEnv,
		},
		{
			name: "cd-roms before removable before the rest",
			devices: []fakeDevice{
				{name: "sda", size: -1, image: envISO},
				{name: "sdb", removable: true, size: -1, image: envISO},
				{name: "sr1", size: -1, image: otherISO},
			},
			wantDev: "sr1", want: otherEnv,
		},
		{
			name: "removable before the rest",
			devices: []fakeDevice{
				{name: "sda", size: -1, image: envISO},
				{name: "vdb", removable: true, size: -1, image: otherISO},
			},
			wantDev: "vdb", want: otherEnv,
		},
		{
			name: "a plain disk holding the image",
			devices: []fakeDevice{
				{name: "sr0", size: 0},
				{name: "vda", size: -1, image: disk},
				{name: "vdb", size: -1, image: otherISO},
			},
			wantDev: "vdb", want: otherEnv,
		},
		{
			name: "every way to be rejected",
			devices: []fakeDevice{
				{name: "loop0", size: -1, image: envISO},
				{name: "ram0", size: -1, image: envISO},
				{name: "sr0", removable: true, size: 0},
				{name: "sr1", size: -1, image: cidata},
				{name: "sr2", size: -1, image: noFile},
				{name: "sr3", size: -1, image: corrupt},
				{name: "sr4", size: 100},
				{name: "vda", size: -1, image: disk},
			},
			wantErr: []string{
				"loop0: skipped", "ram0: skipped",
				"sr0: no medium (size 0)",
				`sr1: label "CIDATA" is not an OVF environment label`,
				`sr2: ISO labelled "OVF ENV": no ovf-env.xml or ovf_env.xml in the ISO root directory (found "readme.txt")`,
				`sr3: ISO labelled "OVF ENV": volume descriptor at sector 16: root directory record: record length 0`,
				"sr4: opening", "sr4: no such file or directory",
				"vda: not an ISO 9660 image: no primary volume descriptor at byte 32768",
			},
			broken: true,
		},
		{
			name: "a broken medium does not hide a good one",
			devices: []fakeDevice{
				{name: "sr0", size: -1, image: corrupt},
				{name: "sr1", size: -1, image: envISO},
			},
			wantDev: "sr1", want: sampleEnv,
		},
		{
			name: "by content: an ISO with another label",
			devices: []fakeDevice{
				{name: "sr0", size: -1, image: cidata},
				{name: "vdb", size: -1, image: goISO(t, "CONFIG", map[string][]byte{"ovf-env.xml": sampleEnv})},
			},
			wantDev: "vdb", want: sampleEnv,
		},
		{
			name: "by content: a raw device padded with NULs",
			devices: []fakeDevice{
				{name: "vdb", size: -1, image: append(append([]byte(nil), sampleEnv...), make([]byte, 4096)...)},
			},
			wantDev: "vdb", want: bytes.TrimSpace(sampleEnv),
		},
		{
			name: "by content: XML in another namespace is not ours",
			devices: []fakeDevice{
				{name: "vdb", size: -1, image: append([]byte(`<config xmlns="urn:x"/>`), make([]byte, 4096)...)},
				{name: "vdc", size: -1, image: goISO(t, "CONFIG", map[string][]byte{"ovf-env.xml": []byte("<x/>")})},
			},
			wantErr: []string{"vdb: not an ISO 9660 image", "does not use the namespace", `vdc: label "CONFIG" is not an OVF environment label, and its`},
		},
		{
			name:    "no block devices",
			wantErr: []string{"listing block devices", "no such file or directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range tt.devices {
				addDevice(t, root, d)
			}
			src, err := isoProber(t, root, 0, 0).Probe(t.Context())
			if tt.wantDev == "" {
				if err == nil {
					t.Fatalf("Probe() = %+v, nil; want an error", src)
				}
				if tt.broken && !errors.Is(err, ErrBrokenMedium) {
					t.Errorf("Probe() error %q does not wrap ErrBrokenMedium", err)
				}
				if !tt.broken && !errors.Is(err, ErrNoEnvironment) {
					t.Errorf("Probe() error %q does not wrap ErrNoEnvironment", err)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Probe() error = %q\nwant it to contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Probe() error: %v", err)
			}
			wantLoc := filepath.Join(root, "dev", tt.wantDev)
			if src.Transport != TransportISO || src.Location != wantLoc || !bytes.Equal(src.Data, tt.want) {
				t.Errorf("Probe() = %q, %q, %q; want %q, %q, %q", src.Transport, src.Location, src.Data, TransportISO, wantLoc, tt.want)
			}
		})
	}
}

// TestFindWaits starts Find before the medium is there.
func TestFindWaits(t *testing.T) {
	root := t.TempDir()
	addDevice(t, root, fakeDevice{name: "sr0", size: 0}) // empty drive
	const delay = 300 * time.Millisecond
	go func() {
		time.Sleep(delay)
		addDevice(t, root, fakeDevice{name: "sr0", size: -1, image: goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})})
	}()
	p := isoProber(t, root, 10*time.Second, 20*time.Millisecond)
	start := time.Now()
	src, err := p.Probe(t.Context())
	if err != nil {
		t.Fatalf("Probe() error: %v", err)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("Probe() returned after %v, before the medium appeared (%v)", elapsed, delay)
	}
	if !bytes.Equal(src.Data, sampleEnv) {
		t.Errorf("Probe() data = %q, want %q", src.Data, sampleEnv)
	}
}

func TestFindTimeout(t *testing.T) {
	root := t.TempDir()
	addDevice(t, root, fakeDevice{name: "sr0", size: 0})
	addDevice(t, root, fakeDevice{name: "vda", size: -1, image: make([]byte, 40<<10)})
	p := isoProber(t, root, 200*time.Millisecond, 30*time.Millisecond)
	start := time.Now()
	_, err := p.Probe(t.Context())
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Probe() = nil error, want a timeout")
	}
	if elapsed < p.Wait || elapsed > p.Wait+2*time.Second {
		t.Errorf("Probe() returned after %v, want about %v", elapsed, p.Wait)
	}
	if !errors.Is(err, ErrNoEnvironment) {
		t.Errorf("Probe() error %q does not wrap ErrNoEnvironment", err)
	}
	for _, want := range []string{"no OVF environment found within 200ms", "rounds over", "sr0: no medium (size 0)", "vda: not an ISO 9660 image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Probe() error = %q\nwant it to contain %q", err, want)
		}
	}
}

func TestFindCanceled(t *testing.T) {
	root := t.TempDir()
	addDevice(t, root, fakeDevice{name: "sr0", size: 0})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := isoProber(t, root, time.Minute, 20*time.Millisecond).Probe(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "sr0: no medium") {
		t.Errorf("Probe() error = %v, want context.Canceled naming sr0", err)
	}
}

// TestFindBrokenFailsFast: a damaged medium labelled OVF ENV is an error on
// the first look, not a wait until the timeout (which here is an hour).
func TestFindBrokenFailsFast(t *testing.T) {
	envISO := goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})
	corrupt := bytes.Clone(envISO)
	corrupt[pvdOffset+156] = 0 // the root directory record's length
	root := t.TempDir()
	addDevice(t, root, fakeDevice{name: "sr0", size: -1, image: corrupt})
	src, err := isoProber(t, root, time.Hour, 0).Probe(t.Context())
	if !errors.Is(err, ErrBrokenMedium) {
		t.Fatalf("Probe() = %+v, %v; want an error wrapping ErrBrokenMedium", src, err)
	}
	if !strings.Contains(err.Error(), "record length 0") {
		t.Errorf("Probe() error = %q, want it to say what is wrong", err)
	}
}

// isoProber is the agent's poller with only the ISO transport, which looks
// at the block devices under root.
func isoProber(t *testing.T, root string, wait, poll time.Duration) *Prober {
	t.Helper()
	o := TransportOptions{Root: root, Log: testLogger(t), Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}}
	return &Prober{Transports: []Transport{transport(t, o, TransportISO)}, Wait: wait, Poll: poll, Log: testLogger(t)}
}
