package agent

import (
	"context"
	"log/slog"
	"net"
	"path"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/fsutil"
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
}

// Env is the one wiring struct: the options, the seams through which every
// step touches the machine (fakes in tests), and what the steps learn as the
// pipeline runs.
type Env struct {
	Log      *slog.Logger
	Root     string        // every file write goes under it ("/" on a live system)
	StateDir string        // path under Root, e.g. /var/lib/ovfinit
	EnvFile  string        // --env: read the environment from this file instead of probing
	WaitEnv  time.Duration // how long to wait for an environment device to appear
	BootID   string
	// Live says whether to change the running system (kernel host name,
	// network) as well as files. NewEnv sets it when Root is "/".
	Live bool
	Now  func() time.Time

	// Seams.
	Events      Events
	FindEnv     func(ctx context.Context, e *Env) (*ovfenv.Source, error)
	Network     func(root string) (netcfg.System, error)
	SetHostname func(name string) error // the live kernel host name
	SystemUUID  func(root string) (string, error)
	CreateUser  func(root string, u users.User, log *slog.Logger) (*users.Account, error)
	StartSSH    func(cfg sshd.Config) (SSHServer, error)
	SSHHost     string // listen address host part; "" means every address
	// SSH server (sshd): RSAHostKey also makes an RSA host key, in the
	// background (NewEnv sets it; tests leave it off, RSA is slow).
	RSAHostKey bool

	// Learned as the pipeline runs.
	Source     *ovfenv.Source
	OVF        *ovfenv.Environment
	InstanceID string
	Plan       *Plan
	State      *State
	HostKey    gossh.Signer
	SSH        SSHServer
	Account    *users.Account
	started    bool      // whether Events.Start has been called
	sshKeys    sshKeySet // every host key, the RSA one joining late (steps_ssh.go)
}

// statePath returns a file's path in the state directory, under Root.
func (e *Env) statePath(name string) string {
	return fsutil.Join(e.Root, path.Join(e.StateDir, name))
}

// StatusPath is where `ovfinit status` reads the pipeline's status.
func StatusPath(root, stateDir string) string {
	return fsutil.Join(root, path.Join(stateDir, "status.json"))
}
