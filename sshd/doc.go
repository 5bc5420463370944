// Package sshd is ovfinit's embedded SSH server: it needs nothing from the
// OS but a shell, and runs commands, interactive shells and SFTP as the
// authenticated user.
//
// It is built on github.com/gliderlabs/ssh with every handler set
// explicitly (gliderlabs would otherwise accept every client when no auth
// handler is set, and switch on whatever its package-level defaults name).
// Authentication: public keys from ~/.ssh/authorized_keys merged with
// Config.StoredKeys, whose authorized_keys options (command=, from=, no-pty,
// restrict, expiry-time=, ...) are enforced as OpenSSH does, a key with an
// option the server can not enforce being refused (keyopts.go); user
// certificates signed by Config.UserCAKeys; passwords only when
// Config.CheckPassword is set (ShadowPasswords checks /etc/shadow).
// Config.PermitRootLogin restricts uid 0 (prohibit-password by default) and
// Config.Accounts (ShadowAccounts) enforces shadow expiry: expired accounts
// are refused, expired passwords must be changed with passwd first
// (policy.go, shadow.go). Accounts whose shell is nologin or false get no
// session and no SFTP.
// Local port forwarding and agent forwarding are off unless Config enables
// them; remote forwarding and X11 are always refused. Config.Limits bounds
// authentication attempts, the login grace time, failed logins per source
// address, open sessions, idle connections, and sends keepalives.
//
// Host keys (ed25519, ECDSA, RSA) are a HostKeys set (hostkeys.go): loaded
// or made under a mutex, files 0600; RSA generation is slow, so a new RSA
// key is made in the background once the caller says the boot is ready
// (HostKeys.Ready), and joins a running server through HostKeys.Follow and
// Server.AddHostKey.
//
// Run as root, each session runs with the user's uid, gid and groups in a
// new session (setsid), on a PTY when the client asks for one. SFTP runs the
// same way: Config.SFTPCommand re-executes this program's hidden
// "sftp-server" command (ServeSFTP) as the user, so no thread of the server
// ever changes identity. Run as any other user, the server logs in only its
// own uid. On Windows sessions run as the server's own account, commands
// through cmd.exe /C, terminals on ConPTY with a pipe fallback.
package sshd
