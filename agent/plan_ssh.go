package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/sshd"
)

// SSH server properties (ovfenv/keys_ssh.go documents each).
const (
	PropSSHAltPort         = "ovfinit.ssh.alt-port"
	PropSSHWriteOSKeys     = "ovfinit.ssh.write-os-host-keys"
	PropSSHUserCA          = "ovfinit.ssh.user-ca"
	PropSSHPasswordAuth    = "ovfinit.ssh.password-auth"
	PropSSHTCPForwarding   = "ovfinit.ssh.allow-tcp-forwarding"
	PropSSHAgentForwarding = "ovfinit.ssh.allow-agent-forwarding"
	PropSSHCiphers         = "ovfinit.ssh.ciphers"
	PropSSHMaxAuthTries    = "ovfinit.ssh.max-auth-tries"
	PropSSHLoginGrace      = "ovfinit.ssh.login-grace-time"
	PropSSHMaxFailed       = "ovfinit.ssh.max-failed-logins"
	PropSSHMaxSessions     = "ovfinit.ssh.max-sessions"
	PropSSHMaxConnSessions = "ovfinit.ssh.max-sessions-per-connection"
	PropSSHMaxStartups     = "ovfinit.ssh.max-startups"
	PropSSHSourceStartups  = "ovfinit.ssh.per-source-max-startups"
	PropSSHIdleTimeout     = "ovfinit.ssh.idle-timeout"
	PropSSHKeepalive       = "ovfinit.ssh.keepalive-interval"
	PropSSHPermitRoot      = "ovfinit.ssh.permit-root-login"
	PropSSHServer          = "ovfinit.ssh.server"
)

// The values of ovfinit.ssh.server.
const (
	SSHServerAuto     = "auto"     // os when the image has /usr/sbin/sshd, else embedded
	SSHServerEmbedded = "embedded" // ovfinit's own server serves ovfinit.ssh.port
	SSHServerOS       = "os"       // the image's OpenSSH serves it, with the instance's host keys
)

// SSHPlan is the SSH server's part of the Plan, beyond the port.
type SSHPlan struct {
	AltPort         int // 0: none; used when SSHPort is taken
	WriteOSHostKeys bool
	// Server is ovfinit.ssh.server: SSHServerAuto, SSHServerEmbedded or
	// SSHServerOS; the sshd step resolves auto against the image.
	Server          string
	UserCAKeys      []gossh.PublicKey
	PasswordAuth    bool
	TCPForwarding   bool
	AgentForwarding bool
	Ciphers         []string       // nil: sshd.DefaultCiphers
	PermitRootLogin sshd.RootLogin // "": sshd.RootLoginProhibitPassword

	MaxAuthTries      int
	LoginGraceTime    time.Duration
	MaxFailedLogins   int
	MaxSessions       int
	IdleTimeout       time.Duration
	KeepaliveInterval time.Duration

	MaxSessionsPerConn int                // 0: sshd's default
	Startups           sshd.StartupLimits // zero fields: sshd's defaults
}

// supportedCiphers are the names x/crypto/ssh's server accepts.
var supportedCiphers = map[string]bool{
	"aes128-gcm@openssh.com": true, "aes256-gcm@openssh.com": true, "chacha20-poly1305@openssh.com": true,
	"aes128-ctr": true, "aes192-ctr": true, "aes256-ctr": true,
}

func planSSH(r *propReader, p *Plan) {
	port := func(key string) int {
		v, ok := r.get(key)
		if !ok {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			r.bad(key, fmt.Errorf("want a TCP port from 1 to 65535, got %q", v))
			return 0
		}
		return n
	}
	if n := port(PropSSHPort); n != 0 {
		p.SSHPort = n
	}
	p.SSH.AltPort = port(PropSSHAltPort)
	if p.SSH.AltPort != 0 && p.SSH.AltPort == p.SSHPort {
		r.bad(PropSSHAltPort, fmt.Errorf("is the same port as %s (%d)", PropSSHPort, p.SSHPort))
	}
	p.SSH.WriteOSHostKeys = r.sshBool(PropSSHWriteOSKeys)
	p.SSH.Server = SSHServerAuto
	if v, ok := r.get(PropSSHServer); ok {
		switch v = strings.ToLower(strings.TrimSpace(v)); v {
		case SSHServerAuto, SSHServerEmbedded, SSHServerOS:
			p.SSH.Server = v
		default:
			r.bad(PropSSHServer, fmt.Errorf("want auto, embedded or os, got %q", v))
		}
	}
	p.SSH.PasswordAuth = r.sshBool(PropSSHPasswordAuth)
	p.SSH.TCPForwarding = r.sshBool(PropSSHTCPForwarding)
	p.SSH.AgentForwarding = r.sshBool(PropSSHAgentForwarding)

	if v, ok := r.get(PropSSHUserCA); ok {
		for i, line := range sshSplitList(v) {
			k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				r.bad(PropSSHUserCA, fmt.Errorf("entry %d: not an SSH public key: %v", i+1, err))
				continue
			}
			if _, isCert := k.(*gossh.Certificate); isCert {
				r.bad(PropSSHUserCA, fmt.Errorf("entry %d: a certificate, want the CA's public key", i+1))
				continue
			}
			p.SSH.UserCAKeys = append(p.SSH.UserCAKeys, k)
		}
	}
	if v, ok := r.get(PropSSHCiphers); ok {
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			if !supportedCiphers[c] {
				r.bad(PropSSHCiphers, fmt.Errorf("unknown cipher %q", c))
				continue
			}
			p.SSH.Ciphers = append(p.SSH.Ciphers, c)
		}
	}
	if v, ok := r.get(PropSSHPermitRoot); ok {
		rl, err := sshd.ParseRootLogin(strings.ToLower(strings.TrimSpace(v)))
		if err != nil {
			r.bad(PropSSHPermitRoot, err)
		}
		p.SSH.PermitRootLogin = rl
	}
	p.SSH.MaxAuthTries = r.sshInt(PropSSHMaxAuthTries, 1, 100)
	p.SSH.MaxFailedLogins = r.sshInt(PropSSHMaxFailed, 1, 1_000_000)
	p.SSH.MaxSessions = r.sshInt(PropSSHMaxSessions, 1, 100_000)
	p.SSH.MaxSessionsPerConn = r.sshInt(PropSSHMaxConnSessions, 1, 10_000)
	p.SSH.Startups = r.sshStartups(PropSSHMaxStartups)
	p.SSH.Startups.PerSource = r.sshInt(PropSSHSourceStartups, 1, 100_000)
	p.SSH.LoginGraceTime = time.Duration(r.sshInt(PropSSHLoginGrace, 1, 3600)) * time.Second
	p.SSH.IdleTimeout = time.Duration(r.sshInt(PropSSHIdleTimeout, 0, 1<<31-1)) * time.Second
	p.SSH.KeepaliveInterval = time.Duration(r.sshInt(PropSSHKeepalive, 0, 86400)) * time.Second
	if _, set := r.get(PropSSHKeepalive); !set {
		p.SSH.KeepaliveInterval = defaultKeepalive
	}
}

// defaultKeepalive: dead clients are dropped after 3 unanswered keepalives.
const defaultKeepalive = 60 * time.Second

// sshBool reads a TypeBool property; unset is false.
func (r *propReader) sshBool(key string) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true
	case "false", "no", "0", "off":
		return false
	}
	r.bad(key, fmt.Errorf("want true or false, got %q", v))
	return false
}

// sshInt reads a whole number from lo to hi; unset is 0.
func (r *propReader) sshInt(key string, lo, hi int) int {
	v, ok := r.get(key)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.bad(key, fmt.Errorf("want a whole number from %d to %d, got %q", lo, hi, v))
		return 0
	}
	return n
}

// sshSplitList splits a TypeList value: one entry per line (blank lines and
// "#" comments skipped).
func sshSplitList(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// sshStartups reads MaxStartups ("start:rate:full" or "n"); unset is the
// zero value (sshd's defaults).
func (r *propReader) sshStartups(key string) sshd.StartupLimits {
	v, ok := r.get(key)
	if !ok {
		return sshd.StartupLimits{}
	}
	l, err := sshd.ParseMaxStartups(v)
	if err != nil {
		r.bad(key, err)
	}
	return l
}
