//go:build windows

package sshd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strings"
	"syscall"

	gliderssh "github.com/gliderlabs/ssh"
)

// ptySupported is false: a Windows PTY (ConPTY) is not wired up yet, so PTY
// requests are refused and exec commands run on pipes.
const ptySupported = false

var errNoInteractive = errors.New("interactive sessions are not supported on windows yet; run a command instead")

// defaultLookupUser resolves name with the OS. Windows has no numeric uids;
// UID, GID and Groups stay zero and only the server's own account may log in.
func defaultLookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
		}
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	return &User{Name: name, Home: u.HomeDir}, nil
}

func defaultEnv() []string { return os.Environ() }

func fallbackDir() string {
	if d := os.Getenv("SystemDrive"); d != "" {
		return d + `\`
	}
	return `C:\`
}

func shellOf(u *User) string {
	if u.Shell != "" {
		return u.Shell
	}
	if c := os.Getenv("ComSpec"); c != "" {
		return c
	}
	return `C:\Windows\System32\cmd.exe`
}

// sameProcessUser allows only the account the server runs as: Windows
// sessions can not switch users yet.
func sameProcessUser(u *User) error {
	me, err := user.Current()
	if err != nil {
		return fmt.Errorf("%w: can not tell which user the server runs as: %v", errNotPermitted, err)
	}
	name := me.Username
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	if strings.EqualFold(name, u.Name) {
		return nil
	}
	return fmt.Errorf("%w: the server runs as %q and can not switch users on windows; %q refused",
		errNotPermitted, me.Username, u.Name)
}

// buildCommand runs an exec request with "cmd.exe /C command", the command
// line passed through unquoted as cmd.exe expects.
func buildCommand(spec *procSpec) (*exec.Cmd, error) {
	if spec.argv != nil {
		return &exec.Cmd{Path: spec.argv[0], Args: spec.argv, Dir: spec.dir, Env: spec.env}, nil
	}
	if spec.command == "" {
		return nil, errNoInteractive
	}
	shell := shellOf(spec.user)
	return &exec.Cmd{
		Path:        shell,
		Args:        []string{shell, "/C", spec.command},
		Dir:         spec.dir,
		Env:         spec.env,
		SysProcAttr: &syscall.SysProcAttr{CmdLine: `"` + shell + `" /C ` + spec.command},
	}, nil
}

func (s *Server) runPTY(ctx context.Context, sess gliderssh.Session, spec *procSpec, p gliderssh.Pty, winCh <-chan gliderssh.Window, sigs <-chan gliderssh.Signal) (exitResult, error) {
	return exitResult{}, fmt.Errorf("pseudo-terminals are not supported on %s yet", runtime.GOOS)
}

// signalProcess can only terminate on Windows.
func signalProcess(p *os.Process, sig gliderssh.Signal) error {
	switch sig {
	case gliderssh.SIGKILL, gliderssh.SIGTERM, gliderssh.SIGINT, gliderssh.SIGHUP:
		return p.Kill()
	}
	return fmt.Errorf("signal %q is not supported on %s", sig, runtime.GOOS)
}

func hangupProcess(p *os.Process) { p.Kill() }
func killProcess(p *os.Process)   { p.Kill() }

func exitResultOf(ps *os.ProcessState) exitResult { return exitResult{code: ps.ExitCode()} }

func (s *Server) agentSocket(sess gliderssh.Session, u *User, switchUser bool) (string, func(), error) {
	return "", nil, fmt.Errorf("agent forwarding is not supported on %s", runtime.GOOS)
}
