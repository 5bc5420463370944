package users

import (
	"testing"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// TestMain bounds fuzz minimization, which otherwise stalls the fuzzers
// on passwd and key store inputs (package fuzzmin).
func TestMain(m *testing.M) { fuzzmin.Main(m) }
