//go:build unix

package sshd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	gliderssh "github.com/gliderlabs/ssh"
)

// ptySupported: creack/pty has no AIX implementation.
const ptySupported = runtime.GOOS != "aix"

func defaultLookupUser(name string) (*User, error) {
	return lookupPasswd("/etc/passwd", "/etc/group", name)
}

func defaultEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
}

func fallbackDir() string { return "/" }

func shellOf(u *User) string {
	if u.Shell == "" {
		return "/bin/sh"
	}
	return u.Shell
}

// sameProcessUser is only reached where the process has no uid.
func sameProcessUser(u *User) error {
	return fmt.Errorf("%w: the server's uid is unknown on %s", errNotPermitted, runtime.GOOS)
}

// buildCommand runs the user's shell: "-c command" for exec, else as a login
// shell (argv[0] "-sh"), as OpenSSH does. The process leads a new session
// (so signals and hangups reach its whole process group) and, when the
// server is root, runs with the user's uid, gid and groups.
func buildCommand(spec *procSpec) (*exec.Cmd, error) {
	shell := shellOf(spec.user)
	base := filepath.Base(shell)
	cmd := &exec.Cmd{Path: shell, Dir: spec.dir, Env: spec.env}
	switch {
	case spec.argv != nil:
		cmd.Path, cmd.Args = spec.argv[0], spec.argv
	case spec.command == "":
		cmd.Args = []string{"-" + base}
	default:
		cmd.Args = []string{base, "-c", spec.command}
	}
	attr := &syscall.SysProcAttr{Setsid: true, Setctty: spec.tty}
	if spec.switchUser {
		attr.Credential = &syscall.Credential{
			Uid:    spec.user.UID,
			Gid:    spec.user.GID,
			Groups: spec.user.Groups,
		}
	}
	cmd.SysProcAttr = attr
	return cmd, nil
}

// runPTY runs a session on a new pseudo-terminal.
func (s *Server) runPTY(ctx context.Context, sess gliderssh.Session, spec *procSpec, p gliderssh.Pty, winCh <-chan gliderssh.Window, sigs <-chan gliderssh.Signal) (exitResult, error) {
	if !ptySupported {
		return exitResult{}, fmt.Errorf("pseudo-terminals are not supported on %s", runtime.GOOS)
	}
	cmd, err := buildCommand(spec)
	if err != nil {
		return exitResult{}, err
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		return exitResult{}, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	defer ptmx.Close()
	if err := setWinsize(ptmx, p.Window); err != nil {
		s.log.Debug("ssh pty: setting window size", "err", err)
	}
	if spec.switchUser {
		// Like OpenSSH: the terminal belongs to the user logged in on it.
		if err := tty.Chown(int(spec.user.UID), -1); err != nil {
			s.log.Debug("ssh pty: chown", "err", err)
		}
		tty.Chmod(0o620)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0 // the child's fd 0
	err = cmd.Start()
	tty.Close()
	if err != nil {
		return exitResult{}, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}

	go copyBuf(ptmx, sess) // input; ends when the channel or ptmx closes
	outDone := make(chan struct{})
	var copied atomic.Int64
	go func() {
		// Ends with EIO once no process has the terminal open.
		copyBuf(sess, &countingReader{r: ptmx, n: &copied})
		close(outDone)
	}()
	go func() {
		for w := range winCh { // closed when the channel's requests end
			if err := setWinsize(ptmx, w); err != nil {
				s.log.Debug("ssh pty: window change", "err", err)
			}
		}
	}()

	res := s.wait(ctx, cmd, sigs, nil)
	drainPTY(outDone, &copied)
	return res, nil
}

// drainPTY waits, after the session's process exited, until all output was
// copied (done) or until no output arrived for ptyDrain: a child left in the
// background may keep the terminal open indefinitely.
func drainPTY(done <-chan struct{}, copied *atomic.Int64) {
	t := time.NewTicker(ptyDrain)
	defer t.Stop()
	last := copied.Load()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			cur := copied.Load()
			if cur == last {
				return
			}
			last = cur
		}
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// signals maps RFC 4254 signal names to this OS's signals.
var signals = map[gliderssh.Signal]syscall.Signal{
	gliderssh.SIGABRT: syscall.SIGABRT,
	gliderssh.SIGALRM: syscall.SIGALRM,
	gliderssh.SIGFPE:  syscall.SIGFPE,
	gliderssh.SIGHUP:  syscall.SIGHUP,
	gliderssh.SIGILL:  syscall.SIGILL,
	gliderssh.SIGINT:  syscall.SIGINT,
	gliderssh.SIGKILL: syscall.SIGKILL,
	gliderssh.SIGPIPE: syscall.SIGPIPE,
	gliderssh.SIGQUIT: syscall.SIGQUIT,
	gliderssh.SIGSEGV: syscall.SIGSEGV,
	gliderssh.SIGTERM: syscall.SIGTERM,
	gliderssh.SIGUSR1: syscall.SIGUSR1,
	gliderssh.SIGUSR2: syscall.SIGUSR2,
}

// signalProcess sends sig to the process group p leads.
func signalProcess(p *os.Process, sig gliderssh.Signal) error {
	n, ok := signals[sig]
	if !ok {
		return fmt.Errorf("unknown signal %q", sig)
	}
	return syscall.Kill(-p.Pid, n)
}

func hangupProcess(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGHUP) }
func killProcess(p *os.Process)   { syscall.Kill(-p.Pid, syscall.SIGKILL) }

func exitResultOf(ps *os.ProcessState) exitResult {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return exitResult{code: ps.ExitCode()}
	}
	for name, n := range signals {
		if n == ws.Signal() {
			return exitResult{code: 128 + int(n), signal: string(name)}
		}
	}
	return exitResult{code: 128 + int(ws.Signal())}
}

// agentSocket makes the socket a forwarded agent is reached through
// (SSH_AUTH_SOCK), in a new 0700 directory owned by the user, and forwards
// its connections to the client until cleanup.
func (s *Server) agentSocket(sess gliderssh.Session, u *User, switchUser bool) (string, func(), error) {
	l, err := gliderssh.NewAgentListener()
	if err != nil {
		return "", nil, fmt.Errorf("agent forwarding: %w", err)
	}
	sock := l.Addr().String()
	dir := filepath.Dir(sock)
	cleanup := func() { l.Close(); os.RemoveAll(dir) }
	if switchUser {
		if err := os.Chown(dir, int(u.UID), int(u.GID)); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("agent forwarding: %w", err)
		}
		if err := os.Chown(sock, int(u.UID), int(u.GID)); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("agent forwarding: %w", err)
		}
	}
	go gliderssh.ForwardAgentConnections(l, sess)
	return sock, cleanup, nil
}
