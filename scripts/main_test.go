package scripts

import (
	"testing"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// TestMain bounds fuzz minimization to keep the fuzzers fuzzing (package
// fuzzmin).
func TestMain(m *testing.M) { fuzzmin.Main(m) }
