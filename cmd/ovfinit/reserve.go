package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/users"
	"github.com/spf13/cobra"
)

// lifecycleFlags are the flags reserve, sanitize and seal share.
type lifecycleFlags struct {
	root, stateDir, runtimeDir, level string
}

func (l *lifecycleFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.root, "root", "/", "root directory of the system to change (an offline image tree, or a test)")
	f.StringVar(&l.stateDir, "state-dir", defaultStateDir, "ovfinit's state directory (under --root): reservations, key store, saved environment")
	f.StringVar(&l.runtimeDir, "runtime-dir", agent.DefaultRuntimeDir, "ovfinit's runtime directory (under --root): the callback settings of this boot")
	f.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
}

func (l *lifecycleFlags) setup(cmd *cobra.Command) (*slog.Logger, *users.Manager, error) {
	log, err := newLogger(cmd.ErrOrStderr(), l.level)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	return log, newUserManager(l.root, log), nil
}

// newUserManager makes the account manager of reserve, sanitize and seal;
// the Windows tests swap in one over an in-memory account database.
var newUserManager = users.NewManager

// live says whether the commands act on the running system (processes,
// power) as well as on files.
func (l *lifecycleFlags) live() bool { return l.root == "/" || l.root == "" }

// sendEvent reports a lifecycle event to the callback URL of the saved
// environment, if there is one; no saved environment or no URL means no
// event, not an error. Delivery failures are logged.
func sendEvent(ctx context.Context, log *slog.Logger, l *lifecycleFlags, typ, msg string) {
	cfg, ok, err := agent.LoadCallback(l.root, l.runtimeDir)
	if err != nil {
		log.Warn("saved callback configuration unreadable: no event", "type", typ, "err", err)
		return
	}
	if !ok {
		log.Debug("no callback URL at the last boot: no event", "type", typ)
		return
	}
	cfg.MaxElapsed = 30 * time.Second
	s := callback.NewSender(log, agent.NewBootID())
	defer s.Close()
	if err := s.Start(cfg); err != nil {
		log.Warn("callbacks disabled", "err", err)
		return
	}
	s.Emit(typ, callback.Data{Message: msg})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Wait(wctx); err != nil {
		log.Warn("event not delivered", "type", typ, "err", err)
	}
}

// parseWhen reads --expires: an RFC 3339 time, or a duration from now
// ("72h", "3d").
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is neither an RFC 3339 time (2026-12-01T18:00:00Z) nor a duration (72h, 3d)", flag, v)
	}
	return now.Add(d), nil
}

// parseDuration is time.ParseDuration plus whole days ("3d").
func parseDuration(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad number of days %q", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative duration %q", v)
	}
	return d, err
}

func newReserveCmd() *cobra.Command {
	var l lifecycleFlags
	var r users.ReserveRequest
	var expires string
	cmd := &cobra.Command{
		Use:   "reserve --user NAME [--key KEY]... [--password-hash HASH] [--admin] [--expires TIME]",
		Short: "Add a user for one reservation of this machine",
		Long: `Reserve creates a user for one reservation: the account with its home, the
given SSH keys (in ~/.ssh/authorized_keys and in ovfinit's key store, which
the embedded SSH server reads), an optional password hash and administrator
rights. The reservation is recorded in the state directory, so that
'ovfinit sanitize' and 'ovfinit seal' remove it later; an existing account
that is not a reservation is refused. A 'reserved' event goes to the
callback URL of the saved environment, if it names one.

Exit status: 0 done, 1 failed, 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, m, err := l.setup(cmd)
			if err != nil {
				return err
			}
			if r.User == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--user is required")}
			}
			now := time.Now()
			if expires != "" {
				if r.Expires, err = parseWhen("--expires", expires, now); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			var keys []string
			for i, k := range r.Keys {
				ks, err := users.ParseKeys(k)
				if err != nil || len(ks) != 1 {
					return &exitError{code: exitUsage, err: fmt.Errorf("--key %d: not one SSH public key", i+1)}
				}
				keys = append(keys, ks...)
			}
			r.Keys = keys
			a, err := users.Reserve(cmd.Context(), m, l.stateDir, r, now)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("reserve: %w", err)}
			}
			msg := fmt.Sprintf("reserved user %s (uid %d)", a.Name, a.UID)
			if !r.Expires.IsZero() {
				msg += " until " + r.Expires.UTC().Format(time.RFC3339)
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			sendEvent(cmd.Context(), log, &l, callback.TypeReserved, msg)
			return nil
		},
	}
	l.add(cmd)
	f := cmd.Flags()
	f.StringVar(&r.User, "user", "", "name of the reservation user (required)")
	f.StringArrayVar(&r.Keys, "key", nil, "SSH public key, in authorized_keys format (repeat for more)")
	f.StringVar(&r.PasswordHash, "password-hash", "", "crypt(3) password hash ($6$, $5$, $y$, $2b$); default: no password")
	f.BoolVar(&r.Admin, "admin", false, "give the user administrator (sudo) rights")
	f.StringVar(&expires, "expires", "", "when the reservation ends, recorded for the manager: RFC 3339 time or a duration from now (72h, 3d)")
	return cmd
}
