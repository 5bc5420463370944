//go:build amd64

package ovfenv

import (
	"errors"

	"github.com/vmware/vmw-guestinfo/rpcvmx"
	"github.com/vmware/vmw-guestinfo/vmcheck"
)

// nativeGuestinfo reads a guestinfo key over VMware's backdoor RPC channel.
// The CPUID hypervisor vendor is checked first ("VMwareVMware"): the
// backdoor I/O port faults anywhere else.
func nativeGuestinfo(key string) (string, bool, error) {
	if !vmcheck.IsVirtualCPU() {
		return "", false, errors.New("the CPUID hypervisor vendor is not VMwareVMware")
	}
	// ignoreAccessErrors false: without I/O port access the knock would fault.
	if ok, err := vmcheck.IsVirtualWorld(false); err != nil || !ok {
		if err == nil {
			err = errors.New("the VMware backdoor does not answer")
		}
		return "", false, err
	}
	v, err := rpcvmx.NewConfig().String(key, "")
	if err != nil {
		return "", false, err
	}
	return v, !IsUnset(v), nil
}

// nativeGuestinfoSet sets a guestinfo key over the backdoor RPC channel,
// after the same checks as nativeGuestinfo.
func nativeGuestinfoSet(key, value string) error {
	if !vmcheck.IsVirtualCPU() {
		return errors.New("the CPUID hypervisor vendor is not VMwareVMware")
	}
	if ok, err := vmcheck.IsVirtualWorld(false); err != nil || !ok {
		if err == nil {
			err = errors.New("the VMware backdoor does not answer")
		}
		return err
	}
	return rpcvmx.NewConfig().SetString(key, value)
}
