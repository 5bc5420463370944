//go:build unix

package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

func TestShadowEntryState(t *testing.T) {
	const today = 20000
	tests := []struct {
		name string
		e    *ShadowEntry
		want accountState
	}{
		{"no entry", nil, accountOK},
		{"no ageing", &ShadowEntry{LastChange: -1, Max: -1, Inactive: -1, Expire: -1}, accountOK},
		{"usual entry", &ShadowEntry{LastChange: 19990, Max: 99999, Inactive: -1, Expire: -1}, accountOK},
		{"expires tomorrow", &ShadowEntry{LastChange: 19990, Max: -1, Inactive: -1, Expire: today + 1}, accountOK},
		{"expires today", &ShadowEntry{LastChange: 19990, Max: -1, Inactive: -1, Expire: today}, accountExpired},
		{"expired", &ShadowEntry{LastChange: 19990, Max: -1, Inactive: -1, Expire: 1}, accountExpired},
		{"expire-password (day 0)", &ShadowEntry{LastChange: 0, Max: 99999, Inactive: -1, Expire: -1}, accountMustChange},
		{"day 0 but account expired", &ShadowEntry{LastChange: 0, Max: -1, Inactive: -1, Expire: 5}, accountExpired},
		{"aged", &ShadowEntry{LastChange: today - 31, Max: 30, Inactive: -1, Expire: -1}, accountMustChange},
		{"last valid day", &ShadowEntry{LastChange: today - 30, Max: 30, Inactive: -1, Expire: -1}, accountOK},
		{"aged, within inactive days", &ShadowEntry{LastChange: today - 35, Max: 30, Inactive: 7, Expire: -1}, accountMustChange},
		{"aged past inactive days", &ShadowEntry{LastChange: today - 40, Max: 30, Inactive: 7, Expire: -1}, accountExpired},
		{"changed in the future", &ShadowEntry{LastChange: today + 10, Max: 1, Inactive: 0, Expire: -1}, accountOK},
	}
	for _, tt := range tests {
		got, why := tt.e.state(today)
		if got != tt.want {
			t.Errorf("%s: %+v.state(%d) = %v (%s), want %v", tt.name, tt.e, today, got, why, tt.want)
		}
		if got != accountOK && why == "" {
			t.Errorf("%s: state %v without a reason", tt.name, got)
		}
	}
}

func TestParseShadowEntry(t *testing.T) {
	data := []byte("root:*:19000:0:99999:7:::\n" +
		"alice:$6$x:0:0:99999:7:3:20500:\n" +
		"short:!\n" +
		"bad:x:yesterday:0:99999:7:::\n")
	tests := []struct {
		name    string
		want    *ShadowEntry
		wantErr string
	}{
		{"root", &ShadowEntry{LastChange: 19000, Max: 99999, Inactive: -1, Expire: -1}, ""},
		{"alice", &ShadowEntry{LastChange: 0, Max: 99999, Inactive: 3, Expire: 20500}, ""},
		{"short", nil, ""},
		{"nobody", nil, ""},
		{"", nil, ""},
		{"bad", nil, `shadow:4: user "bad": field 3 (last change) is "yesterday"`},
	}
	for _, tt := range tests {
		got, err := parseShadowEntry(data, "shadow", tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseShadowEntry(%q) error = %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parseShadowEntry(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if e, err := ShadowAccounts(filepath.Join(t.TempDir(), "missing"))(&User{Name: "root"}); e != nil || err != nil {
		t.Errorf("ShadowAccounts(missing file) = %v, %v; want nil, nil (nothing to enforce)", e, err)
	}
}

// rootServer starts a server that takes itself for root (for
// authentication only: the tests open no session as uid 0), with a root
// account (uid 0) and alice (uid 1000), each with a key and a password.
func rootServer(t *testing.T, policy RootLogin, rootKey, aliceKey gossh.Signer) *testServer {
	t.Helper()
	shadow := writeShadow(t,
		"root:"+sha512Hash(t, "root pw")+":19000:0:99999:7:::",
		"alice:"+sha512Hash(t, "alice pw")+":19000:0:99999:7:::")
	check, err := ShadowPasswords(shadow)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*User{
		"root":  {Name: "root", UID: 0, GID: 0, Home: t.TempDir(), Shell: "/bin/sh"},
		"alice": {Name: "alice", UID: 1000, GID: 1000, Home: t.TempDir(), Shell: "/bin/sh"},
	}
	keys := map[string][]gossh.PublicKey{"root": {rootKey.PublicKey()}, "alice": {aliceKey.PublicKey()}}
	return startServerConfig(t, users, keys, func(c *Config) {
		c.CheckPassword = check
		c.PermitRootLogin = policy
	}, func(s *Server) { s.euid = 0 })
}

func TestPermitRootLogin(t *testing.T) {
	rootKey, aliceKey := newClientKey(t), newClientKey(t)
	type login struct {
		user string
		auth gossh.AuthMethod
	}
	rootPW := login{"root", gossh.Password("root pw")}
	rootPK := login{"root", gossh.PublicKeys(rootKey)}
	alicePW := login{"alice", gossh.Password("alice pw")}
	alicePK := login{"alice", gossh.PublicKeys(aliceKey)}
	tests := []struct {
		policy  RootLogin
		allowed []login
		refused []login
	}{
		{"", []login{rootPK, alicePW, alicePK}, []login{rootPW}}, // the default
		{RootLoginProhibitPassword, []login{rootPK, alicePW, alicePK}, []login{rootPW}},
		{RootLoginYes, []login{rootPK, rootPW, alicePW, alicePK}, nil},
		{RootLoginNo, []login{alicePW, alicePK}, []login{rootPK, rootPW}},
		// Keys carry no forced command (yet): root is refused either way.
		{RootLoginForcedCommandsOnly, []login{alicePW, alicePK}, []login{rootPK, rootPW}},
	}
	for _, tt := range tests {
		t.Run("policy="+string(tt.policy), func(t *testing.T) {
			ts := rootServer(t, tt.policy, rootKey, aliceKey)
			for _, l := range tt.allowed {
				c, err := ts.dial(l.user, l.auth)
				if err != nil {
					t.Errorf("PermitRootLogin %q: login as %s = %v, want allowed", tt.policy, l.user, err)
					continue
				}
				c.Close()
			}
			for _, l := range tt.refused {
				if c, err := ts.dial(l.user, l.auth); err == nil {
					c.Close()
					t.Errorf("PermitRootLogin %q: login as %s allowed, want refused", tt.policy, l.user)
				}
			}
			if len(tt.refused) > 0 && !strings.Contains(ts.logs.String(), "root login refused") {
				t.Errorf("no \"root login refused\" in the log:\n%s", ts.logs.String())
			}
		})
	}
	if _, err := New(Config{HostKeys: []gossh.Signer{newClientKey(t)}, PermitRootLogin: "sometimes"}); err == nil {
		t.Errorf("New with PermitRootLogin %q succeeded, want an error", "sometimes")
	}
}

func TestPermitRootForcedCommand(t *testing.T) {
	s := &Server{cfg: Config{PermitRootLogin: RootLoginForcedCommandsOnly}, euid: 0}
	root := &User{Name: "root", UID: 0}
	if err := s.permitRoot(root, "publickey", "/usr/bin/backup"); err != nil {
		t.Errorf("permitRoot(forced-commands-only, key with command=) = %v, want nil", err)
	}
	if err := s.permitRoot(root, "password", "/usr/bin/backup"); err == nil {
		t.Errorf("permitRoot(forced-commands-only, password) = nil, want refused")
	}
	s.euid = -1 // Windows: no uids, nobody is root
	s.cfg.PermitRootLogin = RootLoginNo
	if err := s.permitRoot(&User{Name: "Administrator"}, "password", ""); err != nil {
		t.Errorf("permitRoot without uids = %v, want nil", err)
	}
}

// shadowDay is a shadow(5) day number relative to today.
func shadowDay(delta int64) string { return fmt.Sprint(today() + delta) }

// agingServer serves alice (a shadow entry given by line) and bob (no
// ageing) with keys and passwords, ageing read from the shadow file.
func agingServer(t *testing.T, aliceLine string, key gossh.Signer, cfgFn func(*Config)) *testServer {
	t.Helper()
	shadow := writeShadow(t, "alice:"+sha512Hash(t, "alice pw")+aliceLine, "bob:"+sha512Hash(t, "bob pw")+":19000:0:99999:7:::")
	check, err := ShadowPasswords(shadow)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*User{"alice": testUser("alice", t.TempDir()), "bob": testUser("bob", t.TempDir())}
	keys := map[string][]gossh.PublicKey{"alice": {key.PublicKey()}, "bob": {key.PublicKey()}}
	return startServerConfig(t, users, keys, func(c *Config) {
		c.CheckPassword = check
		c.PermitRootLogin = RootLoginYes // test users have the test's uid, 0 as root
		c.Accounts = ShadowAccounts(shadow)
		if cfgFn != nil {
			cfgFn(c)
		}
	}, nil)
}

func TestAccountExpiryRefusesLogin(t *testing.T) {
	key := newClientKey(t)
	for _, tt := range []struct{ name, line string }{
		{"expired yesterday", ":19000:0:99999:7::" + shadowDay(-1) + ":"},
		{"expires today", ":19000:0:99999:7::" + shadowDay(0) + ":"},
		{"password aged past the inactive days", ":" + shadowDay(-50) + ":0:30:7:7::"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := agingServer(t, tt.line, key, nil)
			for method, auth := range map[string]gossh.AuthMethod{"key": gossh.PublicKeys(key), "password": gossh.Password("alice pw")} {
				if c, err := ts.dial("alice", auth); err == nil {
					c.Close()
					t.Errorf("login as alice (%s) with shadow %q allowed, want refused: the account expired", method, tt.line)
				}
			}
			if !strings.Contains(ts.logs.String(), "account expired") {
				t.Errorf("log lacks \"account expired\":\n%s", ts.logs.String())
			}
			c, err := ts.dial("bob", gossh.PublicKeys(key))
			if err != nil {
				t.Fatalf("login as bob (no ageing) = %v, want allowed", err)
			}
			c.Close()
		})
	}
	ts := agingServer(t, ":19000:0:99999:7::"+shadowDay(30)+":", key, nil)
	ts.mustDial(t, "alice", key)
}

func TestExpiredPasswordMustBeChanged(t *testing.T) {
	// A stand-in for passwd(1): the session must run it instead of the
	// shell, and nothing else.
	fake := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho passwd-ran-as-$(id -u)\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := passwdPaths
	passwdPaths = []string{fake}
	t.Cleanup(func() { passwdPaths = old })

	key := newClientKey(t)
	for _, tt := range []struct{ name, line string }{
		{"expire-password (day 0)", ":0:0:99999:7:::"},
		{"aged", ":" + shadowDay(-31) + ":0:30:7:::"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			ts := agingServer(t, tt.line, key, func(c *Config) {
				c.AllowTCPForwarding = true
				c.SFTPCommand = selfCommand(SFTPServerArg)
				c.LookupUser = func(name string) (*User, error) { return testUser(name, home), nil }
			})
			for method, auth := range map[string]gossh.AuthMethod{"key": gossh.PublicKeys(key), "password": gossh.Password("alice pw")} {
				c, err := ts.dial("alice", auth)
				if err != nil {
					t.Fatalf("login (%s) with an expired password = %v, want allowed (to change it)", method, err)
				}
				defer c.Close()
				// No terminal: refused, and the command does not run.
				_, stderr, status := run(t, c, "touch ran", "")
				if status != 1 || !strings.Contains(stderr, "Password change required but no TTY available") {
					t.Errorf("exec with an expired password: status %d, stderr %q; want 1 and the no-TTY message", status, stderr)
				}
				if _, err := os.Stat(filepath.Join(home, "ran")); err == nil {
					t.Fatalf("the command ran although the password must be changed")
				}
				// A terminal: passwd runs instead of the shell.
				sess, err := c.NewSession()
				if err != nil {
					t.Fatal(err)
				}
				if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
					t.Fatal(err)
				}
				var out, errOut bytes.Buffer
				sess.Stdout, sess.Stderr = &out, &errOut
				err = sess.Run("touch ran")
				var ee *gossh.ExitError
				if !errors.As(err, &ee) || ee.ExitStatus() != 3 || !strings.Contains(out.String(), "passwd-ran-as-") ||
					!strings.Contains(errOut.String(), "You must change your password now") {
					t.Errorf("PTY session with an expired password: %v, output %q, stderr %q; want passwd's exit status 3, its output and the warning", err, out.String(), errOut.String())
				}
				if _, err := os.Stat(filepath.Join(home, "ran")); err == nil {
					t.Fatalf("the command ran although the password must be changed")
				}
				// No SFTP, no forwarding.
				if sc, err := sftp.NewClient(c); err == nil {
					sc.Close()
					t.Errorf("SFTP allowed although the password must be changed")
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				if conn, err := c.Dial("tcp", ln.Addr().String()); err == nil {
					conn.Close()
					t.Errorf("port forwarding allowed although the password must be changed")
				}
			}
		})
	}
}

func TestNologinShellRefusesSFTP(t *testing.T) {
	key := newClientKey(t)
	for _, shell := range []string{"/usr/sbin/nologin", "/bin/false"} {
		t.Run(shell, func(t *testing.T) {
			u := testUser("daemon1", t.TempDir())
			u.Shell = shell
			ts := startServerConfig(t, map[string]*User{"daemon1": u},
				map[string][]gossh.PublicKey{"daemon1": {key.PublicKey()}},
				func(c *Config) { c.SFTPCommand = selfCommand(SFTPServerArg) }, nil)
			c := ts.mustDial(t, "daemon1", key)
			if sc, err := sftp.NewClient(c); err == nil {
				sc.Close()
				t.Errorf("SFTP as an account with shell %s allowed, want refused", shell)
			}
			_, stderr, status := run(t, c, "id", "")
			if status != 1 || stderr != nologinMessage {
				t.Errorf("exec as an account with shell %s: status %d, stderr %q; want 1, %q", shell, status, stderr, nologinMessage)
			}
			if !strings.Contains(ts.logs.String(), "the account's shell refuses logins") {
				t.Errorf("refusal not logged:\n%s", ts.logs.String())
			}
		})
	}
}

// Every password attempt costs one hash verification, whatever makes it
// fail: an unknown user, a locked or empty password, no shadow entry, root
// with prohibit-password, an expired account. Counted, not timed.
func TestPasswordAttemptsAllVerifyAHash(t *testing.T) {
	var n atomic.Int64
	old := checkHash
	checkHash = func(stored string, clear []byte) (bool, error) {
		n.Add(1)
		return old(stored, clear)
	}
	t.Cleanup(func() { checkHash = old })

	shadow := writeShadow(t,
		"root:"+sha512Hash(t, "root pw")+":19000:0:99999:7:::",
		"alice:"+sha512Hash(t, "alice pw")+":19000:0:99999:7:::",
		"locked:!"+sha512Hash(t, "pw")+":19000:0:99999:7:::",
		"empty::19000:0:99999:7:::",
		"gone:"+sha512Hash(t, "gone pw")+":19000:0:99999:7::1:")
	check, err := ShadowPasswords(shadow)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*User{"root": {Name: "root", UID: 0, Home: "/", Shell: "/bin/sh"}}
	for _, name := range []string{"alice", "locked", "empty", "no-entry", "gone"} {
		users[name] = &User{Name: name, UID: 1000, GID: 1000, Home: "/", Shell: "/bin/sh"}
	}
	ts := startServerConfig(t, users, nil, func(c *Config) {
		c.CheckPassword = check
		c.Accounts = ShadowAccounts(shadow)
		c.Limits.MaxFailedLogins = 1000
	}, func(s *Server) { s.euid = 0 }) // authentication only: no session is opened
	for _, tt := range []struct{ user, pw string }{
		{"alice", "wrong"}, // the reference: a real account, a wrong password
		{"mallory", "x"},   // unknown
		{"locked", "pw"},
		{"empty", "x"},
		{"no-entry", "x"},
		{"root", "root pw"}, // prohibit-password
		{"gone", "gone pw"}, // expired account
	} {
		before := n.Load()
		if c, err := ts.dial(tt.user, gossh.Password(tt.pw)); err == nil {
			c.Close()
			t.Errorf("password login as %s allowed, want refused", tt.user)
		}
		// x/crypto's client tries "none" first, then the password once.
		if got := n.Load() - before; got != 1 {
			t.Errorf("password attempt as %s verified %d hashes, want 1 (as for a real account)", tt.user, got)
		}
	}
}

func TestShadowMethod(t *testing.T) {
	sha, yes := "x:$6$salt$h:1::::::\n", "y:$y$j9T$salt$h:1::::::\n"
	for _, tt := range []struct{ shadow, want string }{
		{"", "fallback"},
		{"root:*:1::::::\nlocked:!$6$x$y:1::::::\n", "fallback"},
		{sha, "SHA512"},
		{yes + yes + sha, "YESCRYPT"},
		{yes + sha + sha, "SHA512"},
	} {
		if got := shadowMethod([]byte(tt.shadow), "fallback"); got != tt.want {
			t.Errorf("shadowMethod(%q) = %q, want %q", tt.shadow, got, tt.want)
		}
	}
}

func TestShadowRoot(t *testing.T) {
	for in, want := range map[string]string{"/etc/shadow": "/", "/mnt/img/etc/shadow": "/mnt/img", "/tmp/x/shadow": "/", "etc/shadow": "/"} {
		if got := shadowRoot(in); got != want {
			t.Errorf("shadowRoot(%q) = %q, want %q", in, got, want)
		}
	}
}

// countingHandler counts log records whose message contains a substring.
type countingHandler struct {
	sub string
	n   atomic.Int64
	all atomic.Int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.all.Add(1)
	if strings.Contains(r.Message, h.sub) {
		h.n.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func TestJunkConnectionLogsRateLimited(t *testing.T) {
	h := &countingHandler{sub: "ssh connection refused"}
	ts := startServerConfig(t, nil, nil, func(c *Config) { c.Log = slog.New(h) }, func(s *Server) {
		frozen := time.Now()
		s.noisy.now = func() time.Time { return frozen } // no refill: the count is exact
	})
	const conns = 1000
	for range conns {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		// A version line, then a packet too large to be one: the
		// handshake fails and the server hangs up after its callback.
		conn.Write([]byte("SSH-2.0-junk\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	if got := h.n.Load(); got == 0 || got > logBurstPerSource {
		t.Errorf("%d junk connections from one address logged %d \"ssh connection refused\" lines, want 1 to %d", conns, got, logBurstPerSource)
	}
	if got := h.all.Load(); got > 50 {
		t.Errorf("%d junk connections logged %d lines in all, want a bounded number (<= 50)", conns, got)
	}
	ts.srv.noisy.report()
	if got := h.n.Load(); got > logBurstPerSource {
		t.Errorf("the suppression summary repeated the message: %d lines", got)
	}
}

func TestLogLimiterGlobalAndSummary(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	now := time.Unix(1e9, 0)
	l := &logLimiter{now: func() time.Time { return now }}
	for i := range 500 {
		l.warn(log, fmt.Sprintf("10.0.%d.%d", i/250, i%250), "ssh connection refused")
	}
	if got := strings.Count(buf.String(), "ssh connection refused"); got != logBurstGlobal {
		t.Errorf("500 sources logged %d lines, want the global burst %d", got, logBurstGlobal)
	}
	l.report()
	if !strings.Contains(buf.String(), "suppressed=480") {
		t.Errorf("summary lacks suppressed=480:\n%s", buf.String())
	}
	now = now.Add(10 * logRefillGlobal)
	l.warn(log, "10.9.9.9", "ssh connection refused")
	if got := strings.Count(buf.String(), "ssh connection refused"); got != logBurstGlobal+1 {
		t.Errorf("after a refill: %d lines, want %d", got, logBurstGlobal+1)
	}
}

// TestPermitRootForcedCommandFromKey: forced-commands-only lets root in
// with a key whose authorized_keys line has command=, and not with a key
// without one (the wiring of permitRoot to the key's options).
func TestPermitRootForcedCommandFromKey(t *testing.T) {
	s := &Server{cfg: Config{PermitRootLogin: RootLoginForcedCommandsOnly}, euid: 0}
	root := &User{Name: "root", UID: 0}
	forced, err := parseKeyOptions(`command="/usr/bin/backup",no-pty`)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.permitted(root, "publickey", forced); err != nil {
		t.Errorf("permitted(root, key with command=) = %v, want nil", err)
	}
	plain, err := parseKeyOptions(`no-pty`)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []*keyOptions{plain, nil} {
		if _, _, _, err := s.permitted(root, "publickey", opts); !errors.Is(err, errRootLogin) {
			t.Errorf("permitted(root, key without command=, %+v) = %v, want errRootLogin", opts, err)
		}
	}
}
