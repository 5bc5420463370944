package sshd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
)

// SFTPServerArg is the hidden subcommand of ovfinit that serves SFTP on its
// standard input and output (see ServeSFTP); SFTPCommand runs it.
const SFTPServerArg = "sftp-server"

// SFTPCommand returns the argv that runs this program's SFTP server, for
// Config.SFTPCommand: the running executable with SFTPServerArg.
func SFTPCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program for the sftp subsystem: %w", err)
	}
	return []string{exe, SFTPServerArg}, nil
}

// ServeSFTP serves one SFTP session on r and w (the process's stdin and
// stdout) with the rights of the process, in its working directory, until
// the client closes it. It is the body of the hidden "ovfinit sftp-server"
// command, which the server starts as the logged-in user (setuid, setgid and
// groups set by the kernel at exec, like any session command), so file
// access is checked by the OS exactly as for a shell.
func ServeSFTP(r io.Reader, w io.WriteCloser) error {
	srv, err := sftp.NewServer(struct {
		io.Reader
		io.WriteCloser
	}{r, w}, sftp.WithMaxTxPacket(1<<18))
	if err != nil {
		return err
	}
	err = srv.Serve()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// handleSFTP is the "sftp" subsystem handler: it runs Config.SFTPCommand
// as the user with the channel as its stdin and stdout.
func (s *Server) handleSFTP(sess gliderssh.Session) {
	if forcedCommand(sess) {
		// The key's command= replaces the subsystem, as in OpenSSH.
		s.handleSession(sess)
		return
	}
	s.ptys.LoadAndDelete(sess)
	u, _ := sess.Context().Value(ctxKeyUser).(*User)
	if u == nil || !sameAccount(u, sess.User()) {
		s.log.Error("ssh sftp without an authenticated user", "user", sess.User())
		sess.Exit(255)
		return
	}
	if s.sessionGate(sess, u, "sftp", nil, false) {
		return // a nologin shell refuses SFTP too, as under OpenSSH
	}
	spec := &procSpec{
		user:       u,
		argv:       s.cfg.SFTPCommand,
		env:        s.environ(u, sess, gliderssh.Pty{}, false),
		dir:        workDir(u),
		switchUser: s.euid == 0,
	}
	log := s.log.With("user", u.Name, "remote", addrString(sess.RemoteAddr()), "session", "sftp")
	start := time.Now()
	res, err := s.runPipes(sess.Context(), sess, spec, nil)
	if err != nil {
		log.Warn("ssh sftp could not start", "err", err)
		sess.Exit(1)
		return
	}
	log.Info("ssh session ended", "exit_status", res.code, "duration", time.Since(start).Round(time.Millisecond))
	sess.Exit(res.code)
}
