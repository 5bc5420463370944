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
	"time"

	"github.com/charmbracelet/x/conpty"
	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// ptySupported: PTY sessions use ConPTY (Windows 10 1809 and later) and fall
// back to pipes where it is missing.
const ptySupported = true

// defaultLookupUser resolves name with the OS, after LocalAccountName
// ("DOMAIN\user", ".\user", "user@domain" are the local user). Windows has
// no numeric uids; UID, GID and Groups stay zero and only the server's own
// account may log in.
func defaultLookupUser(login string) (*User, error) {
	name, _, err := LocalAccountName(login)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownUser, err)
	}
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

// shellOf is the user's shell: the one LookupUser gave, else the
// machine's DefaultShell for Win32-OpenSSH (so an image set up for
// PowerShell over SSH gets it from ovfinit too), else %ComSpec% (cmd.exe).
func shellOf(u *User) string {
	if u.Shell != "" {
		return u.Shell
	}
	if sh := registryDefaultShell(registry.LOCAL_MACHINE, openSSHKey); sh != "" {
		return sh
	}
	if c := os.Getenv("ComSpec"); c != "" {
		return c
	}
	return `C:\Windows\System32\cmd.exe`
}

// openSSHKey is where Win32-OpenSSH keeps its DefaultShell, under HKLM.
const openSSHKey = `SOFTWARE\OpenSSH`

// registryDefaultShell reads the DefaultShell value under root\path: ""
// when the key, the value or the file it names is missing (a shell that is
// not there must not lock everyone out: the default applies).
func registryDefaultShell(root registry.Key, path string) string {
	k, err := registry.OpenKey(root, path, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	sh, _, err := k.GetStringValue("DefaultShell")
	if err != nil || sh == "" {
		return ""
	}
	if sh, err = registry.ExpandString(sh); err != nil {
		return ""
	}
	if fi, err := os.Stat(sh); err != nil || fi.IsDir() {
		return ""
	}
	return sh
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

// buildCommand runs an exec request through the user's shell: "cmd.exe /C
// command" (PowerShell -Command), the command line passed through unquoted
// as the shell expects (windowsShellArgs).
func buildCommand(spec *procSpec) (*exec.Cmd, error) {
	if spec.argv != nil {
		return &exec.Cmd{Path: spec.argv[0], Args: spec.argv, Dir: spec.dir, Env: spec.env}, nil
	}
	shell := shellOf(spec.user)
	if spec.command == "" {
		// A shell without a terminal: cmd.exe reading the channel.
		return &exec.Cmd{Path: shell, Args: []string{shell}, Dir: spec.dir, Env: spec.env}, nil
	}
	argv, cmdline := windowsShellArgs(shell, spec.command)
	return &exec.Cmd{
		Path:        shell,
		Args:        argv,
		Dir:         spec.dir,
		Env:         spec.env,
		SysProcAttr: &syscall.SysProcAttr{CmdLine: cmdline},
	}, nil
}

// runPTY runs a session on a ConPTY pseudo-console; where ConPTY is missing
// (before Windows 10 1809) it runs it on pipes, a shell included, so the
// client still gets a working if plainer session.
func (s *Server) runPTY(ctx context.Context, sess gliderssh.Session, spec *procSpec, p gliderssh.Pty, winCh <-chan gliderssh.Window, sigs <-chan gliderssh.Signal) (exitResult, error) {
	shell := shellOf(spec.user)
	cpty, out, err := newConPTY(max(p.Window.Width, 1), max(p.Window.Height, 1))
	if err != nil {
		s.log.Info("ssh pty: ConPTY unavailable; running the session on pipes", "err", err)
		if spec.command == "" {
			spec.argv = []string{shell}
		}
		go func() {
			for range winCh {
			}
		}()
		return s.runPipes(ctx, sess, spec, sigs)
	}
	defer cpty.Close()
	defer out.Close()
	args, cmdline := windowsShellArgs(shell, spec.command)
	pid, handle, err := cpty.Spawn(shell, args, &syscall.ProcAttr{
		Dir: spec.dir, Env: spec.env, Sys: &syscall.SysProcAttr{CmdLine: cmdline},
	})
	if err != nil {
		return exitResult{}, fmt.Errorf("starting %s on a pseudo-console: %w", shell, err)
	}
	windows.CloseHandle(windows.Handle(handle))
	proc, err := os.FindProcess(pid)
	if err != nil {
		return exitResult{}, fmt.Errorf("process %d: %w", pid, err)
	}
	go copyBuf(cpty, sess)
	outDone := make(chan struct{})
	go func() {
		copyBuf(sess, out)
		close(outDone)
	}()
	go func() {
		for w := range winCh {
			if err := cpty.Resize(w.Width, w.Height); err != nil {
				s.log.Debug("ssh pty: window change", "err", err)
			}
		}
	}()
	done := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := proc.Wait()
		done <- st
	}()
	for {
		select {
		case st := <-done:
			// The process is gone, but what it wrote may still be in
			// the pseudo-console: closing it flushes that into the
			// output pipe and closes the pipe's last write end, so
			// the copy ends at EOF with everything sent (returning
			// now lost a short command's whole output).
			cpty.Close()
			select {
			case <-outDone:
			case <-time.After(ptyDrainLimit):
				s.log.Debug("ssh pty: output still open after the process ended (a child holds it)")
			}
			if st == nil {
				return exitResult{code: 255}, nil
			}
			return exitResultOf(st), nil
		case sig := <-sigs:
			if err := signalProcess(proc, sig); err != nil {
				s.log.Debug("ssh signal not delivered", "signal", string(sig), "err", err)
			}
		case <-ctx.Done():
			proc.Kill()
			ctx = context.Background() // wait for done
		}
	}
}

// ptyDrainLimit bounds the wait for a pseudo-console's last output after
// its process ended: a child that inherited the pipe may hold it open.
const ptyDrainLimit = 2 * time.Second

// newConPTY makes a pseudo-console of w x h and returns it with out, its
// output read through a handle of ovfinit's own: ConPty.Close closes the
// pseudo-console (which writes out what is left) and its own read handle
// at once, and out is still there to read the rest to EOF.
func newConPTY(w, h int) (*conpty.ConPty, *os.File, error) {
	inR, inW, outR, outW, err := conpty.CreatePipes()
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() {
		for _, h := range []uintptr{inR, inW, outR, outW} {
			windows.CloseHandle(windows.Handle(h))
		}
	}
	var dup windows.Handle
	me := windows.CurrentProcess()
	if err := windows.DuplicateHandle(me, windows.Handle(outR), me, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("duplicating the pseudo-console's output handle: %w", err)
	}
	c, err := conpty.NewWithPipes(inR, inW, outR, outW, w, h, 0)
	if err != nil {
		closeAll()
		windows.CloseHandle(dup)
		return nil, nil, err
	}
	return c, os.NewFile(uintptr(dup), "conpty-output"), nil
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
