package ovfenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kdomanski/iso9660"
)

var sampleEnv = []byte(envHead + `<PropertySection><Property oe:key="hostname" oe:value="h1"/></PropertySection></Environment>
`)

// goISO builds a plain ISO 9660 image (no Rock Ridge, no Joliet) in Go.
func goISO(t testing.TB, label string, files map[string][]byte) []byte {
	t.Helper()
	w, err := iso9660.NewWriter()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Cleanup()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := w.AddFile(bytes.NewReader(files[name]), name); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := w.WriteTo(&b, label); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// genISO builds an image with genisoimage; extra are its options
// (-J -r for Joliet and Rock Ridge). The test is skipped without the tool.
func genISO(t testing.TB, label string, files map[string][]byte, extra ...string) []byte {
	t.Helper()
	tool, err := exec.LookPath("genisoimage")
	if err != nil {
		t.Skip("genisoimage is not installed (apt-get install genisoimage); skipping the test that needs a Rock Ridge/Joliet image")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "x.iso")
	args := append([]string{"-quiet", "-V", label, "-o", out}, extra...)
	args = append(args, src)
	if b, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage %q: %v\n%s", args, err, b)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestIsEnvLabel(t *testing.T) {
	tests := []struct {
		label string
		want  bool
	}{
		{"OVF ENV", true},
		{"ovf env", true},
		{"OVF_ENV", true},
		{"OvfEnv", true},
		{"OVF-TRANSPORT", true},
		{"OVF ENV                         ", true},
		{"OVF ENV\x00\x00\x00", true},
		{"OVF ENV \x00 ", true},
		{" OVF ENV", false},
		{"OVF  ENV", false},
		{"cidata", false},
		{"CONFIG-2", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsEnvLabel(tt.label); got != tt.want {
			t.Errorf("IsEnvLabel(%q) = %v, want %v", tt.label, got, tt.want)
		}
	}
}

func TestReadISO(t *testing.T) {
	other := []byte("not this one")
	tests := []struct {
		name      string
		image     func(t *testing.T) []byte
		wantLabel string
		wantName  string
	}{
		{"go writer ovf-env.xml", func(t *testing.T) []byte {
			return goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv, "readme.txt": other})
		}, "OVF ENV", "ovf-env.xml"},
		{"go writer OVF_ENV.XML", func(t *testing.T) []byte {
			return goISO(t, "OVF_ENV", map[string][]byte{"OVF_ENV.XML": sampleEnv})
		}, "OVF_ENV", "ovf_env.xml"}, // the writer lower-cases
		{"ovf-env.xml preferred over ovf_env.xml", func(t *testing.T) []byte {
			return goISO(t, "OVF ENV", map[string][]byte{"ovf_env.xml": other, "OVF-ENV.XML": sampleEnv})
		}, "OVF ENV", "ovf-env.xml"},
		{"genisoimage -J -r", func(t *testing.T) []byte {
			return genISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv, "other.xml": other}, "-J", "-r")
		}, "OVF ENV", "ovf-env.xml"},
		{"genisoimage plain: OVF_ENV.XML;1", func(t *testing.T) []byte {
			return genISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})
		}, "OVF ENV", "OVF_ENV.XML"},
		{"genisoimage -J only", func(t *testing.T) []byte {
			return genISO(t, "ovf-transport", map[string][]byte{"ovf_env.xml": sampleEnv}, "-J")
		}, "ovf-transport", "OVF_ENV.XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.image(t)
			label, data, name, err := ReadISO(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("ReadISO() error: %v", err)
			}
			if label != tt.wantLabel || name != tt.wantName || !bytes.Equal(data, sampleEnv) {
				t.Errorf("ReadISO() = %q, %q (%d bytes), want %q, %q, the sample (%d bytes)", label, name, len(data), tt.wantLabel, tt.wantName, len(sampleEnv))
			}
			if got, err := peekLabel(bytes.NewReader(img)); err != nil || got != tt.wantLabel {
				t.Errorf("peekLabel() = %q, %v, want %q, nil", got, err, tt.wantLabel)
			}
		})
	}
}

// le32 writes a both-endian 32-bit number (ECMA-119 7.3.3).
func le32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b[0:4], v)
	binary.BigEndian.PutUint32(b[4:8], v)
}

// record returns the offset of the directory record whose identifier
// starts with ident.
func record(t *testing.T, img []byte, ident string) int {
	t.Helper()
	for from := 0; ; {
		i := bytes.Index(img[from:], []byte(ident))
		if i < 0 {
			t.Fatalf("no directory record %q in the image", ident)
		}
		at := from + i - 33
		if at >= 0 && int(img[at+32]) >= len(ident) && img[at] >= 34 {
			return at
		}
		from += i + 1
	}
}

// rootDot returns the offset of the root directory's "." record.
func rootDot(img []byte) int {
	return int(binary.LittleEndian.Uint32(img[pvdOffset+156+2:])) * sectorSize
}

// susp returns the offset of the first SUSP entry of type typ at or after
// from, within the record at rec.
func susp(t *testing.T, img []byte, rec int, typ string) int {
	t.Helper()
	end := rec + int(img[rec])
	i := bytes.Index(img[rec+34:end], []byte(typ))
	if i < 0 {
		t.Fatalf("no SUSP %s entry in the record at %d", typ, rec)
	}
	return rec + 34 + i
}

func TestReadISOErrors(t *testing.T) {
	plain := func(t *testing.T) []byte {
		return goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})
	}
	rr := func(t *testing.T) []byte {
		return genISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv}, "-J", "-r")
	}
	tests := []struct {
		name    string
		image   func(t *testing.T) []byte
		wantErr string
		notISO  bool
	}{
		{"empty", func(t *testing.T) []byte { return nil }, "not an ISO 9660 image", true},
		{"zeros", func(t *testing.T) []byte { return make([]byte, 64<<10) }, "no CD001 volume descriptor at sector 16", true},
		{"truncated in the volume descriptor", func(t *testing.T) []byte { return plain(t)[:pvdOffset+100] }, "not an ISO 9660 image", true},
		{"truncated before the root directory", func(t *testing.T) []byte { return plain(t)[:rootDot(plain(t))+10] }, "image truncated", false},
		{"truncated in the file", func(t *testing.T) []byte {
			img := plain(t)
			return img[:bytes.Index(img, []byte("<?xml"))+20]
		}, "image truncated: got 20 of", false},
		{"no environment file", func(t *testing.T) []byte {
			return goISO(t, "OVF ENV", map[string][]byte{"meta-data": sampleEnv, "user-data": sampleEnv})
		}, `no ovf-env.xml or ovf_env.xml in the ISO root directory (found "meta-data", "user-data")`, false},
		{"file too large", func(t *testing.T) []byte {
			img := plain(t)
			le32(img[record(t, img, "ovf-env.xml")+10:], MaxEnvSize+1)
			return img
		}, "ISO file ovf-env.xml is 16777217 bytes, more than the 16777216 allowed", false},
		{"root record length 0", func(t *testing.T) []byte {
			img := plain(t)
			img[pvdOffset+156] = 0
			return img
		}, "root directory record: record length 0 is less than 34", false},
		{"root directory empty", func(t *testing.T) []byte {
			img := plain(t)
			le32(img[pvdOffset+156+10:], 0)
			return img
		}, "root directory is empty", false},
		{"root directory huge", func(t *testing.T) []byte {
			img := plain(t)
			le32(img[pvdOffset+156+10:], 1<<31-1)
			return img
		}, "root directory is 2147483647 bytes", false},
		{"identifier longer than its record", func(t *testing.T) []byte {
			img := plain(t)
			img[record(t, img, "ovf-env.xml")+32] = 200
			return img
		}, "identifier length 200 does not fit", false},
		{"root record longer than its place", func(t *testing.T) []byte {
			img := plain(t)
			img[pvdOffset+156] = 40
			return img
		}, "root directory record: record length 40 is more than 34", false},
		{"record too short", func(t *testing.T) []byte {
			img := plain(t)
			img[record(t, img, "ovf-env.xml")] = 20
			return img
		}, "record length 20 is less than 34", false},
		{"no terminator", func(t *testing.T) []byte {
			img := plain(t)
			out := append([]byte{}, img[:pvdOffset+sectorSize]...)
			for range 40 {
				out = append(out, img[pvdOffset:pvdOffset+sectorSize]...)
			}
			return out
		}, "no volume descriptor set terminator in the first 32 sectors", false},
		{"rock ridge: SUSP entry of length 0", func(t *testing.T) []byte {
			img := rr(t)
			img[susp(t, img, record(t, img, "OVF_ENV.XML"), "PX")+2] = 0
			return img
		}, `SUSP entry "PX" has length 0`, false},
		{"rock ridge: short NM entry", func(t *testing.T) []byte {
			img := rr(t)
			nm := susp(t, img, record(t, img, "OVF_ENV.XML"), "NM")
			copy(img[nm:], "NM\x04\x01")
			return img
		}, `root directory entry "OVF_ENV.XML;1": rock ridge NM entry has length 4`, false},
		{"rock ridge: SP skip beyond the system use area", func(t *testing.T) []byte {
			img := rr(t)
			img[susp(t, img, rootDot(img), "SP")+6] = 250
			return img
		}, `is shorter than the SUSP skip 250`, false},
		{"rock ridge: endless continuation areas", func(t *testing.T) []byte {
			img := rr(t)
			ce := susp(t, img, rootDot(img), "CE")
			block := binary.LittleEndian.Uint32(img[ce+4:])
			off := binary.LittleEndian.Uint32(img[ce+12:])
			le32(img[ce+20:], 28)
			area := int(block*sectorSize + off)
			copy(img[area:], img[ce:ce+28]) // the area holds a CE naming itself
			return img
		}, "more than 8 chained SUSP continuation areas", false},
		{"rock ridge: continuation area across a sector", func(t *testing.T) []byte {
			img := rr(t)
			le32(img[susp(t, img, rootDot(img), "CE")+20:], 4000)
			return img
		}, "is not within one sector", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.image(t)
			label, data, name, err := ReadISO(bytes.NewReader(img))
			if err == nil {
				t.Fatalf("ReadISO() = %q, %d bytes, %q, nil; want an error", label, len(data), name)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadISO() error = %q, want it to contain %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotISO); got != tt.notISO {
				t.Errorf("errors.Is(ReadISO() error %q, ErrNotISO) = %v, want %v", err, got, tt.notISO)
			}
			if data != nil {
				t.Errorf("ReadISO() returned %d bytes with error %v", len(data), err)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ovf-env.xml")
	if err := os.WriteFile(good, sampleEnv, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := ReadFile(good)
	if err != nil {
		t.Fatalf("ReadFile(%q) error: %v", good, err)
	}
	if src.Transport != TransportFile || src.Location != good || !bytes.Equal(src.Data, sampleEnv) {
		t.Errorf("ReadFile(%q) = %q, %q, %d bytes; want file, the path, the sample", good, src.Transport, src.Location, len(src.Data))
	}

	big := filepath.Join(dir, "big.xml")
	if err := os.WriteFile(big, make([]byte, MaxEnvSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); err == nil || !strings.Contains(err.Error(), "larger than 16777216 bytes") {
		t.Errorf("ReadFile(%q) error = %v, want one saying it is too large", big, err)
	}
	missing := filepath.Join(dir, "missing.xml")
	if _, err := ReadFile(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(%q) error = %v, want os.ErrNotExist", missing, err)
	}
}

// compactISO is how FuzzReadISO's inputs stand for an image: the image
// less its system area (the 16 sectors before the volume descriptors,
// zeros in every image ovfinit reads) and less its trailing zeros, which
// (isoReader) puts back. A real image is 50 to 400 KiB, nearly all zeros
// (genisoimage pads 150 sectors): fuzzed whole, every run copied and
// mutated it, and each new input was minimized byte by byte, O(n²) runs of
// ReadISO for up to a minute per input, during which the worker ran
// nothing else (golang/go#48820). That is why FuzzReadISO ran about 30
// inputs in 2 minutes.
func compactISO(img []byte) []byte {
	return bytes.TrimRight(img[pvdOffset:], "\x00")
}

// isoReader reads the image a compactISO input stands for: zeros up to
// the volume descriptors, then data, then zeros to the end of its last
// sector.
type isoReader []byte

func (r isoReader) ReadAt(p []byte, off int64) (int, error) {
	size := int64(pvdOffset + (len(r)+sectorSize-1)/sectorSize*sectorSize)
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < size {
		at := off + int64(n)
		switch {
		case at < pvdOffset:
			m := min(len(p)-n, int(pvdOffset-at))
			clear(p[n : n+m])
			n += m
		case at-pvdOffset < int64(len(r)):
			n += copy(p[n:], r[at-pvdOffset:])
		default:
			m := min(int64(len(p)-n), size-at)
			clear(p[n : n+int(m)])
			n += int(m)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func FuzzReadISO(f *testing.F) {
	images := [][]byte{goISO(f, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})}
	if _, err := exec.LookPath("genisoimage"); err == nil {
		images = append(images, genISO(f, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv}, "-J", "-r"))
	}
	for _, img := range images {
		seed := compactISO(img)
		// The seed must stand for the image: the same document is read.
		if _, data, _, err := ReadISO(isoReader(seed)); err != nil || !bytes.Equal(data, sampleEnv) {
			f.Fatalf("ReadISO(compactISO(%d-byte image) of %d bytes) = %d bytes, %v; want the sample", len(img), len(seed), len(data), err)
		}
		f.Add(seed)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, img []byte) {
		label, data, name, err := ReadISO(isoReader(img))
		if err == nil && (name == "" || len(data) > MaxEnvSize) {
			t.Errorf("ReadISO() = %q, %d bytes, %q, nil", label, len(data), name)
		}
	})
}

// FuzzReadISOPatch fuzzes the structures rather than the whole image: it
// overwrites bytes of the volume descriptors or the root directory of a
// real image, plain or Rock Ridge, where the parser's risks are.
func FuzzReadISOPatch(f *testing.F) {
	bases := [][]byte{goISO(f, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})}
	if _, err := exec.LookPath("genisoimage"); err == nil {
		bases = append(bases, genISO(f, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv}, "-J", "-r"))
	}
	f.Add(uint8(0), uint16(156), []byte{0})
	f.Add(uint8(1), uint16(34), []byte("SP\x07\x01\xbe\xef\xff"))
	f.Add(uint8(3), uint16(100), []byte("CE\x1c\x01"))
	f.Fuzz(func(t *testing.T, which uint8, at uint16, patch []byte) {
		img := bytes.Clone(bases[int(which)%len(bases)])
		regions := []int{pvdOffset, pvdOffset + sectorSize, rootDot(img)}
		off := regions[int(which/2)%len(regions)] + int(at)%sectorSize
		if off < len(img) {
			copy(img[off:], patch)
		}
		label, data, name, err := ReadISO(bytes.NewReader(img))
		if err == nil && (name == "" || len(data) > MaxEnvSize) {
			t.Errorf("ReadISO() = %q, %d bytes, %q, nil", label, len(data), name)
		}
	})
}
