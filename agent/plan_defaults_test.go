package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestEmptyEnvironmentPlansDefaults checks that an environment without
// properties plans to exactly the defaults docs/properties.md documents
// (both come from the ovfenv key table). Every key with a Default must be
// listed here, with the planned value or why the plan does not hold it.
func TestEmptyEnvironmentPlansDefaults(t *testing.T) {
	p, err := BuildPlan(&ovfenv.Environment{}, nil)
	if err != nil {
		t.Fatalf("BuildPlan(empty) = %v", err)
	}
	secs := func(d interface{ Seconds() float64 }) string { return fmt.Sprint(int(d.Seconds())) }
	planned := map[string]string{
		ovfenv.KeyAttempt.Name:                 fmt.Sprint(p.Attempt),
		ovfenv.KeyUser.Name:                    p.User.Name,
		ovfenv.KeyUserAdmin.Name:               fmt.Sprint(p.User.Admin),
		ovfenv.KeyUserLockPassword.Name:        fmt.Sprint(p.User.LockPassword),
		ovfenv.KeyUserExpirePassword.Name:      fmt.Sprint(p.User.ExpirePassword),
		ovfenv.KeyUserAllowSystem.Name:         fmt.Sprint(p.User.AllowSystem),
		ovfenv.KeySSHPort.Name:                 fmt.Sprint(p.SSHPort),
		ovfenv.KeySSHWriteOSHostKeys.Name:      fmt.Sprint(p.SSH.WriteOSHostKeys),
		ovfenv.KeySSHServer.Name:               p.SSH.Server,
		ovfenv.KeySSHPasswordAuth.Name:         fmt.Sprint(p.SSH.PasswordAuth),
		ovfenv.KeySSHPermitRootLogin.Name:      string(p.SSH.PermitRootLogin),
		ovfenv.KeySSHTCPForwarding.Name:        fmt.Sprint(p.SSH.TCPForwarding),
		ovfenv.KeySSHAgentForwarding.Name:      fmt.Sprint(p.SSH.AgentForwarding),
		ovfenv.KeySSHCiphers.Name:              strings.Join(p.SSH.Ciphers, ","),
		ovfenv.KeySSHMaxAuthTries.Name:         fmt.Sprint(p.SSH.MaxAuthTries),
		ovfenv.KeySSHLoginGraceTime.Name:       secs(p.SSH.LoginGraceTime),
		ovfenv.KeySSHMaxFailedLogins.Name:      fmt.Sprint(p.SSH.MaxFailedLogins),
		ovfenv.KeySSHMaxSessions.Name:          fmt.Sprint(p.SSH.MaxSessions),
		ovfenv.KeySSHMaxSessionsPerConn.Name:   fmt.Sprint(p.SSH.MaxSessionsPerConn),
		ovfenv.KeySSHMaxStartups.Name:          fmt.Sprintf("%d:%d:%d", p.SSH.Startups.Start, p.SSH.Startups.Rate, p.SSH.Startups.Full),
		ovfenv.KeySSHPerSourceMaxStartups.Name: fmt.Sprint(p.SSH.Startups.PerSource),
		ovfenv.KeySSHIdleTimeout.Name:          secs(p.SSH.IdleTimeout),
		ovfenv.KeySSHKeepaliveInterval.Name:    secs(p.SSH.KeepaliveInterval),
		ovfenv.KeyScriptTimeout.Name:           secs(p.Scripts.Timeout),
		ovfenv.KeyScriptMaxSteps.Name:          fmt.Sprint(p.Scripts.MaxSteps),
		ovfenv.KeyScriptAllowWhile.Name:        fmt.Sprint(p.Scripts.Dialect.AllowWhile),
		ovfenv.KeyScriptHTTP.Name:              fmt.Sprint(p.Scripts.Dialect.HTTP),
		ovfenv.KeySystem.Name:                  fmt.Sprint(p.System.Enabled),
		ovfenv.KeySystemTimeout.Name:           secs(p.System.Timeout),
	}
	// Defaults the plan of an empty environment does not hold, and why.
	notPlanned := map[string]string{
		ovfenv.KeyUserShell.Name:   "a new account's shell: users applies it, an existing account keeps its own",
		ovfenv.KeyUserHome.Name:    "a new account's home: users applies it, an existing account keeps its own",
		ovfenv.KeyNetFallback.Name: "dhcp needs the machine's NICs (TestFallback plans it)",
	}
	for _, k := range ovfenv.Keys() {
		if k.Default == "" {
			continue
		}
		got, ok := planned[k.Name]
		switch {
		case ok && got != k.Default:
			t.Errorf("BuildPlan(empty): %s plans %q, docs/properties.md says the default is %q", k.Name, got, k.Default)
		case ok:
		case notPlanned[k.Name] != "":
		case strings.HasPrefix(k.Name, "ovfinit.net.") || strings.HasPrefix(k.Name, "netmask"):
			// Per-NIC defaults apply to a NIC some other key configures.
		default:
			t.Errorf("key %s has the default %q, but this test does not say where the plan holds it", k.Name, k.Default)
		}
	}
}
