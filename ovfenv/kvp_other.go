//go:build !windows

package ovfenv

// systemKVP: outside Windows the KVP values are read from the pool files.
func systemKVP() (map[string]string, error) { return nil, nil }
