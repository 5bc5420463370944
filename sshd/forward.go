package sshd

import (
	"sync"

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
	// Each forwarding holds a connection of the server's: counted against
	// the connection's channel limit until both sides closed it.
	c := countsOf(ctx)
	if err := s.openChannel(c); err != nil {
		s.logChannelRefused(ctx, conn, "ssh port forwarding refused", err)
		ch.Reject(gossh.ResourceShortage, err.Error())
		return
	}
	cn := &countedNewChannel{NewChannel: ch, release: sync.OnceFunc(c.closeChannel)}
	gliderssh.DirectTCPIPHandler(srv, conn, cn, ctx)
	if !cn.accepted {
		cn.release()
	}
}
