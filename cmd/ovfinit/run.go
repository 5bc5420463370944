package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"syscall"
	"time"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var o agent.Options
	var level, logFile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the first-boot pipeline, then keep serving SSH (what the service runs at boot)",
		Long: `Run finds the OVF environment, checks all of it, applies it (host name,
network, user and keys, SSH host key), starts the embedded SSH server, runs the
customization script and reports ready (or failed) to the callback URL. Then it
keeps serving SSH in the foreground until it gets SIGTERM or SIGINT.

Steps that run once per instance are skipped on a reboot of the same instance.
If no environment is found on a later boot, the one saved at the last boot is
used: a missing environment never makes a new instance.

Exit status: 0 after a clean stop, 1 if the boot failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
			console, closeConsole := consoleWriter(stderr, stderrIsJournal(stderr), openSystemConsole)
			defer closeConsole()
			if console != stderr {
				// The fingerprint block: the journal (stdout) and the console.
				stdout = io.MultiWriter(stdout, console)
			}
			log, err := newLogger(console, level)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			log, closeLog, err := addLogSinks(log, level, o.Root, logFile)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			defer closeLog()
			return asService(cmd.Context(), func(ctx context.Context) error {
				return run(ctx, o, log, stdout)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Root, "root", "/", "root directory every file is written under (for offline image trees and tests)")
	f.StringVar(&o.StateDir, "state-dir", defaultStateDir, "directory (under --root) for state, the saved environment and the SSH host key")
	f.StringVar(&o.RuntimeDir, "runtime-dir", agent.DefaultRuntimeDir, "directory (under --root, best a tmpfs) for what holds secrets during the boot: the clear environment, the callback secret")
	f.StringVar(&o.EnvFile, "env", "", "read the OVF environment from this file instead of looking for the ISO")
	f.DurationVar(&o.WaitEnv, "wait-env", 2*time.Minute, "how long to wait for the environment ISO to appear")
	f.IntVar(&o.SSHPort, "ssh-port", 22, "TCP port of the embedded SSH server when the environment sets no ovfinit.ssh.port")
	f.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFile, "log-file", defaultLogFile, "also log to this file (under --root), \"\" for none; the journal or Windows event log is added when present")
	return cmd
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// sessionsForever is how long sessions opened on the interim SSH server may
// last after OpenSSH has taken the port: until ovfinit is stopped.
const sessionsForever = 100 * 365 * 24 * time.Hour

func run(ctx context.Context, o agent.Options, log *slog.Logger, console io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	log.Info("ovfinit started", append([]any{"version", version}, startupAttrs()...)...)
	stopProfile := startCPUProfile(o.Root, log)
	env := agent.NewEnv(o, log, nil)
	env.StartSSH = withServerPolicy(env.StartSSH)     // GC and GOMAXPROCS (procs.go)
	env.GenerateRSA = rsaInChild(env.Log)             // at the lowest CPU priority
	sender := callback.NewSender(env.Log, env.BootID) // redacted (env.Redact)
	defer sender.Close()
	env.Events = sender
	// Events waiting for the network go out the moment an address or a
	// route appears (netlink), not at the end of a backoff sleep.
	if err := callback.WatchNetwork(ctx, sender.NetworkChanged); err != nil {
		log.Warn("callback events are retried on their backoff alone", "err", err)
	}
	// Events not acknowledged survive a crash or reboot in the spool and
	// are sent first on the next run. Without it they are kept in memory.
	if err := sender.OpenSpoolAt(o.Root, path.Join("/", o.StateDir, "spool")); err != nil {
		log.Warn("callback events will not survive a restart", "err", err)
	}

	runErr := agent.Run(ctx, env, agent.Steps())
	stopProfile()
	if a := costAttrs(); a != nil {
		log.Info("pipeline cost", a...)
	}
	// The pipeline has ended: under systemd (Type=notify) this releases
	// what is ordered after ovfinit (network-online.target, ssh). A failure
	// releases them too: boot goes on, and the SSH server stays up for an
	// administrator when it got that far.
	if runErr != nil {
		// Any user may read the status line (systemctl status).
		notify("READY=1\nSTATUS=failed: " + env.PublicMessage(runErr))
	} else {
		notify("READY=1\nSTATUS=ready")
	}
	fingerprints := make(chan struct{})
	if runErr == nil && env.HostKey != nil {
		// After the background RSA key, so the block lists every key.
		go func() { defer close(fingerprints); printFingerprints(ctx, console, env) }()
	} else {
		close(fingerprints)
	}
	if env.SSH != nil {
		log.Info("serving SSH until stopped", "addr", env.SSH.Addr().String())
		select {
		case <-ctx.Done():
			notify("STOPPING=1")
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			env.SSH.Shutdown(sctx)
			cancel()
		case <-env.SSHHandedOver():
			// The interim server (ovfinit.ssh.server=auto): OpenSSH has
			// the port; the sessions opened here go on to their end, or
			// until ovfinit is stopped.
			log.Info("the image's OpenSSH has the SSH port now; open sessions go on", "addr", env.SSH.Addr().String())
			// Shutdown ends sessions at its context's deadline (a default
			// one when there is none): here only a stop ends them.
			sctx, cancel := context.WithDeadline(ctx, time.Now().Add(sessionsForever))
			env.SSH.Shutdown(sctx)
			cancel()
		}
	}
	if env.SSHHandover != nil {
		env.SSHHandover.Close()
	}
	// When the image's OpenSSH serves SSH (ovfinit.ssh.server), the RSA
	// host key still goes to /etc/ssh and the block to the console before
	// ovfinit exits.
	select {
	case <-fingerprints:
	case <-ctx.Done():
	}
	// Give the manager its last events before exiting.
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch err := sender.Wait(wctx); {
	case errors.Is(err, callback.ErrNotStarted):
		sender.DiscardSpool() // no callback URL: nobody to send them to
	case err != nil:
		log.Warn("exiting with undelivered events; they stay in the spool for the next run", "pending", sender.Pending())
	}
	// A lease of ovfinit's own still waiting for the image's DHCP client
	// (agent.DefaultHandOverSettle) is handed over now: after the exit
	// nothing would renew it.
	hwait := 30 * time.Second
	if ctx.Err() != nil {
		hwait = 5 * time.Second // being stopped
	}
	hctx, hcancel := context.WithTimeout(context.Background(), hwait)
	if err := env.FinishHandOver(hctx); err != nil {
		log.Warn("the image's DHCP client has not been started; nothing renews the lease", "err", err)
	}
	hcancel()
	// Windows has no tmpfs: the runtime directory's secrets go now.
	if err := env.EndBoot(); err != nil {
		log.Warn("secrets of this boot left on disk", "err", err)
	}
	if runErr != nil {
		return &exitError{code: exitFailed, err: runErr}
	}
	return nil
}

// printFingerprints writes the block cloud-init made familiar, for whoever
// reads the serial console, once every host key (RSA is made in the
// background) is ready.
func printFingerprints(ctx context.Context, w io.Writer, env *agent.Env) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	keys := env.WaitSSHHostKeys(ctx)
	host, _ := os.Hostname()
	fmt.Fprint(w, sshd.FingerprintBlock(keys, "root@"+host))
}
