package main

import (
	"fmt"

	"github.com/ovfinit/ovfinit/users"
	"github.com/spf13/cobra"
)

func newSealCmd() *cobra.Command {
	var l lifecycleFlags
	var o users.SealOptions
	cmd := &cobra.Command{
		Use:   "seal [--end-state off|reboot|on] [--dry-run]",
		Short: "Generalize this machine for capture as a template, then power off",
		Long: `Seal removes what makes this machine one instance, so that every VM made
from the captured image is a fresh one: reservation users, SSH host keys
(ovfinit's and /etc/ssh/ssh_host_*), the machine id (/etc/machine-id is
truncated, as systemd expects; /var/lib/dbus/machine-id removed if it is a
file), ovfinit's state and saved environment, its runtime directory (the
callback secret of this boot), DHCP leases, logs under
/var/log (rotated ones removed, the others truncated), shell histories, and
the contents of /tmp and /var/tmp. Then it brings the machine to the end
state: off (default), reboot, or on. On Windows it runs sysprep /generalize
/oobe with /shutdown, /reboot or /quit. docs/lifecycle.md lists it all.

--dry-run lists what would go and changes nothing. With --root other than /,
files are changed but the power state is left alone.

Exit status: 0 done, 1 failed (nothing is powered off then), 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, m, err := l.setup(cmd)
			if err != nil {
				return err
			}
			if err := users.ValidEndState(o.EndState); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			o.StateDir, o.RuntimeDir = l.stateDir, l.runtimeDir
			if l.live() {
				o.Kill = users.KillUser()
				o.Power = users.Power(m.Run)
			}
			items, err := users.Seal(cmd.Context(), m, o)
			w := cmd.OutOrStdout()
			// With --root the power state is left alone: say so, not the
			// end state that does not happen.
			end := "end state " + o.EndState
			if !l.live() {
				end = "power state left alone (--root " + l.root + ")"
			}
			if o.DryRun {
				for _, it := range items {
					fmt.Fprintln(w, it)
				}
				fmt.Fprintf(w, "then: %s\n", end)
			}
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("seal: %w", err)}
			}
			if !o.DryRun {
				fmt.Fprintf(w, "sealed: %d items removed or emptied; %s\n", len(items), end)
			}
			return nil
		},
	}
	l.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.EndState, "end-state", users.EndOff, "what to do once sealed: off, reboot or on")
	f.BoolVar(&o.DryRun, "dry-run", false, "list what would be removed, change nothing")
	return cmd
}
