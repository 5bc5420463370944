package ovfenv

import (
	"testing"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// TestMain bounds fuzz minimization: the seeds (XML documents of a few KiB,
// ISO images) are too large for Go's default (package fuzzmin).
func TestMain(m *testing.M) { fuzzmin.Main(m) }
