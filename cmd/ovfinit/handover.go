package main

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/sshd"
)

// newSSHHandoverCmd is what OpenSSH's service runs before sshd binds its
// port (the drop-in sshd.HandoverDropIn): ovfinit's interim server, when
// one is answering on that port, closes its listener.
func newSSHHandoverCmd() *cobra.Command {
	var root, runtimeDir string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ssh-handover",
		Short: "Ask ovfinit's interim SSH server to give its port to OpenSSH",
		Long: `Ssh-handover is run by the image's OpenSSH service before sshd starts (the
drop-in ` + sshd.HandoverDropInName + ` that the ovfinit package installs for ssh.service
and sshd.service). While the boot has not reached OpenSSH, ovfinit's own server
answers on OpenSSH's port with the instance's host keys (ovfinit.ssh.server=auto);
this asks it to close its listener and waits until it has. Sessions already open
on it go on to their end.

Exit status: 0 when the port was handed over or no interim server was running,
1 when the server did not answer within --timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			sock := filepath.Join(root, filepath.FromSlash(path.Join("/", runtimeDir, agent.HandoverSocket)))
			handed, err := sshd.RequestHandover(ctx, sock)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("ssh-handover: %w", err)}
			}
			if handed {
				fmt.Fprintln(cmd.ErrOrStderr(), "ovfinit: the interim SSH server has given its port to OpenSSH")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "root", "/", "root directory the runtime directory is under")
	f.StringVar(&runtimeDir, "runtime-dir", agent.DefaultRuntimeDir, "ovfinit's runtime directory (run --runtime-dir)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the answer")
	return cmd
}
