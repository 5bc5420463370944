package sshd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// ciphers are the names x/crypto/ssh's server accepts.
var ciphers = map[string]bool{
	"aes128-gcm@openssh.com": true, "aes256-gcm@openssh.com": true, "chacha20-poly1305@openssh.com": true,
	"aes128-ctr": true, "aes192-ctr": true, "aes256-ctr": true,
}

// CheckCipher reports whether the server can offer the cipher name.
func CheckCipher(name string) error {
	if !ciphers[name] {
		return fmt.Errorf("unknown cipher %q", name)
	}
	return nil
}

// ParseUserCA reads a user CA's public key in authorized_keys form (a
// TrustedUserCAKeys entry); a certificate is refused: a CA is named by its
// own key.
func ParseUserCA(entry string) (gossh.PublicKey, error) {
	k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(entry))
	if err != nil {
		return nil, fmt.Errorf("not an SSH public key: %v", err)
	}
	if _, isCert := k.(*gossh.Certificate); isCert {
		return nil, errors.New("a certificate, want the CA's public key")
	}
	return k, nil
}

// RootLogin is Config.PermitRootLogin: how the account with uid 0 may log
// in, as sshd_config's PermitRootLogin.
type RootLogin string

// The RootLogin values. The zero value means RootLoginProhibitPassword.
const (
	RootLoginYes                RootLogin = "yes"                  // any method
	RootLoginProhibitPassword   RootLogin = "prohibit-password"    // keys and certificates, never a password (the default)
	RootLoginForcedCommandsOnly RootLogin = "forced-commands-only" // only keys or certificates that force a command
	RootLoginNo                 RootLogin = "no"                   // never
)

// RootLoginValues lists the accepted values, for errors and docs.
var RootLoginValues = []RootLogin{RootLoginYes, RootLoginProhibitPassword, RootLoginForcedCommandsOnly, RootLoginNo}

// ParseRootLogin reads a PermitRootLogin value; "without-password" is
// OpenSSH's old name for prohibit-password and is taken too.
func ParseRootLogin(s string) (RootLogin, error) {
	if s == "without-password" {
		return RootLoginProhibitPassword, nil
	}
	for _, v := range RootLoginValues {
		if s == string(v) {
			return v, nil
		}
	}
	return "", fmt.Errorf("want yes, prohibit-password, forced-commands-only or no, got %q", s)
}

// errRootLogin: Config.PermitRootLogin refuses this login as root.
var errRootLogin = errors.New("root login refused")

// errAccountExpired: the shadow entry says the account may not log in.
var errAccountExpired = errors.New("account expired")

// isRoot reports whether u is the superuser: uid 0 where there are uids.
func (s *Server) isRoot(u *User) bool {
	return s.euid >= 0 && u.UID == 0
}

// permitRoot applies Config.PermitRootLogin to a login as u by method
// ("publickey", "certificate" or "password"). forcedCommand is the command
// the key (its command= option) or the certificate (force-command) forces,
// "" when none: with forced-commands-only a root key login needs one.
func (s *Server) permitRoot(u *User, method, forcedCommand string) error {
	if !s.isRoot(u) {
		return nil
	}
	policy := s.cfg.PermitRootLogin
	switch policy {
	case RootLoginYes:
		return nil
	case RootLoginNo:
		return fmt.Errorf("%w: PermitRootLogin is no", errRootLogin)
	case RootLoginForcedCommandsOnly:
		if method != "password" && forcedCommand != "" {
			return nil
		}
		return fmt.Errorf("%w: PermitRootLogin is forced-commands-only and this %s login forces no command", errRootLogin, method)
	default: // "" and prohibit-password
		if method == "password" {
			return fmt.Errorf("%w: PermitRootLogin is prohibit-password: root logs in with a key or certificate only", errRootLogin)
		}
		return nil
	}
}

// accountState reads u's shadow entry (Config.Accounts) and applies the
// ageing rules. An error reading it is returned: the caller refuses.
func (s *Server) accountState(u *User) (accountState, string, error) {
	if s.cfg.Accounts == nil {
		return accountOK, "", nil
	}
	e, err := s.cfg.Accounts(u)
	if err != nil {
		return accountExpired, "", fmt.Errorf("account state of %q: %w", u.Name, err)
	}
	st, why := e.state(today())
	return st, why, nil
}

// checkAccount refuses a login, by any method, to an expired account (shadow
// field 8, or a password expired for longer than its inactive days), as
// pam_unix's account check does for OpenSSH. A password that must be changed
// does not refuse the login: the session then only changes it
// (passwordChangeSession).
func (s *Server) checkAccount(u *User) error {
	st, why, err := s.accountState(u)
	switch {
	case err != nil:
		return err
	case st == accountExpired:
		return fmt.Errorf("%w: %s", errAccountExpired, why)
	}
	return nil
}

// mustChangePassword reports whether u's password is expired, so that the
// connection may only change it: no commands, no SFTP, no forwarding.
func (s *Server) mustChangePassword(u *User) (bool, string) {
	st, why, err := s.accountState(u)
	if err != nil {
		return true, err.Error() // cannot tell: the narrowest choice
	}
	return st != accountOK, why
}

// nologinShells are the base names of shells that refuse every login.
var nologinShells = map[string]bool{"nologin": true, "false": true}

// nologinMessage is what util-linux's nologin prints.
const nologinMessage = "This account is currently not available.\n"

// refusesLogin reports whether u's login shell refuses logins (nologin,
// false). OpenSSH runs every session, subsystems included, through the
// user's shell, so such an account gets no shell, no command and no SFTP.
func refusesLogin(u *User) bool {
	return u.Shell != "" && nologinShells[filepath.Base(u.Shell)]
}

// passwdPaths are where the passwd program is looked for.
var passwdPaths = []string{"/usr/bin/passwd", "/bin/passwd"}

func findPasswd() string {
	for _, p := range passwdPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// sessionGate runs before a session's process starts (kind "shell", "exec"
// or "sftp"). For an account whose shell refuses logins it writes the
// nologin message, ends the session and returns true. For an account whose
// password must be changed it does what OpenSSH does (session.c
// do_pwchange): on a terminal it replaces the session's program with passwd,
// after which the client must log in again; without a terminal it explains
// and ends the session. spec is the session's process (nil for SFTP, which
// never has a terminal).
func (s *Server) sessionGate(sess gliderssh.Session, u *User, kind string, spec *procSpec, isPty bool) bool {
	log := s.log.With("user", u.Name, "remote", addrString(sess.RemoteAddr()), "session", kind)
	if refusesLogin(u) {
		log.Info("ssh session refused: the account's shell refuses logins", "shell", u.Shell)
		io.WriteString(sess.Stderr(), nologinMessage)
		sess.Exit(1)
		return true
	}
	must, why := s.mustChangePassword(u)
	if !must {
		return false
	}
	nl := "\n"
	if isPty {
		nl = "\r\n" // the client's terminal is in raw mode
	}
	io.WriteString(sess.Stderr(), "WARNING: Your password has expired."+nl)
	passwd := findPasswd()
	switch {
	case !isPty || spec == nil:
		log.Warn("ssh session refused: password change required, no terminal", "reason", why)
		io.WriteString(sess.Stderr(), "Password change required but no TTY available."+nl)
	case passwd == "":
		log.Warn("ssh session refused: password change required, no passwd program", "reason", why)
		io.WriteString(sess.Stderr(), "Password change required but this system has no passwd program; ask an administrator."+nl)
	default:
		log.Info("ssh session runs passwd: password change required", "reason", why)
		io.WriteString(sess.Stderr(), "You must change your password now and login again!"+nl)
		spec.command, spec.argv = "", []string{passwd}
		return false
	}
	sess.Exit(1)
	return true
}

// forwardingAllowed reports whether the connection's user may forward
// ports: not while the password must be changed (OpenSSH disables
// forwarding then).
func (s *Server) forwardingAllowed(ctx gliderssh.Context) bool {
	u, _ := ctx.Value(ctxKeyUser).(*User)
	if u == nil {
		return false
	}
	if must, why := s.mustChangePassword(u); must {
		s.log.Warn("ssh port forwarding refused: password change required", "user", u.Name, "reason", why)
		return false
	}
	return true
}
