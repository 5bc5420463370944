package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/users"
	"github.com/spf13/cobra"
)

func newSanitizeCmd() *cobra.Command {
	var l lifecycleFlags
	var o users.SanitizeOptions
	var ifNoLogin string
	cmd := &cobra.Command{
		Use:   "sanitize (--user NAME... | --all-reservations) [--keep-home] [--if-no-login AFTER]",
		Short: "Remove reservation users, their sessions, processes, keys and homes",
		Long: `Sanitize removes users that 'ovfinit reserve' created: first every process
of the user (its SSH sessions with them; on the live system only), then the
account and its group, its home directory (unless --keep-home), its keys in
ovfinit's key store, its login record and the reservation. Accounts that are
not reservations are refused.

With --if-no-login AFTER (a duration: 30m, 12h, 3d), it removes nobody if any
of the chosen users logged in over SSH, or was reserved, within that time.

A 'sanitized' event goes to the callback URL of the saved environment, if it
names one.

Exit status: 0 done (also when --if-no-login kept the users), 1 failed,
2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, m, err := l.setup(cmd)
			if err != nil {
				return err
			}
			if (len(o.Users) == 0) == !o.All {
				return &exitError{code: exitUsage, err: fmt.Errorf("give either --user or --all-reservations")}
			}
			if ifNoLogin != "" {
				if o.IfNoLoginSince, err = parseDuration(ifNoLogin); err != nil || o.IfNoLoginSince == 0 {
					return &exitError{code: exitUsage, err: fmt.Errorf("--if-no-login: %q is not a duration (30m, 12h, 3d)", ifNoLogin)}
				}
			}
			o.Now = time.Now()
			if l.live() {
				o.Kill = users.KillUser()
			}
			res, err := users.Sanitize(cmd.Context(), m, l.stateDir, o)
			if res != nil && len(res.Removed) > 0 {
				msg := "sanitized users " + strings.Join(res.Removed, ", ")
				fmt.Fprintln(cmd.OutOrStdout(), msg)
				sendEvent(cmd.Context(), log, &l, callback.TypeSanitized, msg)
			}
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("sanitize: %w", err)}
			}
			if len(res.Kept) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "kept %s: a login or reservation within %s\n", strings.Join(res.Kept, ", "), o.IfNoLoginSince)
			} else if len(res.Removed) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no reservations to sanitize")
			}
			return nil
		},
	}
	l.add(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&o.Users, "user", nil, "reservation user to remove (repeat for more)")
	f.BoolVar(&o.All, "all-reservations", false, "remove every reservation user")
	f.BoolVar(&o.KeepHome, "keep-home", false, "keep the home directories")
	f.StringVar(&ifNoLogin, "if-no-login", "", "only if nobody logged in (or was reserved) within this long: 30m, 12h, 3d")
	return cmd
}
