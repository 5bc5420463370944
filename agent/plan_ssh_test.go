package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
)

// defaultSSH is the SSH plan of an environment without SSH properties: the
// key table's documented defaults (docs/properties.md).
var defaultSSH = SSHPlan{
	Server:          SSHServerAuto,
	Ciphers:         []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"},
	PermitRootLogin: sshd.RootLoginProhibitPassword,
	MaxAuthTries:    6, LoginGraceTime: 120 * time.Second, MaxFailedLogins: 20, MaxSessions: 256,
	KeepaliveInterval: 60 * time.Second, MaxSessionsPerConn: 10,
	Startups: sshd.StartupLimits{Start: 10, Rate: 30, Full: 100, PerSource: 10},
}

// withSSH is defaultSSH changed by f.
func withSSH(f func(*SSHPlan)) SSHPlan {
	p := defaultSSH
	f(&p)
	return p
}

func TestPlanSSH(t *testing.T) {
	ca, _, _, _, _ := gossh.ParseAuthorizedKey([]byte(caKey))
	tests := []struct {
		name    string
		props   []string
		want    SSHPlan
		wantErr string // substring; "" means no error
	}{
		{"defaults", nil, defaultSSH, ""},
		{"server os", []string{ovfenv.KeySSHServer.Name, "OS"}, withSSH(func(p *SSHPlan) { p.Server = SSHServerOS }), ""},
		{"bad server", []string{ovfenv.KeySSHServer.Name, "openssh"}, SSHPlan{}, ovfenv.KeySSHServer.Name},
		{"everything", []string{
			ovfenv.KeySSHAltPort.Name, "2222", ovfenv.KeySSHWriteOSHostKeys.Name, "true", ovfenv.KeySSHUserCA.Name, caKey,
			ovfenv.KeySSHPasswordAuth.Name, "yes", ovfenv.KeySSHTCPForwarding.Name, "1", ovfenv.KeySSHAgentForwarding.Name, "True",
			ovfenv.KeySSHCiphers.Name, "aes128-gcm@openssh.com, chacha20-poly1305@openssh.com",
			ovfenv.KeySSHMaxAuthTries.Name, "3", ovfenv.KeySSHLoginGraceTime.Name, "30", ovfenv.KeySSHMaxFailedLogins.Name, "5", ovfenv.KeySSHMaxSessions.Name, "10",
			ovfenv.KeySSHIdleTimeout.Name, "600", ovfenv.KeySSHKeepaliveInterval.Name, "0", ovfenv.KeySSHPermitRootLogin.Name, "No",
			ovfenv.KeySSHMaxSessionsPerConn.Name, "4", ovfenv.KeySSHMaxStartups.Name, "5:50:20", ovfenv.KeySSHPerSourceMaxStartups.Name, "3",
		}, SSHPlan{Server: SSHServerAuto, PermitRootLogin: sshd.RootLoginNo, AltPort: 2222, WriteOSHostKeys: true, UserCAKeys: []gossh.PublicKey{ca}, PasswordAuth: true,
			TCPForwarding: true, AgentForwarding: true,
			Ciphers:      []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"},
			MaxAuthTries: 3, LoginGraceTime: 30 * time.Second, MaxFailedLogins: 5, MaxSessions: 10,
			IdleTimeout: 600 * time.Second, MaxSessionsPerConn: 4,
			Startups: sshd.StartupLimits{Start: 5, Rate: 50, Full: 20, PerSource: 3}}, ""},
		{"max-startups one number", []string{ovfenv.KeySSHMaxStartups.Name, "7"},
			withSSH(func(p *SSHPlan) { p.Startups = sshd.StartupLimits{Start: 7, Rate: 100, Full: 7, PerSource: 10} }), ""},
		{"max-startups start over full", []string{ovfenv.KeySSHMaxStartups.Name, "30:30:10"}, SSHPlan{}, ovfenv.KeySSHMaxStartups.Name},
		{"max-startups rate over 100", []string{ovfenv.KeySSHMaxStartups.Name, "10:130:100"}, SSHPlan{}, ovfenv.KeySSHMaxStartups.Name},
		{"max-startups two fields", []string{ovfenv.KeySSHMaxStartups.Name, "10:30"}, SSHPlan{}, ovfenv.KeySSHMaxStartups.Name},
		{"sessions per connection zero", []string{ovfenv.KeySSHMaxSessionsPerConn.Name, "0"}, SSHPlan{}, ovfenv.KeySSHMaxSessionsPerConn.Name},
		{"bad bool", []string{ovfenv.KeySSHPasswordAuth.Name, "maybe"}, SSHPlan{}, ovfenv.KeySSHPasswordAuth.Name},
		{"bad CA", []string{ovfenv.KeySSHUserCA.Name, "ssh-ed25519 notbase64"}, SSHPlan{}, ovfenv.KeySSHUserCA.Name},
		{"bad cipher", []string{ovfenv.KeySSHCiphers.Name, "arcfour"}, SSHPlan{}, `unknown cipher "arcfour"`},
		{"alt port same as port", []string{ovfenv.KeySSHPort.Name, "2222", ovfenv.KeySSHAltPort.Name, "2222"}, SSHPlan{}, ovfenv.KeySSHAltPort.Name},
		{"alt port out of range", []string{ovfenv.KeySSHAltPort.Name, "70000"}, SSHPlan{}, ovfenv.KeySSHAltPort.Name},
		{"root login old name", []string{ovfenv.KeySSHPermitRootLogin.Name, "without-password"}, defaultSSH, ""},
		{"bad root login", []string{ovfenv.KeySSHPermitRootLogin.Name, "sometimes"}, SSHPlan{}, ovfenv.KeySSHPermitRootLogin.Name},
		{"grace zero", []string{ovfenv.KeySSHLoginGraceTime.Name, "0"}, SSHPlan{}, ovfenv.KeySSHLoginGraceTime.Name},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planFrom(t, tt.props...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("BuildPlan(%v) error = %v, want one containing %q", tt.props, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildPlan(%v) = %v", tt.props, err)
			}
			keyCmp := cmp.Comparer(func(a, b gossh.PublicKey) bool { return string(a.Marshal()) == string(b.Marshal()) })
			if diff := cmp.Diff(tt.want, p.SSH, keyCmp, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("BuildPlan(%v).SSH (-want +got):\n%s", tt.props, diff)
			}
		})
	}
}
