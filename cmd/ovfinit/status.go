package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
)

func fingerprint(k gossh.PublicKey) string { return sshd.Fingerprint(k) }

func newStatusCmd() *cobra.Command {
	var root, stateDir string
	var wait, asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show how far the first-boot pipeline has come",
		Long: `Status reads the status file the running agent keeps and prints the phase
(running, ready or failed), the instance id and every step with its outcome.
Root sees the scripts' own messages (their fail() reason); other users see
that there is one, not its text.

Exit status:
  0  ready
  1  failed (the message says why and whether a retry could help)
  2  usage error
  3  still running (with --wait: not finished within --timeout)
  4  no status: ovfinit has not run on this machine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			st, err := readStatus(ctx, root, stateDir, wait, timeout)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.Encode(st)
			} else {
				printStatus(cmd.OutOrStdout(), st)
			}
			switch st.Phase {
			case agent.PhaseReady:
				return nil
			case agent.PhaseFailed:
				return &exitError{code: exitFailed}
			default:
				return &exitError{code: exitRunning}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "root", "/", "root directory the agent ran with")
	f.StringVar(&stateDir, "state-dir", defaultStateDir, "the agent's state directory (under --root)")
	f.BoolVar(&wait, "wait", false, "wait until the pipeline is ready or failed")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait: give up after this long (exit 3)")
	f.BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

// readStatus reads the full status when this user may (root), else the
// world-readable one (agent.LoadStatus).
func readStatus(ctx context.Context, root, stateDir string, wait bool, timeout time.Duration) (*agent.Status, error) {
	path := agent.StatusPath(root, stateDir)
	deadline := time.Now().Add(timeout)
	for {
		st, err := agent.LoadStatus(root, stateDir)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !wait:
			return nil, &exitError{code: exitNoStatus, err: fmt.Errorf("no status at %s: ovfinit has not run here", path)}
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, &exitError{code: exitFailed, err: err}
		case err == nil && (!wait || st.Phase != agent.PhaseRunning):
			return st, nil
		}
		if time.Now().After(deadline) {
			if st != nil {
				return st, nil // still running: the caller exits 3
			}
			return nil, &exitError{code: exitRunning, err: fmt.Errorf("no status at %s after %s", path, timeout)}
		}
		select {
		case <-ctx.Done():
			return nil, &exitError{code: exitRunning, err: ctx.Err()}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printStatus(w io.Writer, st *agent.Status) {
	fmt.Fprintf(w, "phase:    %s\n", st.Phase)
	if st.InstanceID != "" {
		fmt.Fprintf(w, "instance: %s\n", st.InstanceID)
	}
	fmt.Fprintf(w, "boot:     %s (pid %d, started %s, updated %s)\n", st.Boot, st.PID,
		st.Started.Format(time.RFC3339), st.Updated.Format(time.RFC3339))
	if st.Phase == agent.PhaseFailed {
		fmt.Fprintf(w, "failed:   %s: %s\n", st.Step, st.Message)
		if st.Retry != nil {
			fmt.Fprintf(w, "retry:    %v (whether redeploying could help)\n", *st.Retry)
		}
	}
	for _, k := range st.SSHHostKeys {
		fmt.Fprintf(w, "host key: %s %s\n", k.Type, k.Fingerprint)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTEP\tFREQUENCY\tSTATUS\tTIME\tMESSAGE")
	for _, s := range st.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%dms\t%s\n", s.Name, s.Frequency, s.Status, s.DurationMS, s.Message)
	}
	tw.Flush()
}
