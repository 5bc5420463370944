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
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/system"
	"github.com/ovfinit/ovfinit/manager/web"
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
	limits    serverLimits

	systemFile string         // --system: the system file; "" for none
	system     *system.System // parsed from systemFile

	web       string        // --web: address of the web view; "" for none
	webToken  string        // --web-token, or generated for a non-loopback --web
	webLinger time.Duration // --web-linger: serve the page this long after the outcome
	webLn     net.Listener  // listening on web
	webMade   bool          // webToken was generated: print it, once
}

// serverLimits bound how long and how much one request may hold the
// server: a sender that trickles its headers or body is cut off.
type serverLimits struct {
	readHeader time.Duration // to read a request's headers
	read       time.Duration // to read a whole request, body included
	write      time.Duration // to write the answer
	idle       time.Duration // a kept-alive connection between requests
}

// defaultServerLimits are watch's: an event is at most 256 KiB and is sent
// at once, so a request taking longer than this is not an agent's.
var defaultServerLimits = serverLimits{readHeader: 10 * time.Second, read: 30 * time.Second, write: 30 * time.Second, idle: 2 * time.Minute}

// maxHeaderBytes bounds a request's headers; an agent's are under 1 KiB.
const maxHeaderBytes = 16 << 10

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
ovfinit.callback.secret. Events are signed with the Standard Webhooks
scheme (webhook-id, webhook-timestamp, webhook-signature); a secret
"whsec_<base64>" is the base64 of the key, any other is the key itself.

An event with a missing or wrong signature, or a timestamp more than
--max-skew from this clock (a replay), is refused with 401 and a line on
standard error; with --instance, an event from any other instance is refused
with 403. Without --expect and --instance, watch waits for one VM.

--instance takes ids or patterns (web-*, vm-[0-9]*, quoted from the shell);
with patterns, give --expect too. With --expect N, the first N distinct
instances to send an accepted event are the ones watch waits for, and an
event from any further instance is refused with 403: it cannot make watch
finish early. Anyone holding the secret can sign events for any instance
id, so name the instances with --instance to be sure which ones count.

Text from the events (instance ids, steps, messages, host names) is printed
with control characters, escape sequences and bidi overrides escaped (\x1b,
\u202e): a sender cannot write to the terminal's title or clipboard or forge
lines. A request must arrive whole within 30 seconds (headers within 10).

The secret can also be given in the environment variable
OVFINIT_CALLBACK_SECRET, which keeps it out of the process list.

--system FILE makes the VMs a system (docs/callbacks.md, "Systems of
VMs"): the file names the members, the instances (ids or patterns) that
make each, and which members wait for which:

  members:
    db:
      instances: [db-1]
    app:
      instances: ["app-*"]
      count: 2
      after: [db]

Watch then also answers the system protocol on --listen (the VMs'
ovfinit.system.url defaults to their callback URL): a member asks whether
the members it comes after are ready, and reads their addresses, host keys
and published values; its scripts publish values. Without --expect and
--instance, watch waits for every member's instances.

--web ADDR serves a live, read-only web page of the VMs on ADDR (and the
same data as JSON at /api/vms): one row per VM with its state, a timeline
of its steps, its addresses, the ssh command and known_hosts line, or why
it failed; above them the fleet's counts, boot times and slowest steps.
On a loopback address (127.0.0.1:8081, the usual) it needs no token and
answers only to the names 127.0.0.1, [::1] and localhost. On any other
address it requires a token: --web-token (or OVFINIT_WEB_TOKEN), else one
is generated and watch prints the page's URL with it, once, on standard
error (a token you give is never printed). --web-linger keeps the page up
that long after the outcome is known (Ctrl-C ends it sooner); the exit
status stays the outcome's.

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
			if err := callback.CheckSecret(o.secret); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--secret: %w", err)}
			}
			if o.expect < 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--expect %d: want a count from 1 up", o.expect)}
			}
			if err := callback.CheckInstances(o.instances); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--instance: %w", err)}
			}
			if o.systemFile != "" {
				src, err := os.ReadFile(o.systemFile)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--system: %w", err)}
				}
				if o.system, err = parseSystem(o.systemFile, src); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--system:\n%w", err)}
				}
				if len(o.instances) == 0 && o.expect == 0 {
					o.instances, o.expect = o.system.Patterns()
				}
			}
			patterns := slices.ContainsFunc(o.instances, func(s string) bool { return strings.ContainsAny(s, `*?[\`) })
			if o.expect == 0 && patterns {
				return &exitError{code: exitUsage, err: errors.New("--instance with a pattern: give --expect too, the number of VMs to wait for")}
			}
			if !patterns && len(o.instances) > 0 && o.expect > len(o.instances) {
				return &exitError{code: exitUsage, err: fmt.Errorf("--expect %d: more than the %d ids of --instance", o.expect, len(o.instances))}
			}
			if o.expect == 0 && len(o.instances) == 0 {
				o.expect = 1
			}
			if err := webFlags(&o); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--listen %s: %w", o.listen, err)}
			}
			if o.web != "" {
				if o.webLn, err = net.Listen("tcp", o.web); err != nil {
					ln.Close()
					return &exitError{code: exitUsage, err: fmt.Errorf("--web %s: %w", o.web, err)}
				}
			}
			o.limits = defaultServerLimits
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			return watch(ctx, ln, o, out, cmd.ErrOrStderr(), isTerminal(out))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on for events (HTTP)")
	f.StringVar(&o.secret, "secret", "", "shared secret of ovfinit.callback.secret; events must be signed with it (default $OVFINIT_CALLBACK_SECRET; empty: signatures not checked)")
	f.IntVar(&o.expect, "expect", 0, "number of VMs to wait for: the first N distinct instances count, events from others are refused (default: the --instance ids, or 1)")
	f.StringSliceVar(&o.instances, "instance", nil, "instance id or pattern (web-*) to accept; repeat or comma-separate; events from other instances are refused")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up (exit 2) when the VMs are not all ready by then")
	f.DurationVar(&o.maxSkew, "max-skew", callback.DefaultMaxSkew, "refuse signed events whose timestamp is further than this from this clock")
	f.BoolVar(&o.json, "json", false, "print each new event as one JSON line on standard output, for other tools")
	f.StringVar(&o.systemFile, "system", "", "system file (YAML): the members, their instances and which wait for which (after:); serves the system protocol on --listen")
	f.StringVar(&o.web, "web", "", "serve a live web view of the VMs on this address (127.0.0.1:8081; another than loopback needs a token)")
	f.StringVar(&o.webToken, "web-token", "", "token the web view requires, at least 16 characters (default $OVFINIT_WEB_TOKEN; generated for a non-loopback --web)")
	f.DurationVar(&o.webLinger, "web-linger", 0, "keep serving the web view this long after the outcome is known (Ctrl-C ends it sooner)")
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
	var fleet *web.Fleet
	if o.webLn != nil {
		fleet = web.NewFleet(0, nil)
		stopWeb := serveWeb(o, fleet)
		defer stopWeb()
		switch {
		case o.webMade:
			fmt.Fprintf(errOut, "ovfinit watch: web view at %s (a token made for this run: the page is not on loopback)\n", webURL(o, true))
		case o.webToken != "":
			fmt.Fprintf(errOut, "ovfinit watch: web view at %s?token=<the --web-token>\n", webURL(o, false))
		default:
			fmt.Fprintf(errOut, "ovfinit watch: web view at %s\n", webURL(o, false))
		}
	}
	cfg := callback.ReceiverConfig{
		MaxSkew:   o.maxSkew,
		Instances: o.instances,
		Expect:    o.expect,
		OnReject: func(remote string, code int, err error) {
			outMu.Lock()
			defer outMu.Unlock()
			v.clear()
			fmt.Fprintf(errOut, "ovfinit watch: refused event from %s with %d: %s\n", remote, code, callback.Printable(err.Error()))
			v.dirty = true
		},
		OnEvent: func(ev callback.Event, raw []byte) {
			if fleet != nil {
				fleet.Add(ev)
			}
			outMu.Lock()
			defer outMu.Unlock()
			switch {
			case o.json:
				fmt.Fprintf(out, "%s\n", printableJSON(compactJSON(raw)))
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
	var handler http.Handler
	recv := callback.NewReceiver(cfg)
	handler = recv
	if o.system != nil {
		st := system.NewState(o.system, system.Config{Secret: cfg.Secret, MaxSkew: o.maxSkew})
		if fleet != nil {
			fleet.SetSystem(st) // the web view shows members and whom each waits for
		}
		onEvent := cfg.OnEvent
		recv = callback.NewReceiver(withObserver(cfg, onEvent, st))
		handler = system.Route(recv, st.Handler(cfg.OnReject))
	}
	srv := &http.Server{Handler: handler, MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: o.limits.readHeader, ReadTimeout: o.limits.read, WriteTimeout: o.limits.write, IdleTimeout: o.limits.idle}
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
		if o.webLn != nil && o.webLinger > 0 && ctx.Err() == nil {
			fmt.Fprintf(errOut, "ovfinit watch: the web view stays at %s for %v (Ctrl-C ends it)\n", webURL(o, false), o.webLinger)
			outMu.Unlock()
			linger := time.NewTimer(o.webLinger)
			select {
			case <-linger.C:
			case <-ctx.Done():
			}
			linger.Stop()
			outMu.Lock()
		}
		if code == callback.OutcomeReady {
			return nil
		}
		return &exitError{code: code}
	}
	for {
		changed := recv.Changed()
		if done, code, why := recv.Outcome(); done {
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
			_, _, why := recv.Outcome()
			return finish(callback.OutcomeRetry, fmt.Sprintf("timed out after %v: %s", o.timeout, why))
		case <-ctx.Done():
			_, _, why := recv.Outcome()
			return finish(callback.OutcomeRetry, "interrupted: "+why)
		}
	}
}

// parseSystem reads a system file (manager/system).
func parseSystem(name string, src []byte) (*system.System, error) { return system.Parse(name, src) }

// withObserver returns cfg whose OnEvent also feeds the system state.
func withObserver(cfg callback.ReceiverConfig, onEvent func(callback.Event, []byte), st *system.State) callback.ReceiverConfig {
	cfg.Admit = st.Admit
	cfg.OnEvent = func(ev callback.Event, raw []byte) {
		st.Observe(ev)
		if onEvent != nil {
			onEvent(ev, raw)
		}
	}
	return cfg
}

func want(o watchOptions) string {
	if len(o.instances) > 0 && o.expect > 0 {
		return fmt.Sprintf("%d VMs of instances %s", o.expect, strings.Join(o.instances, ", "))
	}
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

// printableJSON escapes, as \uXXXX, the characters valid in a JSON string
// that a terminal could act on: DEL, the C1 controls (U+0080-U+009F, CSI
// among them) and the format characters Printable escapes (bidi overrides,
// line separators). JSON allows them raw; outside strings JSON is ASCII,
// so the result is the same JSON.
func printableJSON(js []byte) []byte {
	if !bytes.ContainsFunc(js, func(r rune) bool { return r == 0x7f || r == utf8.RuneError || (r >= 0x80 && !unicode.IsPrint(r)) }) {
		return js
	}
	var b bytes.Buffer
	for len(js) > 0 {
		r, size := utf8.DecodeRune(js)
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\ufffd`) // not UTF-8: the receiver's decoder read it so
		case r == 0x7f || (r >= 0x80 && !unicode.IsPrint(r)):
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.Write(js[:size])
		}
		js = js[size:]
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
	return callback.Printable(fmt.Sprintf("%-20s [%s] %3d%% %s", vm.Instance, bar, vm.Percent, state))
}
