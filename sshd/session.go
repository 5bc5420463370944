package sshd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

const (
	// hangupGrace is how long a session's processes get between the hangup
	// sent when the connection goes away and SIGKILL.
	hangupGrace = 2 * time.Second
	// ptyDrain: after the shell exited, output is still copied from its PTY
	// until none arrived for this long (for children that keep it open).
	ptyDrain = 2 * time.Second
)

// procSpec is what the OS-specific code needs to build a session's process.
type procSpec struct {
	user       *User
	command    string   // empty for an interactive shell
	argv       []string // run this program directly instead of the shell (sftp)
	env        []string
	dir        string
	switchUser bool // set uid, gid and groups (the server runs as root)
	tty        bool
}

// exitResult is how a session's process ended: an exit status or, when it
// was killed, the RFC 4254 signal name ("TERM").
type exitResult struct {
	code   int
	signal string
}

func (s *Server) handleSession(sess gliderssh.Session) {
	ctx := sess.Context()
	u, _ := ctx.Value(ctxKeyUser).(*User)
	if u == nil || !sameAccount(u, sess.User()) {
		// Can not happen: authentication stores the user it accepted.
		s.log.Error("ssh session without an authenticated user", "user", sess.User(), "remote", addrString(sess.RemoteAddr()))
		io.WriteString(sess.Stderr(), "ovfinit sshd: internal error: no authenticated user\n")
		sess.Exit(255)
		return
	}
	v, ok := s.ptys.LoadAndDelete(sess)
	if !ok {
		s.log.Error("ssh session without a recorded request", "user", u.Name)
		sess.Exit(255)
		return
	}
	ps := v.(ptyState)
	ptyReq, isPty := ps.pty, ps.ok
	// The client's signals and window changes, kept by the request filter.
	sigs, winCh := requestsOf(ctx)
	kind := "exec"
	if sess.RawCommand() == "" {
		kind = "shell"
	}
	log := s.log.With("user", u.Name, "remote", addrString(sess.RemoteAddr()), "session", kind, "pty", isPty)

	spec := &procSpec{
		user:       u,
		command:    sess.RawCommand(),
		env:        s.environ(u, sess, ptyReq, isPty),
		dir:        workDir(u),
		switchUser: s.euid == 0,
		tty:        isPty,
	}
	if s.sessionGate(sess, u, kind, spec, isPty) {
		return // refused (nologin shell, password change without a terminal)
	}
	// spec.argv is set when the session only changes the password: then
	// neither the key's forced command nor the agent (OpenSSH's
	// do_pwchange runs before anything else).
	pwchange := spec.argv != nil
	if !pwchange && s.applyKeyOptions(sess, spec) {
		sess.Exit(0)
		return
	}
	if !pwchange && s.cfg.AllowAgentForwarding && gliderssh.AgentRequested(sess) {
		sock, cleanup, err := s.agentSocket(sess, u, spec.switchUser)
		if err != nil {
			log.Warn("ssh agent forwarding failed", "err", err)
		} else {
			defer cleanup()
			spec.env = append(spec.env, "SSH_AUTH_SOCK="+sock)
		}
	}
	start := time.Now()
	var (
		res exitResult
		err error
	)
	if isPty {
		res, err = s.runPTY(ctx, sess, spec, ptyReq, winCh, sigs)
	} else {
		res, err = s.runPipes(ctx, sess, spec, sigs)
	}
	if err != nil {
		log.Warn("ssh session could not start", "err", err)
		fmt.Fprintf(sess.Stderr(), "ovfinit sshd: %v\n", err)
		sess.Exit(1)
		return
	}
	log.Info("ssh session ended", "exit_status", res.code, "signal", res.signal, "duration", time.Since(start).Round(time.Millisecond))
	if res.signal != "" {
		sendExitSignal(sess, res.signal)
		return
	}
	sess.Exit(res.code)
}

// sendExitSignal reports death by signal (RFC 4254 6.10) and closes the
// channel. gliderssh's own Exit can send only an exit status.
func sendExitSignal(sess gliderssh.Session, sig string) {
	msg := struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}{Signal: sig}
	sess.SendRequest("exit-signal", false, gossh.Marshal(&msg))
	sess.Close()
}

// copyBufSize is the buffer of the copy loops between a channel and a
// process. io.Copy would use 32 KiB for pipes whatever buffer it is given;
// 64 KiB halves the reads and fills two SSH packets per write.
const copyBufSize = 64 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyBuf copies src to dst through a pooled 64 KiB buffer.
func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// runPipes runs a session without a terminal: stdin, stdout and stderr are
// the channel's streams.
func (s *Server) runPipes(ctx context.Context, sess gliderssh.Session, spec *procSpec, sigs <-chan gliderssh.Signal) (exitResult, error) {
	cmd, err := buildCommand(spec)
	if err != nil {
		return exitResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return exitResult{}, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return exitResult{}, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return exitResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return exitResult{}, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() {
		// Ends at the client's EOF, when the process closes its stdin, or
		// when the channel closes.
		copyBuf(stdin, sess)
		stdin.Close()
	}()
	var wg sync.WaitGroup
	wg.Go(func() { copyBuf(sess, stdout) })
	wg.Go(func() { copyBuf(sess.Stderr(), stderr) })
	// Output is copied to the end before Wait closes the pipes.
	return s.wait(ctx, cmd, sigs, wg.Wait), nil
}

// wait waits for cmd, forwarding the client's signals to it and hanging it
// up when the connection ends.
func (s *Server) wait(ctx context.Context, cmd *exec.Cmd, sigs <-chan gliderssh.Signal, beforeWait func()) exitResult {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-sigs:
				if err := signalProcess(cmd.Process, sig); err != nil {
					s.log.Debug("ssh signal not delivered", "signal", string(sig), "err", err)
				}
			case <-ctx.Done():
				hangupProcess(cmd.Process)
				select {
				case <-done:
				case <-time.After(hangupGrace):
					killProcess(cmd.Process)
				}
				return
			}
		}
	}()
	if beforeWait != nil {
		beforeWait()
	}
	cmd.Wait() // errors copying to a closed channel do not change the status
	close(done)
	if cmd.ProcessState == nil {
		return exitResult{code: 255}
	}
	return exitResultOf(cmd.ProcessState)
}

// environ builds a session's environment: the configured base, the
// client's LANG and LC_* variables, then the per-session variables, later
// entries overriding earlier ones.
func (s *Server) environ(u *User, sess gliderssh.Session, p gliderssh.Pty, isPty bool) []string {
	env := slices.Clone(s.cfg.Env)
	for _, kv := range sess.Environ() {
		k, _, ok := strings.Cut(kv, "=")
		if ok && acceptEnv(s.cfg.AcceptEnv, k) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOME="+u.Home,
		"USER="+u.Name,
		"LOGNAME="+u.Name,
		"SHELL="+shellOf(u),
	)
	if isPty && p.Term != "" {
		env = append(env, "TERM="+p.Term)
	}
	if c := sshConnection(sess.RemoteAddr(), sess.LocalAddr()); c != "" {
		env = append(env, "SSH_CONNECTION="+c)
	}
	return dedupEnv(env)
}

// acceptEnv reports whether name matches one of patterns: a name, or a
// prefix ending in "*".
func acceptEnv(patterns []string, name string) bool {
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, pre) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}

// dedupEnv keeps the last value of each variable, in first-seen order.
func dedupEnv(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	out := env[:0:0]
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}

// sshConnection is OpenSSH's SSH_CONNECTION: "client port server port".
func sshConnection(remote, local net.Addr) string {
	r, ok1 := remote.(*net.TCPAddr)
	l, ok2 := local.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return ""
	}
	return r.IP.String() + " " + strconv.Itoa(r.Port) + " " + l.IP.String() + " " + strconv.Itoa(l.Port)
}

// workDir is the user's home when it is a directory, else the root.
func workDir(u *User) string {
	if u.Home != "" {
		if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
			return u.Home
		}
	}
	return fallbackDir()
}
