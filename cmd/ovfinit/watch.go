package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// watchOptions are the flags of ovfinit watch.
type watchOptions struct {
	listen    string
	secret    string
	expect    int
	instances []string
	timeout   time.Duration
	maxSkew   time.Duration
	json      bool
}

func newWatchCmd() *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Receive the progress events of VMs and wait until they are ready (the manager's side)",
		Long: `Watch listens for the CloudEvents ovfinit sends to ovfinit.callback.url,
checks their signatures, drops duplicates, and shows each VM's progress: a
live bar per VM on a terminal, one line per event otherwise, or with --json
each event as one JSON line. Point the VMs' ovfinit.callback.url at
http://HOST:PORT/ (any path) and give them the same secret in
ovfinit.callback.secret.

An event with a missing or wrong signature, or a timestamp more than
--max-skew from this clock (a replay), is refused with 401 and a line on
standard error; with --instance, an event from any other instance is refused
with 403. Without --expect and --instance, watch waits for one VM.

The secret can also be given in the environment variable
OVFINIT_CALLBACK_SECRET, which keeps it out of the process list.

Exit status:
  0  every expected VM is ready
  1  a VM failed and retrying will not help (result fatal)
  2  a VM failed and redeploying may help (result retry), --timeout passed,
     or interrupted; also bad flags`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.secret == "" {
				o.secret = os.Getenv("OVFINIT_CALLBACK_SECRET")
			}
			if o.expect < 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--expect %d: want a count from 1 up", o.expect)}
			}
			if o.expect > 0 && len(o.instances) > 0 {
				return &exitError{code: exitUsage, err: errors.New("--expect and --instance: give one or the other")}
			}
			if o.expect == 0 && len(o.instances) == 0 {
				o.expect = 1
			}
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--listen %s: %w", o.listen, err)}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			return watch(ctx, ln, o, out, cmd.ErrOrStderr(), isTerminal(out))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on for events (HTTP)")
	f.StringVar(&o.secret, "secret", "", "shared secret of ovfinit.callback.secret; events must be signed with it (default $OVFINIT_CALLBACK_SECRET; empty: signatures not checked)")
	f.IntVar(&o.expect, "expect", 0, "number of VMs to wait for (default 1 without --instance)")
	f.StringSliceVar(&o.instances, "instance", nil, "instance id to wait for; repeat or comma-separate; events from other instances are refused")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up (exit 2) when the VMs are not all ready by then")
	f.DurationVar(&o.maxSkew, "max-skew", callback.DefaultMaxSkew, "refuse signed events whose timestamp is further than this from this clock")
	f.BoolVar(&o.json, "json", false, "print each new event as one JSON line on standard output, for other tools")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// watch serves ln until the outcome is known, ctx ends or the timeout
// passes, and returns the exit error (nil for all ready).
func watch(ctx context.Context, ln net.Listener, o watchOptions, out, errOut io.Writer, tty bool) error {
	var outMu sync.Mutex // out and errOut are shared by handlers and the view
	v := &view{out: out, tty: tty}
	cfg := callback.ReceiverConfig{
		MaxSkew:   o.maxSkew,
		Instances: o.instances,
		OnReject: func(remote string, code int, err error) {
			outMu.Lock()
			defer outMu.Unlock()
			v.clear()
			fmt.Fprintf(errOut, "ovfinit watch: refused event from %s with %d: %v\n", remote, code, err)
			v.dirty = true
		},
		OnEvent: func(ev callback.Event, raw []byte) {
			outMu.Lock()
			defer outMu.Unlock()
			switch {
			case o.json:
				fmt.Fprintf(out, "%s\n", compactJSON(raw))
			case tty:
				v.dirty = true
			default:
				fmt.Fprintln(out, time.Now().Format("15:04:05.000"), callback.FormatEvent(ev))
			}
		},
	}
	if o.secret != "" {
		cfg.Secret = []byte(o.secret)
	}
	recv := callback.NewReceiver(cfg)
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		// Let the request that completed the watch get its answer: an
		// agent whose ready event is cut off would resend it, to a port
		// nobody listens on any more.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	if !o.json {
		outMu.Lock()
		fmt.Fprintf(errOut, "ovfinit watch: listening on http://%s/ for %s\n", ln.Addr(), want(o))
		outMu.Unlock()
	}

	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond) // redraw rate on a terminal
	defer tick.Stop()
	finish := func(code int, why string) error {
		outMu.Lock()
		defer outMu.Unlock()
		if tty && !o.json {
			v.draw(recv.VMs())
		}
		st := recv.Stats()
		fmt.Fprintf(errOut, "ovfinit watch: %s (%d events, %d duplicates dropped, %d refused)\n", why, st.Accepted, st.Duplicates, st.Rejected)
		if code == callback.OutcomeReady {
			return nil
		}
		return &exitError{code: code}
	}
	for {
		changed := recv.Changed()
		if done, code, why := recv.Outcome(o.expect); done {
			return finish(code, why)
		}
		select {
		case <-changed:
		case <-tick.C:
			if tty && !o.json {
				outMu.Lock()
				if v.dirty {
					v.draw(recv.VMs())
				}
				outMu.Unlock()
			}
		case <-deadline.C:
			_, _, why := recv.Outcome(o.expect)
			return finish(callback.OutcomeRetry, fmt.Sprintf("timed out after %v: %s", o.timeout, why))
		case <-ctx.Done():
			_, _, why := recv.Outcome(o.expect)
			return finish(callback.OutcomeRetry, "interrupted: "+why)
		}
	}
}

func want(o watchOptions) string {
	if len(o.instances) > 0 {
		return "instances " + strings.Join(o.instances, ", ")
	}
	if o.expect == 1 {
		return "1 VM"
	}
	return fmt.Sprintf("%d VMs", o.expect)
}

// compactJSON puts an event on one line.
func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw // the receiver decoded it: cannot happen
	}
	return b.Bytes()
}

// view draws one progress bar per VM on a terminal, redrawing in place.
type view struct {
	out   io.Writer
	tty   bool
	lines int // lines drawn last time
	dirty bool
}

// clear moves the cursor up over the last drawing and erases it, so a
// message can be printed above the bars.
func (v *view) clear() {
	if !v.tty || v.lines == 0 {
		return
	}
	fmt.Fprintf(v.out, "\x1b[%dA\x1b[J", v.lines)
	v.lines = 0
}

func (v *view) draw(vms []callback.VM) {
	v.clear()
	var b strings.Builder
	for _, vm := range vms {
		b.WriteString(barLine(vm))
		b.WriteByte('\n')
	}
	io.WriteString(v.out, b.String())
	v.lines, v.dirty = len(vms), false
}

// barLine renders one VM: "vm-42     [#########.........]  45% network ok".
func barLine(vm callback.VM) string {
	const width = 24
	filled := vm.Percent * width / 100
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	state := strings.TrimSpace(vm.Step + " " + vm.Status)
	switch vm.Result {
	case callback.ResultReady:
		state = "ready"
		if vm.Hostname != "" {
			state += " " + vm.Hostname
		}
		if len(vm.Addresses) > 0 {
			state += " " + strings.Join(vm.Addresses, ",")
		}
	case callback.ResultRetry, callback.ResultFatal:
		state = fmt.Sprintf("FAILED (%s) at %s: %s", vm.Result, vm.Step, vm.Message)
	}
	return fmt.Sprintf("%-20s [%s] %3d%% %s", vm.Instance, bar, vm.Percent, state)
}
