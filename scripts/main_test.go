package scripts

import (
	"os"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// testCmdVar names the command the test binary plays when a test runs it
// (execLiveWindows): "sleep" sleeps a minute, for exec's timeout.
const testCmdVar = "OVFINIT_SCRIPTS_TEST_CMD"

// TestMain bounds fuzz minimization to keep the fuzzers fuzzing (package
// fuzzmin).
func TestMain(m *testing.M) {
	if os.Getenv(testCmdVar) == "sleep" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	fuzzmin.Main(m)
}
