// Package sshd is ovfinit's embedded SSH server: it needs nothing from the
// OS but a shell, authenticates with public keys only, and runs commands and
// interactive shells as the authenticated user.
//
// It is built on github.com/gliderlabs/ssh with every handler set
// explicitly: no password or keyboard-interactive authentication, no
// subsystems (sftp), no port, agent or X11 forwarding. The host key is
// persisted with LoadOrCreateHostKey; users come from /etc/passwd and
// /etc/group and keys from ~/.ssh/authorized_keys unless Config says
// otherwise.
//
// Run as root, each session runs with the user's uid, gid and groups in a
// new session (setsid), on a PTY when the client asks for one. Run as any
// other user, the server logs in only its own uid. On Windows only exec
// requests (through cmd.exe /C) work, and only for the server's own account.
package sshd
