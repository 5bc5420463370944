//go:build !amd64

package ovfenv

import (
	"fmt"
	"runtime"
)

// nativeGuestinfo: vmw-guestinfo's backdoor RPC exists on amd64 only; on
// other architectures the tools (vmware-rpctool, vmtoolsd) are used.
func nativeGuestinfo(key string) (string, bool, error) {
	return "", false, fmt.Errorf("no native VMware RPC on %s", runtime.GOARCH)
}

// nativeGuestinfoSet: no native VMware RPC outside amd64.
func nativeGuestinfoSet(key, value string) error {
	return fmt.Errorf("no native VMware RPC on %s", runtime.GOARCH)
}
