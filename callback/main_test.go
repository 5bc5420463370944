package callback

import (
	"testing"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// TestMain bounds fuzz minimization: FuzzReceiver's seeds are events of a
// few hundred bytes, too large for Go's default (package fuzzmin).
func TestMain(m *testing.M) { fuzzmin.Main(m) }
