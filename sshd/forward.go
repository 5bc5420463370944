package sshd

import (
	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// directTCPIP serves local port forwarding (ssh -L) when
// Config.AllowTCPForwarding is set: gliderssh's handler, logged. The
// connection is made by the server process, as OpenSSH's does.
func (s *Server) directTCPIP(srv *gliderssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx gliderssh.Context) {
	var d struct {
		DestAddr   string
		DestPort   uint32
		OriginAddr string
		OriginPort uint32
	}
	if !s.forwardingAllowed(ctx) {
		ch.Reject(gossh.Prohibited, "port forwarding refused: the password must be changed first")
		return
	}
	if err := gossh.Unmarshal(ch.ExtraData(), &d); err == nil {
		s.log.Info("ssh port forwarding", "user", conn.User(), "remote", addrString(conn.RemoteAddr()), "dest_host", d.DestAddr, "dest_port", d.DestPort)
	}
	gliderssh.DirectTCPIPHandler(srv, conn, ch, ctx)
}
