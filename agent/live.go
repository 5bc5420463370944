package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/ovfinit/ovfinit/hostname"
	"github.com/ovfinit/ovfinit/internal/memtrim"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/ovfinit/ovfinit/users"
	gossh "golang.org/x/crypto/ssh"
)

// Options are what `ovfinit run` is told on its command line.
type Options struct {
	Root     string
	StateDir string
	// RuntimeDir (under Root) holds what must not outlive the boot on disk:
	// the environment in clear and the callback secret. Default
	// DefaultRuntimeDir, a tmpfs on every systemd and most other Linux
	// systems.
	RuntimeDir string
	EnvFile    string
	WaitEnv    time.Duration
	// SSHPort is the embedded SSH server's port when the environment sets
	// no ovfinit.ssh.port (0: 22). `ovfinit install --port` sets it.
	SSHPort int
}

// NewEnv wires an Env to the live machine.
func NewEnv(o Options, log *slog.Logger, events Events) *Env {
	if o.Root == "" {
		o.Root = "/"
	}
	red := redact.New() // the environment's secrets join it once read
	return &Env{
		Log:            redact.Logger(log, red),
		Redact:         red,
		Root:           o.Root,
		StateDir:       o.StateDir,
		RuntimeDir:     o.RuntimeDir,
		EnvFile:        o.EnvFile,
		WaitEnv:        o.WaitEnv,
		DefaultSSHPort: o.SSHPort,
		BootID:         NewBootID(),
		Live:           liveRoot(o.Root),
		Now:            time.Now,
		Events:         events,
		FindEnv:        probeTransports,
		Network:        netcfg.NewSystem,
		SetHostname:    hostname.Live,
		SystemUUID:     ovfenv.SystemUUID,
		CreateUser:     users.Ensure,
		StartSSH:       serveSSH,

		WipeGuestinfo:  wipeGuestinfo,
		RSAHostKey:     true,
		StatusInterval: DefaultStatusInterval,
		HandOverSettle: DefaultHandOverSettle,
		InterimSSH:     liveRoot(o.Root) && sshd.HandoverInstalled(o.Root),
		// Fail loudly: a failed event must be able to leave the machine.
		FailSafeNetwork: o.Root == "/",
		// Only the running system's NICs can still appear.
		WaitNICs: liveWait(o.Root, 30*time.Second),
	}
}

// liveWait is d for the running system's root, else 0.
func liveWait(root string, d time.Duration) time.Duration {
	if !liveRoot(root) {
		return 0
	}
	return d
}

// NewBootID returns a random id for this run of the agent; event ids are
// made from it, so they stay unique across reboots.
func NewBootID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// probeTransports looks for the environment on every transport, in the
// order docs/transports.md gives, waiting up to WaitEnv.
func probeTransports(ctx context.Context, e *Env) (*ovfenv.Source, error) {
	p := &ovfenv.Prober{
		Transports: ovfenv.DefaultTransports(ovfenv.TransportOptions{Root: e.Root, Offline: !e.Live, Log: e.Log}),
		Wait:       e.WaitEnv,
		Poll:       250 * time.Millisecond,
		Log:        e.Log,
	}
	return p.Probe(ctx)
}

// wipeGuestinfo clears guestinfo keys through the VMware channels.
func wipeGuestinfo(ctx context.Context, e *Env, keys []string) error {
	return ovfenv.WipeGuestinfo(ctx, ovfenv.TransportOptions{Root: e.Root, Offline: !e.Live, Log: e.Log}, keys)
}

// runningSSH adapts the sshd server to the SSHServer seam.
type runningSSH struct {
	srv *sshd.Server
	l   net.Listener
}

func (r *runningSSH) Addr() net.Addr                     { return r.l.Addr() }
func (r *runningSSH) Shutdown(ctx context.Context) error { return r.srv.Shutdown(ctx) }
func (r *runningSSH) AddHostKey(k gossh.Signer)          { r.srv.AddHostKey(k) }
func (r *runningSSH) StopListening() error               { return r.srv.StopListening() }

// serveSSH binds the port first, so a port conflict fails the step, then
// serves in the background.
func serveSSH(cfg sshd.Config) (SSHServer, error) {
	if cfg.OnIdle == nil && cfg.Log != nil {
		// Give memory back whenever nobody is connected (docs/performance.md).
		cfg.OnIdle = memtrim.Func(cfg.Log)
	}
	srv, err := sshd.New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err // wraps syscall.EADDRINUSE when the port is taken
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, sshd.ErrServerClosed) {
			cfg.Log.Error("SSH server stopped", "err", err)
		}
	}()
	return &runningSSH{srv: srv, l: l}, nil
}
