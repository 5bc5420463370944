// Package wine lets a test skip under Wine for a Windows API that Wine does
// not implement, naming it. Only tests import it (docs/testing.md).
package wine

import "testing"

// SkipMissing skips t when it runs under Wine, whose api does not do what
// Windows does (why says what happens instead). On Windows and elsewhere it
// does nothing: there the test must pass.
func SkipMissing(t testing.TB, api, why string) {
	t.Helper()
	if Detected() {
		t.Skipf("Wine lacks %s: %s", api, why)
	}
}
