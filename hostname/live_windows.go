package hostname

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

var procSetComputerNameExW = windows.NewLazySystemDLL("kernel32.dll").NewProc("SetComputerNameExW")

func setComputerNameEx(typ uint32, name string) error {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	if err := procSetComputerNameExW.Find(); err != nil {
		return err
	}
	r, _, e := procSetComputerNameExW.Call(uintptr(typ), uintptr(unsafe.Pointer(p)))
	if r == 0 {
		return fmt.Errorf("SetComputerNameExW(%d, %q): %w", typ, name, e)
	}
	return nil
}

func computerName(typ uint32) (string, error) {
	n := uint32(256)
	buf := make([]uint16, n)
	if err := windows.GetComputerNameEx(typ, &buf[0], &n); err != nil {
		return "", err
	}
	return windows.UTF16ToString(buf[:n]), nil
}

// Live sets the computer's DNS host name (Windows derives the NetBIOS name
// from it) and, for a fully qualified name, its primary DNS suffix. Both
// take effect at the next restart: rebootPending is true unless the
// running name is already the one asked for.
func Live(_ context.Context, fqdn, short string) (bool, error) {
	domain := ""
	if i := strings.IndexByte(fqdn, '.'); i > 0 {
		domain = fqdn[i+1:]
	}
	curHost, err1 := computerName(windows.ComputerNamePhysicalDnsHostname)
	curDomain, err2 := computerName(windows.ComputerNamePhysicalDnsDomain)
	if err1 == nil && err2 == nil && strings.EqualFold(curHost, short) && strings.EqualFold(curDomain, domain) {
		return false, nil
	}
	if err := setComputerNameEx(windows.ComputerNamePhysicalDnsHostname, short); err != nil {
		return false, err
	}
	if err := setComputerNameEx(windows.ComputerNamePhysicalDnsDomain, domain); err != nil {
		return false, err
	}
	return true, nil
}
