//go:build windows

package ovfenv

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// systemKVP reads the string values of the Hyper-V KVP registry key; the
// logic is readKVPValues, tested everywhere with a fake key.
func systemKVP() (map[string]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, kvpRegistryKey, registry.QUERY_VALUE)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	return readKVPValues(k, func(err error) bool { return errors.Is(err, registry.ErrUnexpectedType) })
}
