//go:build windows

package ovfenv

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// kvpRegistryKey is where Hyper-V's integration services put the values
// the host passes to the guest.
const kvpRegistryKey = `SOFTWARE\Microsoft\Virtual Machine\Guest\Parameters`

// systemKVP reads the string values of the Hyper-V KVP registry key.
func systemKVP() (map[string]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, kvpRegistryKey, registry.QUERY_VALUE)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ReadValueNames(-1)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, n := range names {
		v, _, err := k.GetStringValue(n)
		if errors.Is(err, registry.ErrUnexpectedType) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m[n] = v
	}
	return m, nil
}
