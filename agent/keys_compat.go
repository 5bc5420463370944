package agent

import "github.com/ovfinit/ovfinit/ovfenv"

// Property names still spelled the old way by steps_env.go, steps_ssh.go,
// steps_host.go and steps_ssh_test.go, which other work this round is moving
// out of agent. They are the key table's names, not a second copy: delete
// this file once those files read ovfenv.Key* directly.
var (
	PropInstanceID      = ovfenv.KeyInstanceID.Name
	PropSeedFrom        = ovfenv.KeySeedFrom.Name
	PropCallbackURL     = ovfenv.KeyCallbackURL.Name
	PropHostname        = ovfenv.KeyHostname.Name
	PropLocalHostname   = ovfenv.KeyLocalHostname.Name
	PropSSHPort         = ovfenv.KeySSHPort.Name
	PropSSHAltPort      = ovfenv.KeySSHAltPort.Name
	PropSSHPasswordAuth = ovfenv.KeySSHPasswordAuth.Name
	PropSSHWriteOSKeys  = ovfenv.KeySSHWriteOSHostKeys.Name
	PropSSHPermitRoot   = ovfenv.KeySSHPermitRootLogin.Name
	PropUserExpire      = ovfenv.KeyUserExpirePassword.Name
)
