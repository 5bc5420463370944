package agent

import (
	"fmt"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
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

func planSSH(r *propReader, p *Plan) {
	p.SSHPort = r.int(ovfenv.KeySSHPort)
	p.SSH.AltPort = r.int(ovfenv.KeySSHAltPort)
	if p.SSH.AltPort != 0 && p.SSH.AltPort == p.SSHPort {
		r.bad(ovfenv.KeySSHAltPort.Name, fmt.Errorf("is the same port as %s (%d)", ovfenv.KeySSHPort.Name, p.SSHPort))
	}
	p.SSH.WriteOSHostKeys = r.bool(ovfenv.KeySSHWriteOSHostKeys)
	p.SSH.Server = r.enum(ovfenv.KeySSHServer)
	p.SSH.PasswordAuth = r.bool(ovfenv.KeySSHPasswordAuth)
	p.SSH.TCPForwarding = r.bool(ovfenv.KeySSHTCPForwarding)
	p.SSH.AgentForwarding = r.bool(ovfenv.KeySSHAgentForwarding)

	cas, _ := r.list(ovfenv.KeySSHUserCA)
	for i, entry := range cas {
		k, err := sshd.ParseUserCA(entry)
		if err != nil {
			r.bad(ovfenv.KeySSHUserCA.Name, fmt.Errorf("entry %d: %w", i+1, err))
			continue
		}
		p.SSH.UserCAKeys = append(p.SSH.UserCAKeys, k)
	}
	ciphers, _ := r.list(ovfenv.KeySSHCiphers)
	for _, c := range ciphers {
		if err := sshd.CheckCipher(c); err != nil {
			r.bad(ovfenv.KeySSHCiphers.Name, err)
			continue
		}
		p.SSH.Ciphers = append(p.SSH.Ciphers, c)
	}
	root, _ := r.env.Text(ovfenv.KeySSHPermitRootLogin)
	rl, err := sshd.ParseRootLogin(strings.ToLower(root))
	if err != nil {
		r.bad(ovfenv.KeySSHPermitRootLogin.Name, err)
	}
	p.SSH.PermitRootLogin = rl
	p.SSH.MaxAuthTries = r.int(ovfenv.KeySSHMaxAuthTries)
	p.SSH.MaxFailedLogins = r.int(ovfenv.KeySSHMaxFailedLogins)
	p.SSH.MaxSessions = r.int(ovfenv.KeySSHMaxSessions)
	p.SSH.MaxSessionsPerConn = r.int(ovfenv.KeySSHMaxSessionsPerConn)
	startups, _ := r.env.Text(ovfenv.KeySSHMaxStartups)
	if p.SSH.Startups, err = sshd.ParseMaxStartups(startups); err != nil {
		r.bad(ovfenv.KeySSHMaxStartups.Name, err)
	}
	p.SSH.Startups.PerSource = r.int(ovfenv.KeySSHPerSourceMaxStartups)
	p.SSH.LoginGraceTime = r.seconds(ovfenv.KeySSHLoginGraceTime)
	p.SSH.IdleTimeout = r.seconds(ovfenv.KeySSHIdleTimeout)
	p.SSH.KeepaliveInterval = r.seconds(ovfenv.KeySSHKeepaliveInterval)
}
