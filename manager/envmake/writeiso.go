// Package envmake writes the OVF environment media a manager attaches to a
// VM (`ovfinit env make`): an ISO 9660 image holding ovf-env.xml, labelled
// "OVF ENV". It is host-side tooling: the guest packages only read such
// images (ovfenv.ReadISO), and a dependency test (internal/deptest) keeps
// go-diskfs, which this package writes with, out of them.
package envmake

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	diskiso "github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/internal/winacl"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// ISOLabel is the volume label WriteISO gives the image: the one DSP0243
// names and every reader (ours, cloud-init's, vSphere's) looks for.
const ISOLabel = "OVF ENV"

// EnvFileName is the name of the environment file in the image's root.
const EnvFileName = "ovf-env.xml"

// The ISO 9660 layout WriteISO relies on.
const (
	sectorSize  = 2048
	labelOffset = 16*sectorSize + 40 // the primary volume descriptor's volume identifier
	labelLen    = 32
)

// WriteISO writes an ISO 9660 image holding doc as /ovf-env.xml (with Rock
// Ridge and Joliet names, so every reader sees the lower-case name), labelled
// "OVF ENV", to path. The image is written to a temporary file beside path
// and renamed into place, mode 0600 (the document may hold secrets). doc is
// not checked: callers write it with ovfenv.Environment.Marshal.
//
// The image is written with go-diskfs; read images with ovfenv.ReadISO, never with
// go-diskfs (it panics on some valid ones).
func WriteISO(path string, doc []byte) (err error) {
	if len(doc) > ovfenv.MaxEnvSize {
		return fmt.Errorf("writing %s: the document is %d bytes, more than the %d allowed", path, len(doc), ovfenv.MaxEnvSize)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := winacl.Protect(tmp.Name()); err != nil { // Windows: the DACL does what 0600 cannot
		return fmt.Errorf("writing %s: %w", path, err)
	}
	work, err := os.MkdirTemp("", "ovfinit-iso")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.RemoveAll(work) // Finalize removes it too, but not on an error
	fs, err := diskiso.Create(file.New(tmp, false), 0, 0, sectorSize, work)
	if err != nil {
		return fmt.Errorf("writing %s: creating the ISO 9660 file system: %w", path, err)
	}
	f, err := fs.OpenFile("/"+EnvFileName, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("writing %s: adding %s: %w", path, EnvFileName, err)
	}
	if _, err := f.Write(doc); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: adding %s: %w", path, EnvFileName, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: adding %s: %w", path, EnvFileName, err)
	}
	err = fs.Finalize(diskiso.FinalizeOptions{
		RockRidge: true,
		Joliet:    true,
		// Unpadded, the label would be NUL-padded; readers trim spaces.
		VolumeIdentifier: padLabel(ISOLabel),
	})
	if err != nil {
		return fmt.Errorf("writing %s: finalizing the ISO 9660 image: %w", path, err)
	}
	// go-diskfs ends the image with the last file byte: pad it to whole
	// sectors, as a CD-ROM device reads them.
	st, err := tmp.Stat()
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if r := st.Size() % sectorSize; r != 0 {
		if err := tmp.Truncate(st.Size() + sectorSize - r); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	fsutil.SyncDir(filepath.Dir(path))
	return nil
}

// padLabel pads a volume label with spaces to the 32 bytes of the field.
func padLabel(s string) string {
	if len(s) >= labelLen {
		return s[:labelLen]
	}
	return s + strings.Repeat(" ", labelLen-len(s))
}
