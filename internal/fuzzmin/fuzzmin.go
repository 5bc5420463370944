// Package fuzzmin bounds how long `go test -fuzz` minimizes each new
// interesting input, for the packages whose fuzz inputs are large.
//
// Go minimizes every input that adds coverage by removing bytes one at a
// time and then every range of bytes: O(n²) runs of the fuzz function for
// an n-byte input, for up to -test.fuzzminimizetime (60 s by default).
// While it does, the worker runs nothing else, so a fuzzer seeded with XML
// documents of a few KiB or ISO images spends its first minutes minimizing:
// `go test -fuzz=FuzzParse -fuzztime=10s` did 17 execs and FuzzReadISO
// about 30 in 2 minutes (golang/go#48820). Use it from TestMain:
//
//	func TestMain(m *testing.M) { fuzzmin.Main(m) }
//
// or call Bound after flag.Parse in a TestMain that does more.
package fuzzmin

import (
	"flag"
	"os"
	"testing"
)

// Runs is the minimization budget Bound sets: runs of the fuzz function
// per new input, a few milliseconds of work.
const Runs = "100x"

// Bound sets -test.fuzzminimizetime to Runs unless the command line set
// it: `go test -fuzz=F -fuzzminimizetime=60s` still minimizes fully (to
// shrink a crasher, say). Call it after flag.Parse.
func Bound() {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.fuzzminimizetime" {
			set = true
		}
	})
	if !set && flag.Lookup("test.fuzzminimizetime") != nil {
		flag.Set("test.fuzzminimizetime", Runs)
	}
}

// Main is a package's whole TestMain: parse the flags, Bound, run the
// tests and exit with their status.
func Main(m *testing.M) {
	flag.Parse()
	Bound()
	os.Exit(m.Run())
}
