package ovfenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kdomanski/iso9660"
)

// MaxEnvSize is the largest environment document ReadISO and ReadFile
// accept. Real ones are a few kilobytes; a customization script inline
// might make one a few hundred.
const MaxEnvSize = 16 << 20

const (
	sectorSize = 2048
	// pvdOffset is where the first volume descriptor starts (sector 16).
	pvdOffset = 16 * sectorSize
	// labelOffset is the primary volume descriptor's volume identifier.
	labelOffset = pvdOffset + 40
	labelLen    = 32

	maxVolumeDescriptors = 32
	maxRootDirSize       = 1 << 20
	maxContinuations     = 8
)

// ErrNoEnvironment is wrapped by the errors that mean "there is no OVF
// environment here" (as opposed to a broken one): a later boot with the
// medium ejected keeps what it applied.
var ErrNoEnvironment = errors.New("no OVF environment found")

// ErrBrokenMedium is wrapped by the errors about a medium that is an OVF
// environment by its label but cannot be read (a damaged ISO, one without
// ovf-env.xml). Waiting does not mend it, so finders return it at once.
var ErrBrokenMedium = errors.New("the OVF environment medium is unreadable")

// ErrNotISO is returned (wrapped) by ReadISO when the medium has no ISO 9660
// volume descriptor at all, as opposed to a damaged one.
var ErrNotISO = errors.New("not an ISO 9660 image")

// envLabels are the volume labels of an OVF environment medium.
var envLabels = []string{"OVF ENV", "OVF_ENV", "OVFENV", "OVF-TRANSPORT"}

// envFileNames are the names the environment file is accepted under, most
// preferred first. Matching ignores case and an ISO ";1" version suffix.
var envFileNames = []string{"ovf-env.xml", "ovf_env.xml"}

// IsEnvLabel reports whether an ISO volume label is one an OVF environment
// medium carries ("OVF ENV" and its spellings), ignoring case and trailing
// spaces and NULs.
func IsEnvLabel(label string) bool {
	label = trimLabel(label)
	for _, l := range envLabels {
		if strings.EqualFold(label, l) {
			return true
		}
	}
	return false
}

func trimLabel(s string) string {
	return strings.TrimRight(s, " \x00")
}

// ReadISO reads an OVF environment from an ISO 9660 image without mounting
// it: the primary volume label, and the content and name of the environment
// file in the root directory (ovf-env.xml or ovf_env.xml, in any case, with
// or without a ";1" version; Rock Ridge names are used when present). It
// does not check the label: callers decide with IsEnvLabel.
//
// On error the label is still returned when it could be read.
//
// The image's structures are checked before they are handed to the ISO
// library, so a damaged or hostile image is an error, never a panic.
func ReadISO(r io.ReaderAt) (label string, data []byte, name string, err error) {
	c := &sectorCache{r: r, sectors: map[int64][]byte{}}
	label, rrNames, err := checkImage(c)
	if err != nil {
		return "", nil, "", err
	}
	img, err := iso9660.OpenImage(c)
	if err != nil {
		return label, nil, "", fmt.Errorf("reading ISO volume descriptors: %w", err)
	}
	root, err := img.RootDir()
	if err != nil {
		return label, nil, "", fmt.Errorf("reading ISO root directory: %w", err)
	}
	children, err := root.GetAllChildren() // GetChildren panics on an empty directory
	if err != nil {
		return label, nil, "", fmt.Errorf("reading ISO root directory: %w", err)
	}
	if children == nil {
		return label, nil, "", errors.New("reading ISO root directory: extent is outside the image")
	}
	var (
		best     *iso9660.File
		bestRank = len(envFileNames)
		seen     []string
	)
	for i, f := range children {
		n := f.Name()
		if n == "\x00" || n == "\x01" {
			continue
		}
		if i < len(rrNames) && rrNames[i] != "" {
			// The library knows Rock Ridge only by its 1.10 id
			// (RRIP_1991A); images that declare 1.12 (IEEE_P1282), as
			// go-diskfs writes them, have their NM names read here.
			n = rrNames[i]
		}
		seen = append(seen, n)
		if f.IsDir() {
			continue
		}
		if rank := envFileRank(n); rank >= 0 && rank < bestRank {
			best, bestRank, name = f, rank, n
		}
	}
	if best == nil {
		return label, nil, "", fmt.Errorf("no %s in the ISO root directory (found %s)", strings.Join(envFileNames, " or "), listNames(seen))
	}
	if name == "" {
		name = best.Name()
	}
	if best.Size() > MaxEnvSize {
		return label, nil, name, fmt.Errorf("ISO file %s is %d bytes, more than the %d allowed", name, best.Size(), MaxEnvSize)
	}
	data, err = io.ReadAll(best.Reader())
	if err != nil {
		return label, nil, name, fmt.Errorf("reading ISO file %s: %w", name, err)
	}
	if int64(len(data)) != best.Size() {
		return label, nil, name, fmt.Errorf("reading ISO file %s: image truncated: got %d of %d bytes", name, len(data), best.Size())
	}
	return label, data, name, nil
}

func envFileRank(name string) int {
	n := strings.ToLower(name)
	if i := strings.IndexByte(n, ';'); i >= 0 {
		n = n[:i]
	}
	n = strings.TrimSuffix(n, ".")
	for i, w := range envFileNames {
		if n == w {
			return i
		}
	}
	return -1
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "an empty directory"
	}
	const max = 10
	quoted := make([]string, 0, max+1)
	for i, n := range names {
		if i == max {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(names)-max))
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", n))
	}
	return strings.Join(quoted, ", ")
}

// peekLabel reads the primary volume label with one small read, to reject
// a device cheaply. It returns ErrNotISO when there is no primary volume
// descriptor at sector 16.
func peekLabel(r io.ReaderAt) (string, error) {
	buf := make([]byte, labelOffset+labelLen-pvdOffset)
	if _, err := r.ReadAt(buf, pvdOffset); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", fmt.Errorf("%w: shorter than %d bytes", ErrNotISO, labelOffset+labelLen)
		}
		return "", err
	}
	if !bytes.Equal(buf[:6], []byte("\x01CD001")) {
		return "", fmt.Errorf("%w: no primary volume descriptor at byte %d", ErrNotISO, pvdOffset)
	}
	return trimLabel(string(buf[labelOffset-pvdOffset:])), nil
}

// checkImage walks every structure the iso9660 library reads on the way to
// the root directory's entries, and rejects what would make it panic, loop
// or allocate without bound: it reads the same bytes with the same
// arithmetic. It returns the primary volume label, and the Rock Ridge name
// of each root directory record, by record index ("" for none).
func checkImage(c *sectorCache) (string, []string, error) {
	buf := make([]byte, sectorSize)
	var (
		label   string
		root    []byte
		primary bool
	)
	for n := 0; ; n++ {
		if n == maxVolumeDescriptors {
			return "", nil, fmt.Errorf("no volume descriptor set terminator in the first %d sectors", maxVolumeDescriptors)
		}
		sector := int64(16 + n)
		if err := c.readFull(buf, sector*sectorSize); err != nil {
			if n == 0 {
				return "", nil, fmt.Errorf("%w: reading sector 16: %v", ErrNotISO, err)
			}
			return "", nil, fmt.Errorf("reading volume descriptor at sector %d: %w", sector, err)
		}
		if string(buf[1:6]) != "CD001" {
			if n == 0 {
				return "", nil, fmt.Errorf("%w: no CD001 volume descriptor at sector 16", ErrNotISO)
			}
			return "", nil, fmt.Errorf("volume descriptor at sector %d has identifier %q, want CD001", sector, buf[1:6])
		}
		switch typ := buf[0]; typ {
		case 0: // boot record
		case 1, 2: // primary, supplementary: the library decodes both
			rec := buf[156:190]
			if _, _, err := checkDirRecord(rec, 34); err != nil {
				return "", nil, fmt.Errorf("volume descriptor at sector %d: root directory record: %w", sector, err)
			}
			if typ == 1 && !primary {
				primary = true
				label = trimLabel(string(buf[40:72]))
				root = bytes.Clone(rec)
			}
		case 255:
			if !primary {
				return "", nil, errors.New("no primary volume descriptor")
			}
			names, err := checkRootDir(c, root)
			if err != nil {
				return "", nil, err
			}
			return label, names, nil
		default:
			return "", nil, fmt.Errorf("volume descriptor at sector %d has unsupported type %d", sector, typ)
		}
	}
}

// checkDirRecord checks one directory record the way the library slices it.
// b holds the record (b[0] is its length). It returns
// the identifier and the system use area. limit bounds the length.
func checkDirRecord(b []byte, limit int) (id string, systemUse []byte, err error) {
	length := int(b[0])
	if length < 34 {
		return "", nil, fmt.Errorf("record length %d is less than 34", length)
	}
	if limit = min(limit, len(b)); length > limit {
		return "", nil, fmt.Errorf("record length %d is more than %d", length, limit)
	}
	idLen := int(b[32])
	end := 33 + idLen + (idLen+1)%2
	if idLen == 0 || end > length {
		return "", nil, fmt.Errorf("identifier length %d does not fit a record of %d bytes", idLen, length)
	}
	return string(b[33 : 33+idLen]), b[end:length], nil
}

// checkRootDir mirrors iso9660's File.GetAllChildren on the root directory.
// It returns the Rock Ridge (NM) name of each record, by index.
func checkRootDir(c *sectorCache, rec []byte) ([]string, error) {
	var names []string
	flags := rec[25]
	if flags&2 == 0 {
		return nil, errors.New("root directory record is not a directory")
	}
	loc := binary.LittleEndian.Uint32(rec[2:6])
	size := binary.LittleEndian.Uint32(rec[10:14])
	if size == 0 {
		return nil, errors.New("root directory is empty")
	}
	if size > maxRootDirSize {
		return nil, fmt.Errorf("root directory is %d bytes, more than the %d allowed", size, maxRootDirSize)
	}
	base := loc * sectorSize // uint32 arithmetic, as the library does
	buf := make([]byte, sectorSize)
	suspOffset := -1 // the SP record's skip, once the "." entry has one
	for done := uint32(0); done < size; done += sectorSize {
		if err := c.readFull(buf, int64(base+done)); err != nil {
			return nil, fmt.Errorf("reading root directory at sector %d: %w", loc+done/sectorSize, err)
		}
		for i := 0; i < sectorSize; {
			l := int(buf[i])
			if l == 0 {
				break
			}
			if i+l > sectorSize {
				return nil, fmt.Errorf("root directory entry at byte %d of sector %d crosses the sector end", i, loc+done/sectorSize)
			}
			name := ""
			id, su, err := checkDirRecord(buf[i:i+l], l)
			if err != nil {
				return nil, fmt.Errorf("root directory entry at byte %d of sector %d: %w", i, loc+done/sectorSize, err)
			}
			if id == "\x00" {
				entries, err := checkSUSP(c, su, 0)
				if err != nil {
					return nil, fmt.Errorf("root directory \".\" entry: %w", err)
				}
				if len(entries) > 0 && string(entries[0][:2]) == "SP" {
					sp := entries[0]
					if len(sp) < 7 || sp[4] != 0xBE || sp[5] != 0xEF {
						return nil, errors.New(`root directory "." entry: invalid SUSP SP record`)
					}
					suspOffset = int(sp[6])
				}
			} else if suspOffset >= 0 {
				if suspOffset > len(su) {
					return nil, fmt.Errorf("root directory entry %s: system use area of %d bytes is shorter than the SUSP skip %d", recordName(id), len(su), suspOffset)
				}
				entries, err := checkSUSP(c, su[suspOffset:], 0)
				if err != nil {
					return nil, fmt.Errorf("root directory entry %s: %w", recordName(id), err)
				}
				name = rockRidgeName(entries)
			}
			names = append(names, name)
			i += l
		}
	}
	return names, nil
}

// rockRidgeName joins the content of a record's NM entries ("" for none).
func rockRidgeName(entries [][]byte) string {
	var b strings.Builder
	for _, e := range entries {
		if string(e[:2]) == "NM" && e[4]&0b110 == 0 { // not "." or ".."
			b.Write(e[5:])
		}
	}
	return b.String()
}

// recordName quotes a directory record's identifier for a message.
func recordName(id string) string {
	switch id {
	case "\x00":
		return `"."`
	case "\x01":
		return `".."`
	}
	return strconv.Quote(id)
}

// checkSUSP mirrors the library's splitting of a system use area into
// entries, following continuation areas, and checks that each entry the
// library decodes is long enough. It returns the entries.
func checkSUSP(c *sectorCache, data []byte, depth int) ([][]byte, error) {
	var out [][]byte
	for len(data) >= 4 {
		l := int(data[2])
		if l < 4 || l > len(data) {
			return nil, fmt.Errorf("SUSP entry %q has length %d, want 4..%d", data[:2], l, len(data))
		}
		e := data[:l]
		switch string(e[:2]) {
		case "CE":
			if l != 28 {
				return nil, fmt.Errorf("SUSP CE entry has length %d, want 28", l)
			}
			block, err1 := iso9660.UnmarshalUint32LSBMSB(e[4:12])
			offset, err2 := iso9660.UnmarshalUint32LSBMSB(e[12:20])
			length, err3 := iso9660.UnmarshalUint32LSBMSB(e[20:28])
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, fmt.Errorf("SUSP CE entry: %w", err)
			}
			if offset >= sectorSize || length > sectorSize-offset {
				return nil, fmt.Errorf("SUSP continuation area (offset %d, length %d) is not within one sector", offset, length)
			}
			if depth >= maxContinuations {
				return nil, fmt.Errorf("more than %d chained SUSP continuation areas", maxContinuations)
			}
			cont := make([]byte, length)
			if err := c.readFull(cont, int64(block*sectorSize+offset)); err != nil {
				return nil, fmt.Errorf("reading SUSP continuation area: %w", err)
			}
			more, err := checkSUSP(c, cont, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case "NM":
			if l < 5 {
				return nil, fmt.Errorf("rock ridge NM entry has length %d, want at least 5", l)
			}
			out = append(out, e)
		case "PX":
			if l < 12 {
				return nil, fmt.Errorf("rock ridge PX entry has length %d, want at least 12", l)
			}
			out = append(out, e)
		default:
			out = append(out, e)
		}
		data = data[l:]
	}
	return out, nil
}

// sectorCache is an io.ReaderAt that reads its source once per sector and
// serves every later read from memory, so that the library reads exactly
// the bytes checkImage checked, even from a device whose medium changes.
type sectorCache struct {
	r       io.ReaderAt
	sectors map[int64][]byte // a short slice is the image's last sector
}

func (c *sectorCache) sector(n int64) ([]byte, error) {
	if s, ok := c.sectors[n]; ok {
		return s, nil
	}
	buf := make([]byte, sectorSize)
	got, err := c.r.ReadAt(buf, n*sectorSize)
	if got < sectorSize {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	c.sectors[n] = buf[:got]
	return buf[:got], nil
}

func (c *sectorCache) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		s, err := c.sector(at / sectorSize)
		if err != nil {
			return n, err
		}
		in := int(at % sectorSize)
		if in >= len(s) {
			return n, io.EOF
		}
		n += copy(p[n:], s[in:])
	}
	return n, nil
}

// readFull reads len(p) bytes at off; a short read is io.ErrUnexpectedEOF.
func (c *sectorCache) readFull(p []byte, off int64) error {
	n, err := c.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("image truncated: %d bytes at offset %d are past its end", len(p)-n, off+int64(n))
	}
	return err
}
