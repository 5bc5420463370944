package sshd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = gliderssh.ErrServerClosed

// DefaultShutdownTimeout bounds Shutdown when its context has no deadline:
// open sessions get this long to end before their connections are closed.
const DefaultShutdownTimeout = 10 * time.Second

// Config configures a Server. Only HostKeys is required.
type Config struct {
	Addr     string         // for ListenAndServe: "127.0.0.1:0", ":22"; ":22" when empty
	HostKeys []gossh.Signer // required; New fails without one

	// LookupUser resolves a login name. The default reads /etc/passwd and
	// /etc/group itself (local accounts only, no cgo). An unknown name should
	// be an error wrapping ErrUnknownUser.
	LookupUser func(name string) (*User, error)

	// AuthorizedKeys returns the keys allowed for u, with their options as
	// written (ParseAuthorizedKeys). The default reads
	// <home>/.ssh/authorized_keys (a missing file means no keys);
	// certificates there are ignored with a warning. The server enforces
	// the options of every key, whatever its source (docs/ssh.md); a key
	// whose options it can not enforce does not log in.
	AuthorizedKeys func(u *User) ([]AuthorizedKey, error)

	// Log receives login, refusal and session records; nil discards them.
	// Key material is never logged, only fingerprints; commands are not logged.
	Log *slog.Logger

	// Env is the base environment for sessions (PATH etc.); HOME, USER,
	// LOGNAME, SHELL, SSH_CONNECTION and (with a PTY) TERM are set per
	// session, and the client's variables named in AcceptEnv are added. nil
	// means a default PATH (on Windows: the server's own environment).
	Env []string

	// AcceptEnv lists the client variables a session takes, as sshd_config's
	// AcceptEnv: names, or prefixes ending in "*". nil means DefaultAcceptEnv.
	AcceptEnv []string

	// StoredKeys, if set, returns more keys for a user name from a key store
	// (reservations, the users store), with their options as written. They
	// are merged with AuthorizedKeys' and their options enforced alike.
	StoredKeys func(user string) ([]AuthorizedKey, error)

	// PermitUserEnvironment lets the environment="NAME=value" options of
	// authorized keys set variables in their sessions, as sshd_config's
	// PermitUserEnvironment. Off (the default), such options are ignored
	// and logged, as OpenSSH does.
	PermitUserEnvironment bool

	// UserCAKeys are the certificate authorities whose user certificates
	// log in: the certificate must be a user certificate, within its
	// validity window, name the login user among its principals, carry no
	// critical option but source-address, and come from an allowed address.
	// Empty means certificates are refused.
	UserCAKeys []gossh.PublicKey

	// CheckPassword, if set, enables password authentication: it returns nil
	// when password is u's. nil (the default) refuses every password.
	// ShadowPasswords checks against a shadow(5) file.
	CheckPassword func(u *User, password []byte) error

	// PermitRootLogin says how the uid-0 account may log in (sshd_config's
	// PermitRootLogin); "" means RootLoginProhibitPassword: keys and
	// certificates, never a password.
	PermitRootLogin RootLogin

	// Accounts, if set, returns u's shadow(5) ageing fields (nil: nothing
	// known), checked at every login by any method, as pam_unix does for
	// OpenSSH: an expired account is refused; an account whose password must
	// be changed (expired, or last changed on day 0 as
	// ovfinit.user.expire-password leaves it) gets a session that only runs
	// passwd, on a terminal, and no forwarding. ShadowAccounts reads
	// /etc/shadow. nil enforces nothing.
	Accounts func(u *User) (*ShadowEntry, error)

	// OnLogin, if set, is called after each successful authentication.
	OnLogin func(Login)

	// AllowTCPForwarding enables local port forwarding (ssh -L, direct-tcpip).
	AllowTCPForwarding bool
	// AllowAgentForwarding enables agent forwarding (ssh -A).
	AllowAgentForwarding bool

	// Ciphers offered, in order; nil means DefaultCiphers.
	Ciphers []string

	// SFTPCommand is the argv of the SFTP server a session's "sftp"
	// subsystem runs as the user: normally this binary's hidden
	// "sftp-server" command, which calls ServeSFTP. nil disables SFTP.
	SFTPCommand []string

	Limits Limits

	// OnIdle, if set, is called (on its own goroutine) once the server has
	// had no open connection for IdleDelay: after Serve starts and after each
	// last connection closes. ovfinit gives memory back there
	// (internal/memtrim): the garbage of the last sessions and the pages of
	// the binary they touched.
	OnIdle func()
	// IdleDelay is how long without connections before OnIdle; 0 means
	// DefaultIdleDelay.
	IdleDelay time.Duration

	// OnSessions, if set, is called with the number of open sessions when
	// Serve starts and whenever the number changes, one call at a time and
	// always with the latest count. Process-wide policy that depends on
	// the load (ovfinit's GOMAXPROCS policy, cmd/ovfinit) hangs here; the
	// server itself never changes the process's settings.
	OnSessions func(open int)
}

// DefaultIdleDelay is Config.IdleDelay's default.
const DefaultIdleDelay = 2 * time.Second

// Limits bound what clients may use. Zero fields take the defaults given.
type Limits struct {
	MaxAuthTries      int           // per connection; 6
	LoginGraceTime    time.Duration // from connect to authenticated; 2 minutes
	MaxFailedLogins   int           // per source address in FailedLoginWindow; 20
	FailedLoginWindow time.Duration // 1 minute
	MaxSessions       int           // open session channels on the server; 256
	IdleTimeout       time.Duration // no traffic either way (keepalive replies count); 0: none
	KeepaliveInterval time.Duration // keepalive@openssh.com after this long; 0: none
	KeepaliveCountMax int           // unanswered keepalives before the connection is dropped; 3

	// MaxSessionsPerConn: open sessions on one connection (sshd's
	// MaxSessions); 10.
	MaxSessionsPerConn int
	// MaxChannelsPerConn: open channels of any kind (sessions, port
	// forwardings) on one connection, counted until both sides closed
	// them; 64.
	MaxChannelsPerConn int
	// Startups limits connections not yet authenticated (sshd's
	// MaxStartups and PerSourceMaxStartups); see StartupLimits.
	Startups StartupLimits
}

// Defaults for Limits.
const (
	DefaultMaxAuthTries      = 6
	DefaultLoginGraceTime    = 2 * time.Minute
	DefaultMaxFailedLogins   = 20
	DefaultFailedLoginWindow = time.Minute
	DefaultMaxSessions       = 256
	DefaultKeepaliveCountMax = 3
)

func (l *Limits) setDefaults() {
	if l.MaxAuthTries <= 0 {
		l.MaxAuthTries = DefaultMaxAuthTries
	}
	if l.LoginGraceTime <= 0 {
		l.LoginGraceTime = DefaultLoginGraceTime
	}
	if l.MaxFailedLogins <= 0 {
		l.MaxFailedLogins = DefaultMaxFailedLogins
	}
	if l.FailedLoginWindow <= 0 {
		l.FailedLoginWindow = DefaultFailedLoginWindow
	}
	if l.MaxSessions <= 0 {
		l.MaxSessions = DefaultMaxSessions
	}
	if l.MaxSessionsPerConn <= 0 {
		l.MaxSessionsPerConn = DefaultMaxSessionsPerConn
	}
	if l.MaxChannelsPerConn <= 0 {
		l.MaxChannelsPerConn = DefaultMaxChannelsPerConn
	}
	if l.KeepaliveCountMax <= 0 {
		l.KeepaliveCountMax = DefaultKeepaliveCountMax
	}
	l.Startups.setDefaults()
}

// DefaultAcceptEnv is the client environment a session takes by default:
// Debian's sshd_config list.
var DefaultAcceptEnv = []string{"LANG", "LC_*", "COLORTERM", "NO_COLOR"}

// DefaultCiphers are offered by default: AES-GCM only. OpenSSH clients pick
// the first cipher of their own list that the server offers: chacha20-poly1305,
// then aes128-ctr, then aes128-gcm. golang.org/x/crypto's chacha20 has no
// amd64 assembly and runs at about 0.7x OpenSSH, and CTR needs a separate MAC
// pass, so offering either would make every default connection slow;
// offering only AES-GCM makes the client's default choice aes128-gcm. Every
// OpenSSH since 6.2 (2013) and PuTTY since 0.76 speak it. Config.Ciphers
// (ovfinit.ssh.ciphers) adds the others for older clients.
var DefaultCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}

// Login describes a successful authentication.
type Login struct {
	User        string
	From        string // remote address, host:port
	Fingerprint string // SHA256 fingerprint of the key (of the CA-signed key for certificates); "" for passwords
	Method      string // "publickey", "certificate" or "password"
	Time        time.Time
}

// Server is an SSH server that authenticates with public keys (and their
// authorized_keys options), user certificates from Config.UserCAKeys and,
// when Config.CheckPassword is set, passwords, and runs commands, shells and
// the SFTP subsystem (Config.SFTPCommand) as the authenticated user. Local
// port forwarding and agent forwarding are off unless Config enables them;
// remote forwarding, X11 and other subsystems are always refused.
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

	fails    *failLimiter
	noisy    logLimiter // rate-limits per-connection failure logs (lograte.go)
	startups *startups
	kex      *kexGate // staggers key exchanges (kexgate.go)
	certs    *gossh.CertChecker
	sessions atomic.Int64 // open session channels
	// sessionsMu serialises Config.OnSessions calls.
	sessionsMu sync.Mutex
	conns      atomic.Int64 // open connections (accepted, not yet closed)
	idle       *time.Timer  // calls Config.OnIdle; nil without it

	mu        sync.Mutex
	listeners []net.Listener
	addr      net.Addr
	closed    bool
	stopped   bool // StopListening: no new connections, the open ones go on
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
	s.log = s.log.With("component", "sshd")
	if s.cfg.LookupUser == nil {
		s.cfg.LookupUser = defaultLookupUser
	}
	if s.cfg.AuthorizedKeys == nil {
		s.cfg.AuthorizedKeys = s.defaultAuthorizedKeys
	}
	if s.cfg.Env == nil {
		s.cfg.Env = defaultEnv()
	}
	if s.cfg.AcceptEnv == nil {
		s.cfg.AcceptEnv = DefaultAcceptEnv
	}
	if s.cfg.Ciphers == nil {
		s.cfg.Ciphers = DefaultCiphers
	}
	if s.cfg.PermitRootLogin != "" {
		if _, err := ParseRootLogin(string(s.cfg.PermitRootLogin)); err != nil {
			return nil, fmt.Errorf("sshd: Config.PermitRootLogin: %w", err)
		}
	}
	for _, ca := range s.cfg.UserCAKeys {
		if ca == nil {
			return nil, errors.New("sshd: Config.UserCAKeys holds a nil key")
		}
	}
	s.cfg.Limits.setDefaults()
	s.fails = newFailLimiter(s.cfg.Limits.MaxFailedLogins, s.cfg.Limits.FailedLoginWindow)
	s.startups = newStartups(s.cfg.Limits.Startups)
	s.kex = newKexGate()
	s.certs = &gossh.CertChecker{IsUserAuthority: s.isUserCA}
	if s.cfg.IdleDelay <= 0 {
		s.cfg.IdleDelay = DefaultIdleDelay
	}
	if s.cfg.OnIdle != nil {
		s.idle = time.AfterFunc(time.Duration(1<<62), func() {
			if s.conns.Load() == 0 {
				s.cfg.OnIdle()
			}
		})
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
		ConnCallback:             s.acceptConn,
		IdleTimeout:              s.cfg.Limits.IdleTimeout,
		// Explicit, so that nothing registered in gliderssh's package-level
		// defaults can switch on a channel type, global request or subsystem.
		ChannelHandlers:   map[string]gliderssh.ChannelHandler{"session": s.sessionChannel},
		RequestHandlers:   map[string]gliderssh.RequestHandler{},
		SubsystemHandlers: map[string]gliderssh.SubsystemHandler{},
	}
	if s.cfg.CheckPassword != nil {
		s.srv.PasswordHandler = s.checkPassword
	}
	if len(s.cfg.SFTPCommand) > 0 {
		s.srv.SubsystemHandlers["sftp"] = s.handleSFTP
	}
	if s.cfg.AllowTCPForwarding {
		s.srv.ChannelHandlers["direct-tcpip"] = s.directTCPIP
		s.srv.LocalPortForwardingCallback = s.keyAllowsOpen
	}
	// gliderssh accepts every client when no auth handler is set. This
	// server always sets one; this check keeps it so.
	if s.srv.PublicKeyHandler == nil {
		return nil, errors.New("sshd: internal error: no public key handler")
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
	s.armIdle()
	s.reportSessions()

	err := s.srv.Serve(l)
	s.mu.Lock()
	closed := s.closed || s.stopped
	s.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	return fmt.Errorf("sshd: serving on %s: %w", l.Addr(), err)
}

// reportSessions calls Config.OnSessions with the open sessions.
func (s *Server) reportSessions() {
	if s.cfg.OnSessions == nil {
		return
	}
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	s.cfg.OnSessions(int(s.sessions.Load()))
}

// armIdle (re)starts the countdown to Config.OnIdle.
// After Shutdown it stays stopped.
func (s *Server) armIdle() {
	if s.idle == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.idle.Reset(s.cfg.IdleDelay)
	}
}

// AddHostKey offers k to every connection from now on, replacing a key of
// the same algorithm: an RSA key generated in the background joins the
// server once it is ready.
func (s *Server) AddHostKey(k gossh.Signer) {
	s.srv.AddHostKey(k)
	s.log.Info("ssh host key added", "type", k.PublicKey().Type(), "fingerprint", Fingerprint(k.PublicKey()))
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

// StopListening closes the listeners: no new connection is accepted, and
// the open connections and their sessions go on; Serve returns
// ErrServerClosed. Shutdown still waits for (or ends) the open ones. It is
// how ovfinit's interim server gives the port to OpenSSH.
func (s *Server) StopListening() error {
	s.mu.Lock()
	s.stopped = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.log.Info("ssh server stopped listening; open connections go on", "addr", s.Addr().String())
	return errors.Join(errs...)
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
	if s.idle != nil {
		s.idle.Stop()
	}
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

func (s *Server) connectionFailed(conn net.Conn, err error) {
	s.noisy.warn(s.log, hostOf(conn.RemoteAddr()), "ssh connection refused", "remote", addrString(conn.RemoteAddr()), "err", err)
}

func (s *Server) allowPty(ctx gliderssh.Context, p gliderssh.Pty) bool {
	if s.keyRefusesPty(ctx) {
		return false
	}
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
// requests this server refuses or takes itself filtered out first
// (gliderssh accepts agent forwarding requests unconditionally, and blocks
// its request loop on signals and window changes the handler does not
// read), within the server's and the connection's session limits.
func (s *Server) sessionChannel(srv *gliderssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx gliderssh.Context) {
	st, err := s.openSession(ctx)
	if err != nil {
		s.logChannelRefused(ctx, conn, "ssh session refused", err)
		ch.Reject(gossh.ResourceShortage, err.Error())
		return
	}
	defer st.closed()
	gliderssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: ch, s: s, st: st, user: conn.User(), remote: conn.RemoteAddr(), opts: keyOptionsOf(ctx)},
		&chanContext{Context: ctx, st: st})
}

// refusedRequests are session requests refused before gliderssh sees them.
var refusedRequests = map[string]bool{
	"x11-req": true,
}

type filteredChannel struct {
	gossh.NewChannel
	s      *Server
	st     *chanState
	user   string
	remote net.Addr
	opts   *keyOptions // of the key the connection logged in with
}

func (f *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	st := f.st
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		defer close(st.windows) // ends the handler's window loop
		started := false
		for r := range reqs {
			switch {
			case refusedRequests[r.Type] ||
				r.Type == "auth-agent-req@openssh.com" && (!f.s.cfg.AllowAgentForwarding || keyRefusesAgent(f.opts)) ||
				r.Type == "subsystem" && !f.s.subsystemAllowed(r.Payload):
				f.s.log.Info("ssh session request refused", "user", f.user, "remote", addrString(f.remote), "request", r.Type)
				r.Reply(false, nil)
				continue
			case r.Type == "window-change":
				// Kept here, never passed on: gliderssh queues window
				// changes in a one-slot channel only the running handler
				// drains, blocking its request loop otherwise.
				w, ok := parseWindow(r.Payload)
				if ok {
					st.setWindow(w)
				}
				r.Reply(ok, nil)
				continue
			case r.Type == "signal":
				// Likewise: gliderssh sends signals to the handler with the
				// session locked, so one the handler no longer reads would
				// block the request loop, and the session's end, for good.
				var p struct{ Signal string }
				ok := started && gossh.Unmarshal(r.Payload, &p) == nil && st.queueSignal(gliderssh.Signal(p.Signal))
				r.Reply(ok, nil)
				continue
			case r.Type == "env":
				switch st.envRequest(r.Payload, started) {
				case envIgnore:
					r.Reply(true, nil)
					continue
				case envRefuse:
					if !started && !st.envFull {
						st.envFull = true
						f.s.log.Info("ssh env request refused: the session's environment is full or the request malformed", "user", f.user,
							"remote", addrString(f.remote), "max_vars", maxEnvVars, "max_bytes", maxEnvBytes)
					}
					r.Reply(false, nil)
					continue
				}
			}
			out <- r
			if r.Type == "shell" || r.Type == "exec" || r.Type == "subsystem" {
				started = true
			}
		}
	}()
	return &sessionChan{Channel: ch, st: st}, out, nil
}

// subsystemAllowed reports whether a "subsystem" request names one this
// server runs (sftp when Config.SFTPCommand is set).
func (s *Server) subsystemAllowed(payload []byte) bool {
	var p struct{ Name string }
	if gossh.Unmarshal(payload, &p) != nil {
		return false
	}
	_, ok := s.srv.SubsystemHandlers[p.Name]
	return ok
}

func (s *Server) defaultAuthorizedKeys(u *User) ([]AuthorizedKey, error) {
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
