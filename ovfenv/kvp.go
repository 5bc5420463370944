package ovfenv

import "fmt"

// kvpValueReader is the part of a Windows registry key the Hyper-V KVP
// reader uses; golang.org/x/sys/windows/registry.Key has these methods, and
// tests pass a map-backed fake, so the logic is tested on every OS.
type kvpValueReader interface {
	ReadValueNames(n int) ([]string, error)
	GetStringValue(name string) (string, uint32, error)
}

// readKVPValues reads every string value of the KVP registry key (where
// Hyper-V's integration services put what the host passes the guest).
// Values of another type (skip says which errors mean that) are left out.
// The chunks of a long environment (KVPKey.0, KVPKey.1, ...) are joined
// later, by kvpValue, the same way as from the Linux pool files.
func readKVPValues(k kvpValueReader, wrongType func(error) bool) (map[string]string, error) {
	names, err := k.ReadValueNames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing the values of HKLM\\%s: %w", kvpRegistryKey, err)
	}
	m := map[string]string{}
	for _, n := range names {
		v, _, err := k.GetStringValue(n)
		if err != nil && wrongType != nil && wrongType(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading HKLM\\%s\\%s: %w", kvpRegistryKey, n, err)
		}
		m[n] = v
	}
	return m, nil
}

// kvpRegistryKey is where Hyper-V's integration services put the values
// the host passes to the guest (under HKEY_LOCAL_MACHINE).
const kvpRegistryKey = `SOFTWARE\Microsoft\Virtual Machine\Guest\Parameters`
