package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = gliderssh.ErrServerClosed

// DefaultShutdownTimeout bounds Shutdown when its context has no deadline:
// open sessions get this long to end before their connections are closed.
const DefaultShutdownTimeout = 10 * time.Second

var (
	// errKeyNotAuthorized: the user exists but the key is not one of theirs.
	errKeyNotAuthorized = errors.New("key not in the user's authorized keys")
	// errNotPermitted: the user exists but this server may not log them in.
	errNotPermitted = errors.New("login not permitted")
)

// Config configures a Server. Only HostKeys is required.
type Config struct {
	Addr     string         // for ListenAndServe: "127.0.0.1:0", ":22"; ":22" when empty
	HostKeys []gossh.Signer // required; New fails without one

	// LookupUser resolves a login name. The default reads /etc/passwd and
	// /etc/group itself (local accounts only, no cgo). An unknown name should
	// be an error wrapping ErrUnknownUser.
	LookupUser func(name string) (*User, error)

	// AuthorizedKeys returns the keys allowed for u. The default reads
	// <home>/.ssh/authorized_keys (a missing file means no keys); keys with
	// options and certificates are ignored with a warning, since this server
	// does not enforce options.
	AuthorizedKeys func(u *User) ([]gossh.PublicKey, error)

	// Log receives login, refusal and session records; nil discards them.
	// Key material is never logged, only fingerprints; commands are not logged.
	Log *slog.Logger

	// Env is the base environment for sessions (PATH etc.); HOME, USER,
	// LOGNAME, SHELL, SSH_CONNECTION and (with a PTY) TERM are set per
	// session, and LANG and LC_* are taken from the client. nil means a
	// default PATH (on Windows: the server's own environment).
	Env []string
}

// Server is an SSH server that authenticates with public keys only and runs
// commands and shells as the authenticated user. Subsystems (sftp), port
// forwarding, agent forwarding and X11 forwarding are refused.
//
// Run as root it switches to the user's uid, gid and groups for each
// session; run as anyone else it logs in only its own uid.
type Server struct {
	cfg  Config
	log  *slog.Logger
	srv  *gliderssh.Server
	euid int // os.Geteuid() at New; 0 means switch credentials per session

	// ptys holds each session's PTY request, read in the request loop:
	// gliderssh's Session.Pty races with window-change requests when called
	// from the handler.
	ptys sync.Map // gliderssh.Session -> ptyState

	mu        sync.Mutex
	listeners []net.Listener
	addr      net.Addr
	closed    bool
}

// ctxKey is the type of this package's keys in a gliderssh.Context.
type ctxKey struct{ name string }

// ctxKeyUser holds the *User that passed public-key authentication.
var ctxKeyUser = &ctxKey{"ovfinit-user"}

// New checks cfg and returns a Server ready to Serve.
func New(cfg Config) (*Server, error) {
	if len(cfg.HostKeys) == 0 {
		return nil, errors.New("sshd: Config.HostKeys is empty: at least one host key is required")
	}
	signers := make([]gliderssh.Signer, len(cfg.HostKeys))
	for i, k := range cfg.HostKeys {
		if k == nil {
			return nil, fmt.Errorf("sshd: Config.HostKeys[%d] is nil", i)
		}
		signers[i] = k
	}
	s := &Server{cfg: cfg, log: cfg.Log, euid: os.Geteuid()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.LookupUser == nil {
		s.cfg.LookupUser = defaultLookupUser
	}
	if s.cfg.AuthorizedKeys == nil {
		s.cfg.AuthorizedKeys = s.defaultAuthorizedKeys
	}
	if s.cfg.Env == nil {
		s.cfg.Env = defaultEnv()
	}
	s.srv = &gliderssh.Server{
		Addr:                     cfg.Addr,
		Handler:                  s.handleSession,
		HostSigners:              signers,
		Version:                  "ovfinit",
		PublicKeyHandler:         s.checkPublicKey,
		PtyCallback:              s.allowPty,
		SessionRequestCallback:   s.sessionRequest,
		ServerConfigCallback:     s.serverConfig,
		ConnectionFailedCallback: s.connectionFailed,
		// Explicit, so that nothing registered in gliderssh's package-level
		// defaults can switch on a channel type, global request or subsystem.
		ChannelHandlers:   map[string]gliderssh.ChannelHandler{"session": s.sessionChannel},
		RequestHandlers:   map[string]gliderssh.RequestHandler{},
		SubsystemHandlers: map[string]gliderssh.SubsystemHandler{},
	}
	return s, nil
}

// Serve accepts connections on l until Shutdown; it then returns
// ErrServerClosed. l is closed when Serve returns.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, l)
	s.addr = l.Addr()
	s.mu.Unlock()

	fps := make([]string, len(s.cfg.HostKeys))
	for i, k := range s.cfg.HostKeys {
		fps[i] = k.PublicKey().Type() + " " + Fingerprint(k.PublicKey())
	}
	s.log.Info("ssh server listening", "addr", l.Addr().String(), "host_keys", fps)

	err := s.srv.Serve(l)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	return fmt.Errorf("sshd: serving on %s: %w", l.Addr(), err)
}

// ListenAndServe listens on Config.Addr (":22" when empty) and serves.
func (s *Server) ListenAndServe() error {
	addr := s.cfg.Addr
	if addr == "" {
		addr = ":22"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sshd: listening on %s: %w", addr, err)
	}
	return s.Serve(l)
}

// Addr returns the address of the most recent listener given to Serve (or
// opened by ListenAndServe), or nil before that.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting connections and waits for open connections to
// end. When ctx ends first (after DefaultShutdownTimeout if ctx has no
// deadline) it closes the remaining connections, which hangs up their
// processes, and returns the context's error. Serve returns ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownTimeout)
		defer cancel()
	}
	err := s.srv.Shutdown(ctx)
	// A Serve that had not yet registered its listener with gliderssh when
	// Shutdown ran is stopped here.
	for _, l := range ls {
		l.Close()
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		s.srv.Close()
		s.log.Warn("ssh server shutdown: sessions still open at the deadline; connections closed", "err", err)
		return fmt.Errorf("sshd: shutdown: %w", err)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sshd: shutdown: %w", err)
	}
	s.log.Info("ssh server stopped")
	return nil
}

// authorize decides whether key may log in as name and returns the user.
func (s *Server) authorize(name string, key gossh.PublicKey) (*User, error) {
	u, err := s.cfg.LookupUser(name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	if err := s.mayLogin(u); err != nil {
		return nil, err
	}
	keys, err := s.cfg.AuthorizedKeys(u)
	if err != nil {
		return nil, err
	}
	want := key.Marshal()
	for _, k := range keys {
		if k != nil && bytes.Equal(k.Marshal(), want) {
			return u, nil
		}
	}
	return nil, errKeyNotAuthorized
}

// mayLogin enforces that an unprivileged server logs in only its own user.
func (s *Server) mayLogin(u *User) error {
	switch {
	case s.euid == 0:
		return nil
	case s.euid > 0:
		if u.UID == uint32(s.euid) {
			return nil
		}
		return fmt.Errorf("%w: the server runs as uid %d, not root, and can log in only that uid; %q is uid %d",
			errNotPermitted, s.euid, u.Name, u.UID)
	default: // no uids (Windows)
		return sameProcessUser(u)
	}
}

// checkPublicKey is gliderssh's PublicKeyHandler. It answers the client's
// "would this key do?" queries and pre-filters keys. gliderssh remembers only
// the first user name of a connection, so the decision that counts is taken
// again in VerifiedPublicKeyCallback with the name the client signed for.
func (s *Server) checkPublicKey(ctx gliderssh.Context, key gliderssh.PublicKey) bool {
	if _, err := s.authorize(ctx.User(), key); err != nil {
		s.logRefusal(ctx.User(), ctx.RemoteAddr(), key, err)
		return false
	}
	return true
}

func (s *Server) logRefusal(user string, remote net.Addr, key gossh.PublicKey, err error) {
	level := slog.LevelWarn
	if errors.Is(err, errKeyNotAuthorized) {
		// Clients routinely offer several keys; one not matching is normal.
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "ssh public key refused",
		"user", user, "fingerprint", Fingerprint(key), "key_type", key.Type(),
		"remote", addrString(remote), "reason", err.Error())
}

// serverConfig adds to gliderssh's per-connection x/crypto config the
// callback that sees the key a client proved it holds.
func (s *Server) serverConfig(ctx gliderssh.Context) *gossh.ServerConfig {
	return &gossh.ServerConfig{
		VerifiedPublicKeyCallback: func(conn gossh.ConnMetadata, key gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			u, err := s.authorize(conn.User(), key)
			if err != nil {
				s.logRefusal(conn.User(), conn.RemoteAddr(), key, err)
				return nil, err
			}
			ctx.SetValue(ctxKeyUser, u)
			s.log.Info("ssh login accepted", "user", u.Name, "uid", u.UID,
				"fingerprint", Fingerprint(key), "key_type", key.Type(),
				"remote", addrString(conn.RemoteAddr()))
			return perms, nil
		},
		AuthLogCallback: func(conn gossh.ConnMetadata, method string, err error) {
			switch {
			case err == nil || method == "publickey":
				// logged by checkPublicKey and VerifiedPublicKeyCallback
			case method == "none":
				// every client starts with "none" to learn the methods
				s.log.Debug("ssh auth method refused", "user", conn.User(), "method", method, "remote", addrString(conn.RemoteAddr()))
			default:
				s.log.Info("ssh auth method refused", "user", conn.User(), "method", method, "remote", addrString(conn.RemoteAddr()))
			}
		},
	}
}

func (s *Server) connectionFailed(conn net.Conn, err error) {
	s.log.Warn("ssh connection refused", "remote", addrString(conn.RemoteAddr()), "err", err)
}

func (s *Server) allowPty(ctx gliderssh.Context, p gliderssh.Pty) bool {
	if !ptySupported {
		s.log.Info("ssh pty refused: no pseudo-terminals on this OS", "user", ctx.User())
	}
	return ptySupported
}

// ptyState is a session's PTY request as gliderssh's Session.Pty returns it.
type ptyState struct {
	pty   gliderssh.Pty
	winCh <-chan gliderssh.Window
	ok    bool
}

// sessionRequest runs in gliderssh's request loop just before it starts the
// handler for a "shell" or "exec" request.
func (s *Server) sessionRequest(sess gliderssh.Session, requestType string) bool {
	p, winCh, isPty := sess.Pty()
	s.ptys.Store(sess, ptyState{pty: p, winCh: winCh, ok: isPty})
	s.log.Info("ssh session requested", "user", sess.User(), "remote", addrString(sess.RemoteAddr()),
		"request", requestType, "pty", isPty)
	return true
}

// sessionChannel is the "session" channel handler: gliderssh's own, with
// requests this server refuses filtered out first (gliderssh accepts agent
// forwarding requests unconditionally).
func (s *Server) sessionChannel(srv *gliderssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx gliderssh.Context) {
	gliderssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: ch, s: s, user: conn.User(), remote: conn.RemoteAddr()}, ctx)
}

// refusedRequests are session requests refused before gliderssh sees them.
var refusedRequests = map[string]bool{
	"auth-agent-req@openssh.com": true,
	"x11-req":                    true,
}

type filteredChannel struct {
	gossh.NewChannel
	s      *Server
	user   string
	remote net.Addr
}

func (f *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		// gliderssh queues window changes in a one-slot channel that only
		// the running handler drains: a window change sent before "shell" or
		// "exec" would block its request loop for good. Hold the latest one
		// back until the handler runs.
		var held *gossh.Request
		started := false
		for r := range reqs {
			switch {
			case refusedRequests[r.Type] || r.Type == "subsystem":
				f.s.log.Info("ssh session request refused", "user", f.user, "remote", addrString(f.remote), "request", r.Type)
				if r.WantReply {
					r.Reply(false, nil)
				}
				continue
			case r.Type == "window-change" && !started:
				if held != nil && held.WantReply {
					held.Reply(true, nil) // superseded
				}
				held = r
				continue
			}
			out <- r
			if r.Type == "shell" || r.Type == "exec" {
				started = true
				if held != nil {
					out <- held
					held = nil
				}
			}
		}
	}()
	return ch, out, nil
}

func (s *Server) defaultAuthorizedKeys(u *User) ([]gossh.PublicKey, error) {
	keys, skipped, err := readAuthorizedKeys(u)
	for _, msg := range skipped {
		s.log.Warn("authorized_keys line ignored", "user", u.Name, "where", msg)
	}
	return keys, err
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
