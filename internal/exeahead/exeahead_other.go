//go:build !linux

package exeahead

// Prefetch does nothing here: the readahead is Linux's
// (exeahead_linux.go).
func Prefetch(string) error { return nil }
