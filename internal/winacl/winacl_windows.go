package winacl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// MkdirAll makes dir and its missing parents; the directories it makes get
// SDDL's DACL at creation (CreateDirectoryW with SECURITY_ATTRIBUTES), so
// there is no moment when they carry the drive's inherited permissions.
// An existing dir gets the DACL too (Protect). perm is for other OSes.
func MkdirAll(dir string, perm fs.FileMode) error {
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		return Protect(dir)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if _, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) {
			if err := MkdirAll(parent, perm); err != nil {
				return err
			}
		}
	}
	sa, err := attributes()
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	if err := windows.CreateDirectory(p, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return &fs.PathError{Op: "CreateDirectory", Path: dir, Err: err}
	}
	return nil
}

// attributes returns the SECURITY_ATTRIBUTES of SDDL.
func attributes() (*windows.SecurityAttributes, error) {
	sd, err := windows.SecurityDescriptorFromString(SDDL)
	if err != nil {
		return nil, fmt.Errorf("security descriptor %s: %w", SDDL, err)
	}
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}, nil
}

// Protect replaces the DACL of an existing file or directory with SDDL's,
// protected from inheritance.
func Protect(name string) error {
	sd, err := windows.SecurityDescriptorFromString(SDDL)
	if err != nil {
		return fmt.Errorf("security descriptor %s: %w", SDDL, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("security descriptor %s: %w", SDDL, err)
	}
	err = windows.SetNamedSecurityInfo(name, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return &fs.PathError{Op: "SetNamedSecurityInfo", Path: name, Err: err}
	}
	return nil
}

// DACL returns the DACL of name in SDDL form ("D:P(A;...)...").
func DACL(name string) (string, error) {
	sd, err := windows.GetNamedSecurityInfo(name, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", &fs.PathError{Op: "GetNamedSecurityInfo", Path: name, Err: err}
	}
	return sd.String(), nil
}

// Private returns an error unless only SYSTEM and Administrators have an
// access-allowed entry in name's DACL (inherited or not).
func Private(name string) error {
	s, err := DACL(name)
	if err != nil {
		return err
	}
	return privateSDDL(name, s)
}
