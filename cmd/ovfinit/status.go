package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/spf13/cobra"
)

func newStatusCmd() *cobra.Command {
	var root, stateDir, statusDir string
	var wait, asJSON, long bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show how far the first-boot pipeline has come",
		Long: `Status reads the status file the running agent keeps and prints the phase
(running, ready or failed), the instance id and every step with its outcome.
Any user may run it: root reads the full status in the state directory,
other users the world-readable copy in --status-dir, which holds step
names, outcomes, times and ovfinit's own messages. Root sees the scripts'
own messages (their fail() reason); other users see that there is one, not
its text.

--long adds the timeline of the boot: when each step started (clock time
and offset from the start of the boot), how long it took, and the slowest
steps. --json prints the status file (per step: name, frequency, status,
started, durationMs, message).

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
			st, err := readStatus(ctx, root, stateDir, statusDir, wait, timeout)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.Encode(st)
			} else {
				printStatus(cmd.OutOrStdout(), st, long)
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
	f.StringVar(&statusDir, "status-dir", agent.DefaultStatusDir, "directory (under --root) of the world-readable status, read when the full one is not readable")
	f.BoolVar(&asJSON, "json", false, "print the status as JSON")
	f.BoolVar(&long, "long", false, "print the timeline: every step's start, offset, duration and outcome, and the slowest steps")
	return cmd
}

// readStatus reads the full status when this user may (root), else the
// world-readable one (agent.LoadStatus).
func readStatus(ctx context.Context, root, stateDir, statusDir string, wait bool, timeout time.Duration) (*agent.Status, error) {
	path := agent.PublicStatusPath(root, statusDir)
	deadline := time.Now().Add(timeout)
	for {
		st, err := agent.LoadStatus(root, stateDir, statusDir)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !wait:
			if _, perr := os.Stat(agent.PrivateStatusPath(root, stateDir)); errors.Is(perr, fs.ErrPermission) {
				// Not root, and the public copy (in /run) is not there.
				return nil, &exitError{code: exitNoStatus, err: fmt.Errorf("no status at %s: ovfinit has not run in this boot yet (root can read the last one: sudo ovfinit status)", path)}
			}
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

func printStatus(w io.Writer, st *agent.Status, long bool) {
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
	} else if st.Message != "" {
		fmt.Fprintf(w, "note:     %s\n", st.Message) // ready: a reboot pending
	}
	for _, k := range st.SSHHostKeys {
		fmt.Fprintf(w, "host key: %s %s\n", k.Type, k.Fingerprint)
	}
	if long {
		printTimeline(w, st)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTEP\tFREQUENCY\tSTATUS\tTIME\tMESSAGE")
	for _, s := range st.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%dms\t%s\n", s.Name, s.Frequency, s.Status, s.DurationMS, s.Message)
	}
	tw.Flush()
}

// printTimeline prints every step with its start (clock time and offset
// from the start of the boot, like `cloud-init analyze show`), duration
// and outcome, then the total and the slowest steps (`analyze blame`).
func printTimeline(w io.Writer, st *agent.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTEP\tFREQUENCY\tSTART\tOFFSET\tDURATION\tSTATUS\tMESSAGE")
	var total time.Duration
	for _, s := range st.Steps {
		start, offset := "-", "-"
		if !s.Start.IsZero() {
			start = s.Start.Format("15:04:05.000")
			offset = fmt.Sprintf("+%.3fs", s.Start.Sub(st.Started).Seconds())
		}
		d := time.Duration(s.DurationMS) * time.Millisecond
		total += d
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3fs\t%s\t%s\n", s.Name, s.Frequency, start, offset, d.Seconds(), s.Status, s.Message)
	}
	tw.Flush()
	end := st.Updated
	if end.IsZero() || end.Before(st.Started) {
		end = st.Started
	}
	fmt.Fprintf(w, "\n%d steps, %.3fs in steps, %.3fs from start to the last update\n", len(st.Steps), total.Seconds(), end.Sub(st.Started).Seconds())
	slow := slices.Clone(st.Steps)
	slices.SortStableFunc(slow, func(a, b agent.StepStatus) int { return cmp.Compare(b.DurationMS, a.DurationMS) })
	if len(slow) > 3 {
		slow = slow[:3]
	}
	for i, s := range slow {
		if s.DurationMS == 0 {
			break
		}
		if i == 0 {
			fmt.Fprintf(w, "slowest:")
		}
		fmt.Fprintf(w, " %s %.3fs", s.Name, float64(s.DurationMS)/1000)
	}
	if len(slow) > 0 && slow[0].DurationMS > 0 {
		fmt.Fprintln(w)
	}
}
