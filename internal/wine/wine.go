// Package wine lets a test skip under Wine for a Windows API that Wine does
// not implement, naming it. Only tests import it (docs/testing.md).
package wine

import (
	"testing"

	"github.com/ovfinit/ovfinit/internal/winacl"
)

// SkipMissing skips t when it runs under Wine, whose api does not do what
// Windows does (why says what happens instead). On Windows and elsewhere it
// does nothing: there the test must pass.
func SkipMissing(t testing.TB, api, why string) {
	t.Helper()
	if Detected() {
		t.Skipf("Wine lacks %s: %s", api, why)
	}
}

// CheckPrivate fails t unless name is private to the administrators:
// winacl.Private (a DACL for SYSTEM and Administrators on Windows, no group
// or other mode bits elsewhere). Under Wine, which keeps no DACL given at
// creation (CreateDirectoryW's SECURITY_ATTRIBUTES), a failed check is
// logged with that reason instead: internal/winacl's own test is where it
// is skipped by name, and a real Windows must pass it.
func CheckPrivate(t testing.TB, name string) {
	t.Helper()
	err := winacl.Private(name)
	if err == nil {
		return
	}
	if Detected() {
		t.Logf("not checked under Wine (no DACL from CreateDirectoryW's SECURITY_ATTRIBUTES): %v", err)
		return
	}
	t.Error(err)
}
