package wine

import (
	"os"
	"runtime"
	"testing"
)

// TestDetected checks the detection against what the harness says:
// packaging/scripts/winetest.sh sets WINEPREFIX, which Wine passes on to
// the Windows process, and nothing else runs these tests with it set.
func TestDetected(t *testing.T) {
	_, underWine := os.LookupEnv("WINEPREFIX")
	want := runtime.GOOS == "windows" && underWine
	if got := Detected(); got != want {
		t.Errorf("Detected() = %v, want %v (GOOS %s, WINEPREFIX set %v)", got, want, runtime.GOOS, underWine)
	}
}
