// Command ovfinit is the first-boot agent for VM images: it reads the OVF
// environment, configures the machine, serves SSH and reports progress to the
// manager. See `ovfinit --help`.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	// For `ovfinit run`, the binary is read ahead from the first
	// initialisers on, not one page fault at a time (issue 20).
	_ "github.com/ovfinit/ovfinit/internal/exeahead"
)

// Exit codes. `ovfinit status` documents them in docs/cli.md; keep them stable.
const (
	exitOK       = 0 // ready (status) or success
	exitFailed   = 1 // the boot failed, or the command failed
	exitUsage    = 2 // bad flags or arguments
	exitRunning  = 3 // status: the pipeline is still running (or --wait timed out)
	exitNoStatus = 4 // status: ovfinit has never run here
)

// exitError ends the program with a given code after printing its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// Stamped at release build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ovfinit",
		Short: "First-boot agent for VM images driven by the OVF environment",
		Long: `ovfinit runs once at each boot of a VM made from an image template. It reads
the OVF environment the manager passed at deploy (an ovf-env.xml on an ISO, or
a file given with --env), sets the host name and network, creates the user with
its SSH keys, starts its own SSH server, runs the customization script and
reports every step to the manager's callback URL until the VM is ready.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRunCmd(),
		newStatusCmd(),
		newEnvCmd(),
		newNetCmd(),
		newScriptCmd(),
		newWatchCmd(),
		newReserveCmd(),
		newSanitizeCmd(),
		newSealCmd(),
		newInstallCmd(),
		newUninstallCmd(),
		newStartCmd(),
		newStopCmd(),
		newOVACmd(),
		newVersionCmd(),
		newSSHDCmd(), newSFTPServerCmd(), newSSHHandoverCmd(), newRSAKeyCmd(),
	)
	return root
}

func main() {
	cmd, err := newRoot().ExecuteC()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "ovfinit:", ee.err)
		}
		os.Exit(ee.code)
	}
	// Anything else cobra returns before running a command is a usage error.
	fmt.Fprintf(os.Stderr, "ovfinit: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
	os.Exit(exitUsage)
}
