package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

var (
	// errKeyNotAuthorized: the user exists but the key is not one of theirs.
	errKeyNotAuthorized = errors.New("key not in the user's authorized keys")
	// errNotPermitted: the user exists but this server may not log them in.
	errNotPermitted = errors.New("login not permitted")
	// errRateLimited: too many failed logins from the client's address.
	errRateLimited = errors.New("too many failed logins from this address; try again later")
	// errNoCA: a certificate was offered but no user CA is configured.
	errNoCA = errors.New("certificates are not accepted: no user CA configured")
	// errBadPassword: password authentication failed.
	errBadPassword = errors.New("wrong password")
)

// ctxKeyConn holds a connection's *connState.
var ctxKeyConn = &ctxKey{"ovfinit-conn"}

// connState is what the server tracks about one connection.
type connState struct {
	net.Conn
	s      *Server
	ip     string
	authed atomic.Bool // authentication succeeded
	tried  atomic.Bool // the client tried a real method (not "none")
	grace  *time.Timer
	closed sync.Once
	// startup uncounts the connection from Limits.Startups (authenticated
	// or closed); idempotent.
	startup func()
	// kexDone leaves the key-exchange gate (kexGate): at the first
	// authentication request, which comes after the key exchange, or the
	// close; idempotent.
	kexDone func()
}

// Close records a connection that ended without logging in as a failed
// login of its source address.
func (c *connState) Close() error {
	c.closed.Do(func() {
		c.grace.Stop()
		c.kexDone()
		c.startup()
		if c.tried.Load() && !c.authed.Load() {
			c.s.fails.fail(c.ip)
		}
		if c.s.conns.Add(-1) == 0 {
			c.s.armIdle()
		}
	})
	return c.Conn.Close()
}

// acceptConn is gliderssh's ConnCallback: it refuses addresses over the
// failed-login limit, arms the login grace timer and starts keepalives.
func (s *Server) acceptConn(ctx gliderssh.Context, conn net.Conn) net.Conn {
	ip := hostOf(conn.RemoteAddr())
	if s.fails.limited(ip) {
		if s.fails.shouldLog(ip) {
			s.log.Warn("ssh connection refused: too many failed logins from this address",
				"remote", addrString(conn.RemoteAddr()), "limit", s.cfg.Limits.MaxFailedLogins, "window", s.cfg.Limits.FailedLoginWindow)
		}
		return nil
	}
	startup := s.admitStartup(conn, ip)
	if startup == nil {
		return nil
	}
	s.conns.Add(1)
	// Before the grace timer: the wait for another's key exchange is
	// short (kexWait) and not the client's doing.
	kexDone := s.kex.enter(ctx)
	c := &connState{Conn: conn, s: s, ip: ip, startup: startup, kexDone: kexDone}
	// Armed only once c.grace is set: the function reads it (Close).
	c.grace = time.AfterFunc(time.Duration(1<<62), func() {
		if !c.authed.Load() {
			s.noisy.warn(s.log, ip, "ssh connection dropped: not authenticated within the login grace time",
				"remote", addrString(conn.RemoteAddr()), "grace", s.cfg.Limits.LoginGraceTime)
			c.tried.Store(true) // counts as a failed login
			c.Close()
		}
	})
	c.grace.Reset(s.cfg.Limits.LoginGraceTime)
	ctx.SetValue(ctxKeyConn, c)
	if s.cfg.Limits.KeepaliveInterval > 0 {
		go s.keepalive(ctx, c)
	}
	return c
}

// keepalive sends keepalive@openssh.com requests and drops a connection
// whose client stopped answering, as OpenSSH's ClientAliveInterval does.
func (s *Server) keepalive(ctx gliderssh.Context, c *connState) {
	t := time.NewTicker(s.cfg.Limits.KeepaliveInterval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sc, _ := ctx.Value(gliderssh.ContextKeyConn).(*gossh.ServerConn)
		if sc == nil {
			continue // still in the handshake; the grace timer covers it
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := sc.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				return // connection gone
			}
			missed = 0
		case <-time.After(s.cfg.Limits.KeepaliveInterval):
			missed++
			if missed >= s.cfg.Limits.KeepaliveCountMax {
				s.log.Warn("ssh connection dropped: keepalives unanswered", "user", sc.User(),
					"remote", addrString(sc.RemoteAddr()), "missed", missed)
				sc.Close()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func connOf(ctx gliderssh.Context) *connState {
	c, _ := ctx.Value(ctxKeyConn).(*connState)
	return c
}

// failLimiter counts failed logins per source address in fixed windows.
type failLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*failCount
}

type failCount struct {
	start  time.Time
	n      int
	logged bool // a refusal was logged in this window
}

func newFailLimiter(max int, window time.Duration) *failLimiter {
	return &failLimiter{max: max, window: window, now: time.Now, m: map[string]*failCount{}}
}

// current returns ip's count for the current window; l.mu is held.
func (l *failLimiter) current(ip string) *failCount {
	now := l.now()
	c := l.m[ip]
	if c == nil || now.Sub(c.start) >= l.window {
		if len(l.m) > 10000 { // bound memory under a distributed attack
			for k, v := range l.m {
				if now.Sub(v.start) >= l.window {
					delete(l.m, k)
				}
			}
		}
		c = &failCount{start: now}
		l.m[ip] = c
	}
	return c
}

func (l *failLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.current(ip).n++
}

func (l *failLimiter) limited(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current(ip).n >= l.max
}

// shouldLog reports whether a refusal of ip is the first in its window, so
// that a flood is logged once per window rather than once per connection.
func (l *failLimiter) shouldLog(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.current(ip)
	if c.logged {
		return false
	}
	c.logged = true
	return true
}

// authorize decides whether key may log in as name and returns the user,
// the method ("publickey" or "certificate") and the options of the key's
// authorized_keys line or the certificate's extensions, to enforce in its
// sessions.
func (s *Server) authorize(name string, key gossh.PublicKey, remote net.Addr) (*User, string, *keyOptions, error) {
	if s.fails.limited(hostOf(remote)) {
		return nil, "", nil, errRateLimited
	}
	u, err := s.cfg.LookupUser(name)
	if err != nil {
		return nil, "", nil, err
	}
	if u == nil {
		return nil, "", nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	if err := s.mayLogin(u); err != nil {
		return nil, "", nil, err
	}
	if err := s.checkAccount(u); err != nil {
		return nil, "", nil, err
	}
	if cert, ok := key.(*gossh.Certificate); ok {
		if len(cert.ValidPrincipals) == 0 {
			// x/crypto takes an empty list as "any user"; OpenSSH's sshd
			// refuses such certificates, and so does this server.
			return nil, "", nil, errors.New("certificate refused: it names no principals")
		}
		if !s.isUserCA(cert.SignatureKey) {
			// A CA among the user's keys (cert-authority), else refused.
			opts, err := s.authorizeKeyCA(u, cert, remote)
			if err != nil {
				return nil, "", nil, err
			}
			return s.permitted(u, "certificate", opts)
		}
		if len(s.cfg.UserCAKeys) == 0 {
			return nil, "", nil, errNoCA
		}
		if _, err := s.certs.Authenticate(connMeta{user: name, remote: remote}, cert); err != nil {
			return nil, "", nil, fmt.Errorf("certificate refused: %w", err)
		}
		if err := checkSourceAddress(remote, cert.CriticalOptions["source-address"]); err != nil {
			return nil, "", nil, fmt.Errorf("certificate refused: %w", err)
		}
		return s.permitted(u, "certificate", certOptions(cert))
	}
	keys, err := s.userKeys(u)
	if err != nil {
		return nil, "", nil, err
	}
	opts, err := matchKey(key, keys, remote, time.Now())
	if err != nil {
		return nil, "", nil, err
	}
	return s.permitted(u, "publickey", opts)
}

// permitted applies PermitRootLogin to a key or certificate login that
// otherwise succeeded: forced-commands-only lets root in only when the key's
// command= option (or the certificate's force-command) forces a command.
func (s *Server) permitted(u *User, method string, opts *keyOptions) (*User, string, *keyOptions, error) {
	forced := ""
	if opts != nil && opts.command != nil {
		forced = *opts.command
	}
	if err := s.permitRoot(u, method, forced); err != nil {
		return nil, "", nil, err
	}
	return u, method, opts, nil
}

func (s *Server) isUserCA(auth gossh.PublicKey) bool {
	want := auth.Marshal()
	for _, ca := range s.cfg.UserCAKeys {
		if bytes.Equal(ca.Marshal(), want) {
			return true
		}
	}
	return false
}

// checkSourceAddress enforces a certificate's source-address option: a
// comma-separated list of addresses and CIDR blocks.
func checkSourceAddress(remote net.Addr, list string) error {
	if list == "" {
		return nil
	}
	tcp, ok := remote.(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("source-address %q: remote address %v is not TCP", list, remote)
	}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if _, n, err := net.ParseCIDR(item); err == nil {
			if n.Contains(tcp.IP) {
				return nil
			}
		} else if ip := net.ParseIP(item); ip != nil && ip.Equal(tcp.IP) {
			return nil
		}
	}
	return fmt.Errorf("source-address %q does not allow %s", list, tcp.IP)
}

// connMeta is the gossh.ConnMetadata CertChecker needs.
type connMeta struct {
	user   string
	remote net.Addr
}

func (c connMeta) User() string          { return c.user }
func (c connMeta) SessionID() []byte     { return nil }
func (c connMeta) ClientVersion() []byte { return nil }
func (c connMeta) ServerVersion() []byte { return nil }
func (c connMeta) RemoteAddr() net.Addr  { return c.remote }
func (c connMeta) LocalAddr() net.Addr   { return nil }

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
	if c := connOf(ctx); c != nil {
		c.tried.Store(true)
	}
	if _, _, _, err := s.authorize(ctx.User(), key, ctx.RemoteAddr()); err != nil {
		s.logRefusal(ctx.User(), ctx.RemoteAddr(), key, err)
		return false
	}
	return true
}

// checkPassword is gliderssh's PasswordHandler, set only when
// Config.CheckPassword is.
func (s *Server) checkPassword(ctx gliderssh.Context, password string) bool {
	c := connOf(ctx)
	if c != nil {
		c.tried.Store(true)
	}
	log := s.log.With("user", ctx.User(), "method", "password", "remote", addrString(ctx.RemoteAddr()))
	err := func() error {
		if s.fails.limited(hostOf(ctx.RemoteAddr())) {
			return errRateLimited
		}
		u, refused := s.cfg.LookupUser(ctx.User())
		if refused == nil && u == nil {
			refused = fmt.Errorf("user %q: %w", ctx.User(), ErrUnknownUser)
		}
		if refused == nil {
			refused = s.mayLogin(u)
		}
		if refused == nil {
			refused = s.permitRoot(u, "password", "")
		}
		if refused == nil {
			refused = s.checkAccount(u)
		}
		if refused != nil {
			// The same work as a real attempt, so that the time taken
			// does not tell which accounts exist or may log in.
			s.cfg.CheckPassword(fakeUser, []byte(password))
			return refused
		}
		if err := s.cfg.CheckPassword(u, []byte(password)); err != nil {
			s.fails.fail(hostOf(ctx.RemoteAddr()))
			return err
		}
		ctx.SetValue(ctxKeyUser, u)
		return nil
	}()
	if err != nil {
		log.Warn("ssh password refused", "reason", err.Error())
		return false
	}
	if c != nil {
		c.authenticated()
	}
	s.loggedIn(Login{User: ctx.User(), From: addrString(ctx.RemoteAddr()), Method: "password", Time: time.Now()})
	return true
}

func (s *Server) loggedIn(l Login) {
	s.log.Info("ssh login accepted", "user", l.User, "method", l.Method, "fingerprint", l.Fingerprint, "remote", l.From)
	if s.cfg.OnLogin != nil {
		s.cfg.OnLogin(l)
	}
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
// callback that sees the key a client proved it holds, and the limits.
func (s *Server) serverConfig(ctx gliderssh.Context) *gossh.ServerConfig {
	cfg := &gossh.ServerConfig{
		MaxAuthTries: s.cfg.Limits.MaxAuthTries,
		VerifiedPublicKeyCallback: func(conn gossh.ConnMetadata, key gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			u, method, opts, err := s.authorize(conn.User(), key, conn.RemoteAddr())
			if err != nil {
				s.logRefusal(conn.User(), conn.RemoteAddr(), key, err)
				return nil, err
			}
			ctx.SetValue(ctxKeyUser, u)
			if opts != nil {
				ctx.SetValue(ctxKeyOptions, opts)
			}
			if c := connOf(ctx); c != nil {
				c.authenticated()
			}
			fp := key
			if cert, ok := key.(*gossh.Certificate); ok {
				fp = cert.Key
			}
			s.loggedIn(Login{User: u.Name, From: addrString(conn.RemoteAddr()), Fingerprint: Fingerprint(fp), Method: method, Time: time.Now()})
			return perms, nil
		},
		AuthLogCallback: func(conn gossh.ConnMetadata, method string, err error) {
			// The key exchange is over: let the next connection's start.
			if c := connOf(ctx); c != nil {
				c.kexDone()
			}
			switch {
			case err == nil || method == "publickey" || method == "password":
				// logged by the handlers above
			case method == "none":
				// every client starts with "none" to learn the methods
				s.log.Debug("ssh auth method refused", "user", conn.User(), "method", method, "remote", addrString(conn.RemoteAddr()))
			default:
				s.log.Info("ssh auth method refused", "user", conn.User(), "method", method, "remote", addrString(conn.RemoteAddr()))
			}
		},
	}
	cfg.Ciphers = s.cfg.Ciphers
	return cfg
}

// hostOf is the IP address of a, without the port.
func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
