package sshd

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/ovfinit/ovfinit/internal/fuzzmin"
)

// TestMain lets the test binary act as the sftp-server helper on Windows
// too (security_unix_test.go has the Unix one), as ovfinit.exe does.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == SFTPServerArg {
		if err := ServeSFTP(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "sftp-server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	fuzzmin.Bound()
	os.Exit(m.Run())
}
