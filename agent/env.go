package agent

import (
	"context"
	"crypto"
	"io/fs"
	"log/slog"
	"net"
	"path"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/modalias"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/ovfinit/ovfinit/users"
	gossh "golang.org/x/crypto/ssh"
)

// Events is where the runner sends progress: the callback sender, or a fake.
type Events interface {
	Emit(typ string, d callback.Data)
	Start(cfg callback.Config) error
}

// SSHServer is a running SSH server.
type SSHServer interface {
	Addr() net.Addr
	Shutdown(ctx context.Context) error
	// AddHostKey offers a key made after the start (RSA) from now on.
	AddHostKey(k gossh.Signer)
	// StopListening closes the listener: no new connection is accepted,
	// open sessions go on (the interim server's handover to OpenSSH).
	StopListening() error
}

// Env is the pipeline: the wiring (options, the seams through which every
// step touches the machine, fakes in tests) and, embedded, the Boot record
// of what the steps learn as it runs. The wiring is set before Run and not
// changed by the steps; the boot record starts empty.
type Env struct {
	// Log is the agent's logger. Run wraps it so that every secret of
	// the environment (Redact) is replaced in every line.
	Log      *slog.Logger
	Root     string // every file write goes under it ("/" on a live system)
	StateDir string // path under Root, e.g. /var/lib/ovfinit
	// RuntimeDir is a path under Root for what holds secrets (the clear
	// environment, the callback secret); "" means DefaultRuntimeDir. It
	// is never the state directory, which persists and may be captured.
	RuntimeDir string
	// StatusDir is a path under Root for the world-readable status file;
	// "" means DefaultStatusDir.
	StatusDir string
	EnvFile   string        // --env: read the environment from this file instead of probing
	WaitEnv   time.Duration // how long to wait for an environment device to appear
	// WaitNICs is how long validate waits for a NIC the network config
	// names (by MAC or name) to appear: the kernel adds NICs as udev loads
	// their drivers, which may be after ovfinit starts (cloud-init's
	// wait_for_physdevs does the same). 0: not at all (tests).
	WaitNICs       time.Duration
	DefaultSSHPort int // SSH port when ovfinit.ssh.port is unset (run --ssh-port); 0 means 22
	BootID         string
	// Live says whether to change the running system (kernel host name,
	// network) as well as files. NewEnv sets it when Root is "/".
	Live bool
	Now  func() time.Time
	// FailSafeNetwork: a boot that fails before the network step brings
	// up DHCP on the first NIC to report it (failSafeNetwork). NewEnv sets
	// it on a live system; tests that check a failure changes nothing
	// leave it off.
	FailSafeNetwork bool

	// StatusInterval: while steps run, the status file is rewritten at
	// most once per interval (the latest state); 0 rewrites it on every
	// change (tests). NewEnv sets DefaultStatusInterval.
	StatusInterval time.Duration

	// Seams.
	Events  Events
	FindEnv func(ctx context.Context, e *Env) (*ovfenv.Source, error)
	Network func(root string) (netcfg.System, error)
	// SetHostname sets the running system's host name (hostname.Live);
	// rebootPending: it takes effect at the next restart (Windows).
	SetHostname func(ctx context.Context, fqdn, short string) (rebootPending bool, err error)
	// RunningHostname returns the running system's host name; nil is
	// os.Hostname (on Windows the active DNS host name, not one waiting
	// for the restart).
	RunningHostname func() (string, error)
	// OS is the operating system of Root for the steps that write its
	// files the OS's way (hostname, the scripts directory); "" is
	// runtime.GOOS.
	OS         string
	SystemUUID func(root string) (string, error) // ovfenv.SystemUUID
	CreateUser func(root string, u users.User, log *slog.Logger) (*users.Account, error)
	StartSSH   func(cfg sshd.Config) (SSHServer, error)
	SSHHost    string // listen address host part; "" means every address
	// Environment transports (ovfenv): clears used secret guestinfo keys.
	WipeGuestinfo func(ctx context.Context, e *Env, keys []string) error
	// Commands runs user-data's commands (bootcmd, runcmd, packages,
	// power_state); nil: cmdrun.Exec on a live system ("/"), and refused
	// under another root (steps_cloudcfg.go).
	Commands cmdrun.Runner

	// SSH server (sshd): RSAHostKey also makes an RSA host key, in the
	// background (NewEnv sets it; tests leave it off, RSA is slow).
	RSAHostKey bool
	// GenerateRSA makes that RSA key outside this process
	// (sshd.HostKeysConfig.GenerateRSA); nil: in it.
	GenerateRSA func(ctx context.Context) (crypto.Signer, error)
	// HandOverSettle is how long the image's DHCP client waits, after
	// the manager has the boot's outcome, before it takes over a lease of
	// ovfinit's own (handOverReleased); NewEnv sets DefaultHandOverSettle,
	// 0 hands over at once (tests).
	HandOverSettle time.Duration
	// InterimSSH: with ovfinit.ssh.server=auto resolved to the image's
	// OpenSSH, ovfinit's own server answers on OpenSSH's port until
	// OpenSSH's service starts and asks for it (sshd.Handover). NewEnv
	// sets it on a running systemd system with the handover drop-in
	// installed (sshd.HandoverInstalled): without the drop-in nobody
	// would ask, and OpenSSH would find its port taken.
	InterimSSH bool

	// Redact holds the environment's secrets once it has been read: the
	// secret properties' values and the credentials of the callback URL
	// (and of any other URL property). Run makes it when nil and redacts
	// the log, every event and the status file with it.
	Redact *redact.Redactor

	// Handles the wiring opens on first use, for the whole boot.
	started bool           // whether Events.Start has been called
	sshKeys *sshd.HostKeys // every host key, the RSA one joining late (hostKeys)
	net     netcfg.System  // the live network, open from validate to the network step's end (network)
	netErr  error          // why it could not be opened

	Boot // what the steps learn; e.Plan is e.Boot.Plan

	statusW statusWriter // writeStatus's last write and waiting update
	// outcome is closed once the manager has the boot's outcome
	// (outcomeSent).
	outcome                  chan struct{}
	outcomeOnce, outcomeShut sync.Once
	// handOverNow cuts HandOverSettle short (FinishHandOver), and
	// handOverWait waits until the image's DHCP client has been run
	// (netcfg.Linux.WaitHandOver); nil when no hand-over was held.
	handOverNow                      chan struct{}
	handOverNowOnce, handOverNowShut sync.Once
	handOverWait                     func(context.Context) error
	nicDrivers                       *modalias.Loader // loadNICDrivers' record of what it asked for
	// nicDeadline is when validate stops waiting for NICs (WaitNICs after
	// it began); the network step waits for udev's names until then.
	nicDeadline time.Time
}

// DefaultStatusInterval is NewEnv's StatusInterval: each status write is
// two files rewritten, twice per step, a few milliseconds each natively
// and tens under emulation, while most steps take less than this.
const DefaultStatusInterval = 250 * time.Millisecond

// Boot is the boot record: the facts the steps learn, each filled by the
// step named beside it and only read after that. The Plan (the validated
// input) is never changed after validate; what the boot found out beyond
// it (the port in use, the addresses leased) is here.
type Boot struct {
	Source        *ovfenv.Source      // find-environment: the transport and its bytes (or the saved copy)
	OVF           *ovfenv.Environment // parse-environment: the parsed environment
	InstanceID    string              // identity: instance-id, the Environment id or the SMBIOS UUID
	State         *State              // identity: what ran for which instance (state.json)
	Plan          *Plan               // validate: every property checked, every script compiled
	RebootPending bool                // hostname: a change takes effect at the next restart (a Windows computer name)
	// network: the step began changing the live NICs in this boot, so a
	// failure must not bring up the fail-safe DHCP over them.
	netApplied bool
	NetAddrs   []string       // network: addresses on the configured NICs after the step, DHCP leases included
	Account    *users.Account // user: the account made or found
	HostKey    gossh.Signer   // host-key (new instance) or sshd (loaded): the primary host key
	SSH        SSHServer      // sshd: the running embedded server; nil when the image's OpenSSH serves
	SSHPort    int            // sshd: the port the server listens on (ovfinit.ssh.port or the alternative)
	// sshd: the interim server's handover socket (InterimSSH); nil when
	// ovfinit's server is not standing in for OpenSSH.
	SSHHandover *sshd.Handover
	afterReady  []func() // cloud-final: run once ready is sent (power_state)
}

// runtimePath returns a file's path in the runtime directory, a slash path
// under Root (for the rootfs calls: readFile, writeFile).
func (e *Env) runtimePath(name string) string {
	return path.Join(e.runtimeDir(), name)
}

// runtimeDir is the runtime directory, a slash path under Root.
func (e *Env) runtimeDir() string {
	if e.RuntimeDir == "" {
		return DefaultRuntimeDir
	}
	return path.Join("/", e.RuntimeDir)
}

// goos is OS, or runtime.GOOS when that is "".
func (e *Env) goos() string {
	if e.OS == "" {
		return runtime.GOOS
	}
	return e.OS
}

// statePath returns a file's path in the state directory, a slash path
// under Root.
func (e *Env) statePath(name string) string {
	return path.Join("/", e.StateDir, name)
}

// Every file the agent keeps under Root (state, status, saved copies) is
// read and written through rootfs, so that a link in an offline image tree
// (var/lib -> /var/lib) can not lead it onto the build host.

// maxStateFile bounds what is read back of a file the agent wrote.
const maxStateFile = 64 << 20

// readFile reads name under Root.
func (e *Env) readFile(name string) ([]byte, error) {
	return rootfs.ReadFileAt(e.Root, name, maxStateFile)
}

// writeFile atomically replaces name under Root, creating its parents.
func (e *Env) writeFile(name string, data []byte, perm fs.FileMode) error {
	return rootfs.WriteFileAt(e.Root, name, data, perm)
}

// PrivateStatusPath is the full status, the scripts' messages included,
// readable by root only.
func PrivateStatusPath(root, stateDir string) string {
	return filepath.Join(rootOrSlash(root), filepath.FromSlash(PrivateStatusName(stateDir)))
}

// PrivateStatusName is PrivateStatusPath as a slash path under the root.
func PrivateStatusName(stateDir string) string {
	return path.Join("/", stateDir, "status.private.json")
}

func rootOrSlash(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// redactedEvents redacts every event's message before the sender sees it.
type redactedEvents struct {
	Events
	r *redact.Redactor
}

func (x redactedEvents) Emit(typ string, d callback.Data) {
	d.Message = x.r.String(d.Message)
	x.Events.Emit(typ, d)
}

// redactOutputs makes e.Redact when nil and routes the log and the events
// through it, once.
func (e *Env) redactOutputs() {
	if e.Redact == nil {
		e.Redact = redact.New()
	}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	e.Log = redact.Logger(e.Log, e.Redact)
	if x, ok := e.Events.(redactedEvents); !ok || x.r != e.Redact {
		e.Events = redactedEvents{Events: e.Events, r: e.Redact}
	}
}

// withRoot opens Root for a few calls.
func (e *Env) withRoot(f func(*rootfs.FS) error) error {
	fsys, err := rootfs.Open(e.Root)
	if err != nil {
		return err
	}
	defer fsys.Close()
	return f(fsys)
}

// mkdirAll creates the directory name under Root and its parents.
func (e *Env) mkdirAll(name string, perm fs.FileMode) error {
	return e.withRoot(func(f *rootfs.FS) error { return f.MkdirAll(name, perm) })
}

// remove removes name under Root.
func (e *Env) remove(name string) error {
	return e.withRoot(func(f *rootfs.FS) error { return f.Remove(name) })
}
