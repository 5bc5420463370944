package scripts

import (
	"flag"
	"os"
	"testing"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// TestMain bounds fuzz minimization to keep the fuzzers fuzzing (package
// fuzzmin).
func TestMain(m *testing.M) {
	flag.Parse()
	fuzzmin.Bound()
	os.Exit(m.Run())
}
