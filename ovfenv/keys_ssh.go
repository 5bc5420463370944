package ovfenv

var sshKeys []Key

var (
	KeySSHPort = add(&sshKeys, Key{Name: "ovfinit.ssh.port", Group: "SSH server", Type: TypeInt, Default: "22", Min: 1, Max: 65535, Label: "SSH port",
		Description: "TCP port of the embedded SSH server. If another SSH server (the OS's sshd) already holds it, the boot fails with an error naming this property, unless `ovfinit.ssh.alt-port` is set."})
	KeySSHAltPort = add(&sshKeys, Key{Name: "ovfinit.ssh.alt-port", Group: "SSH server", Type: TypeInt, Min: 1, Max: 65535, Label: "Alternative SSH port",
		Description: "Port to use when `ovfinit.ssh.port` is taken (an OS sshd on 22, say). The port actually used is reported in the `ready` event (`sshPort`)."})
	KeySSHWriteOSHostKeys = add(&sshKeys, Key{Name: "ovfinit.ssh.write-os-host-keys", Group: "SSH server", Type: TypeBool, Default: "false", Label: "Write host keys to /etc/ssh",
		Description: "Also write this instance's ed25519, ECDSA and RSA host keys to `/etc/ssh/ssh_host_*_key` (0600, `.pub` 0644), so an OS sshd started later presents the same keys and fingerprints as ovfinit's server. Existing files there are replaced: keys cloned from the template must not survive."})
	KeySSHUserCA = add(&sshKeys, Key{Name: "ovfinit.ssh.user-ca", Group: "SSH server", Type: TypeList, Label: "User certificate authorities",
		Description: "Public keys (authorized_keys form, one per line) of CAs whose user certificates may log in, like sshd's `TrustedUserCAKeys`. A certificate must be a user certificate, be within its validity window, list the login name among its principals, and carry no critical option but `source-address` (which is enforced). Lets a manager mint short-lived certificates instead of shipping keys."})
	KeySSHPasswordAuth = add(&sshKeys, Key{Name: "ovfinit.ssh.password-auth", Group: "SSH server", Type: TypeBool, Default: "false", Label: "Allow password logins",
		Description: "Allow password authentication, checked against the hashes in `/etc/shadow` (yescrypt, SHA-crypt, bcrypt; locked and empty passwords never match). Off by default: only keys and certificates log in. Root logs in with a password only when `ovfinit.ssh.permit-root-login` is `yes`. Shadow ageing applies to every login method: an expired account is refused, and an expired password (`ovfinit.user.expire-password`) must be changed with `passwd` on a terminal before anything else runs."})
	KeySSHPermitRootLogin = add(&sshKeys, Key{Name: "ovfinit.ssh.permit-root-login", Group: "SSH server", Type: TypeString, Default: "prohibit-password", Label: "Root login",
		Description: "How root (uid 0) may log in, as sshd's `PermitRootLogin`: `yes` (any method), `prohibit-password` (keys and certificates, never a password), `forced-commands-only` (only a key whose `command=` option, or a certificate whose `force-command`, fixes what runs) or `no`. With `ovfinit.ssh.password-auth` on, a root password attempt is refused unless this is `yes`."})
	KeySSHTCPForwarding = add(&sshKeys, Key{Name: "ovfinit.ssh.allow-tcp-forwarding", Group: "SSH server", Type: TypeBool, Default: "false", Label: "Allow local port forwarding",
		Description: "Allow local port forwarding (`ssh -L`). Remote forwarding (`-R`) is never offered."})
	KeySSHAgentForwarding = add(&sshKeys, Key{Name: "ovfinit.ssh.allow-agent-forwarding", Group: "SSH server", Type: TypeBool, Default: "false", Label: "Allow agent forwarding",
		Description: "Allow agent forwarding (`ssh -A`): sessions get `SSH_AUTH_SOCK`, a socket in a 0700 directory owned by the user."})
	KeySSHCiphers = add(&sshKeys, Key{Name: "ovfinit.ssh.ciphers", Split: SplitWords, Group: "SSH server", Type: TypeString, Default: "aes128-gcm@openssh.com,aes256-gcm@openssh.com", Label: "Ciphers",
		Description: "Comma-separated ciphers offered, from `aes128-gcm@openssh.com`, `aes256-gcm@openssh.com`, `chacha20-poly1305@openssh.com`, `aes128-ctr`, `aes192-ctr`, `aes256-ctr`. Only AES-GCM is offered by default: OpenSSH clients prefer chacha20-poly1305 and then aes128-ctr when offered, and both are markedly slower in Go than AES-GCM, so the default makes every OpenSSH client (6.2 and later; PuTTY 0.76 and later) choose aes128-gcm. Add the others for older clients."})
	KeySSHMaxAuthTries = add(&sshKeys, Key{Name: "ovfinit.ssh.max-auth-tries", Group: "SSH server", Type: TypeInt, Default: "6", Min: 1, Max: 100, Label: "Authentication attempts per connection",
		Description: "Authentication attempts allowed per connection (sshd's `MaxAuthTries`)."})
	KeySSHLoginGraceTime = add(&sshKeys, Key{Name: "ovfinit.ssh.login-grace-time", Group: "SSH server", Type: TypeInt, Default: "120", Min: 1, Max: 3600, Label: "Login grace time (seconds)",
		Description: "Seconds a client has from connecting to being authenticated; then it is dropped and the attempt counts as a failed login (sshd's `LoginGraceTime`)."})
	KeySSHMaxFailedLogins = add(&sshKeys, Key{Name: "ovfinit.ssh.max-failed-logins", Group: "SSH server", Type: TypeInt, Default: "20", Min: 1, Max: 1000000, Label: "Failed logins per address per minute",
		Description: "Failed logins (connections that ended without authenticating) allowed from one source address per minute; beyond it, that address is refused until the minute is over, while other addresses are served."})
	KeySSHMaxSessions = add(&sshKeys, Key{Name: "ovfinit.ssh.max-sessions", Group: "SSH server", Type: TypeInt, Default: "256", Min: 1, Max: 100000, Label: "Maximum open sessions",
		Description: "Open sessions (shells, commands, SFTP) allowed on the server at once; more are refused. See also `ovfinit.ssh.max-sessions-per-connection`."})
	KeySSHMaxSessionsPerConn = add(&sshKeys, Key{Name: "ovfinit.ssh.max-sessions-per-connection", Group: "SSH server", Type: TypeInt, Default: "10", Min: 1, Max: 10000, Label: "Maximum sessions per connection",
		Description: "Open sessions allowed on one connection (sshd's `MaxSessions`); more are refused. A connection also holds at most 64 channels (sessions and port forwardings together)."})
	KeySSHMaxStartups = add(&sshKeys, Key{Name: "ovfinit.ssh.max-startups", Group: "SSH server", Type: TypeString, Default: "10:30:100", Label: "Unauthenticated connections",
		Description: "Connections not yet authenticated (from the TCP connect through the key exchange to the login), as sshd's `MaxStartups` *start:rate:full*: beyond *start* new connections are refused with a chance of *rate* percent, rising linearly to 100 at *full*. A single number *n* refuses every connection beyond *n*."})
	KeySSHPerSourceMaxStartups = add(&sshKeys, Key{Name: "ovfinit.ssh.per-source-max-startups", Group: "SSH server", Type: TypeInt, Default: "10", Min: 1, Max: 100000, Label: "Unauthenticated connections per source",
		Description: "Connections not yet authenticated allowed from one source address (an IPv6 /64 counts as one), like sshd's `PerSourceMaxStartups`; more are refused at once."})
	KeySSHIdleTimeout = add(&sshKeys, Key{Name: "ovfinit.ssh.idle-timeout", Group: "SSH server", Type: TypeInt, Default: "0", Min: 0, Max: 2147483647, Label: "Idle timeout (seconds)",
		Description: "Close connections with no traffic for this many seconds; 0 never does. Keepalive answers count as traffic, so set `ovfinit.ssh.keepalive-interval` to 0 for an idle timeout to apply to live clients."})
	KeySSHKeepaliveInterval = add(&sshKeys, Key{Name: "ovfinit.ssh.keepalive-interval", Group: "SSH server", Type: TypeInt, Default: "60", Min: 0, Max: 86400, Label: "Keepalive interval (seconds)",
		Description: "Send `keepalive@openssh.com` every this many seconds and drop clients that leave 3 unanswered (sshd's `ClientAliveInterval`, `ClientAliveCountMax 3`); 0 disables."})
	KeySSHServer = add(&sshKeys, Key{Name: "ovfinit.ssh.server", Group: "SSH server", Type: TypeString, Default: "auto", Choices: map[string]string{"auto": "auto", "embedded": "embedded", "os": "os"}, Label: "SSH server",
		Description: "Which SSH server serves `ovfinit.ssh.port`: `embedded` (ovfinit's own), `os` (the image's OpenSSH) or `auto` (`os` when the image has `/usr/sbin/sshd`, else `embedded`; with `auto` under systemd, ovfinit's server answers on OpenSSH's port, with the same host keys, until OpenSSH starts and takes it over). With `os`, ovfinit generates the instance's host keys into `/etc/ssh/ssh_host_*_key` (as with `ovfinit.ssh.write-os-host-keys`), installs the users' keys in `~/.ssh/authorized_keys`, reports those keys' fingerprints and the port, and leaves the port to OpenSSH, which starts once ovfinit is ready: the embedded server listens only on `ovfinit.ssh.alt-port`, when set. See docs/ssh.md."})
)
