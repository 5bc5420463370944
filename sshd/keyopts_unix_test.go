//go:build unix

package sshd

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/ovfinit/ovfinit/users"
)

// keyStoreServer serves alice, whose keys are the given authorized_keys
// lines in ovfinit's key store (users.StoreKeys), wired as the agent wires
// it; cfgFn may change the Config further.
func keyStoreServer(t *testing.T, lines []string, cfgFn func(*Config)) *testServer {
	t.Helper()
	root, state := t.TempDir(), "/var/lib/ovfinit"
	if err := users.StoreKeys(root, state, "alice", lines); err != nil {
		t.Fatalf("StoreKeys: %v", err)
	}
	return startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())}, nil,
		func(c *Config) {
			c.StoredKeys = func(user string) ([]AuthorizedKey, error) {
				stored, err := users.StoredKeys(root, state, user)
				keys, _ := ParseAuthorizedKeys([]byte(strings.Join(stored, "\n")), "key store of "+user)
				return keys, err
			}
			if cfgFn != nil {
				cfgFn(c)
			}
		}, nil)
}

// TestKeyStoreOptionsEnforced is issue 13's reproduction: a key stored with
// command=, from= and no-pty logged in with a full shell from anywhere.
func TestKeyStoreOptionsEnforced(t *testing.T) {
	key := newClientKey(t)
	line := `command="/bin/echo forced",from="127.0.0.1",no-pty ` + authorizedLine(key.PublicKey())
	ts := keyStoreServer(t, []string{line}, func(c *Config) { c.SFTPCommand = selfCommand(SFTPServerArg) })
	c := ts.mustDial(t, "alice", key)

	t.Run("exec runs the forced command", func(t *testing.T) {
		if out, _, status := run(t, c, "id", ""); out != "forced\n" || status != 0 {
			t.Errorf("Run(id) = %q, status %d; want the forced command's \"forced\\n\", 0", out, status)
		}
	})
	t.Run("shell runs the forced command", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out := &syncBuffer{}
		sess.Stdout = out
		sess.Stdin = strings.NewReader("echo shell\n") // a real shell would run this and end
		if err := sess.Shell(); err != nil {
			t.Fatalf("Shell: %v", err)
		}
		sess.Wait()
		if out.String() != "forced\n" {
			t.Errorf("shell output = %q, want the forced command's", out.String())
		}
	})
	t.Run("pty refused", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err == nil {
			t.Errorf("RequestPty with a no-pty key succeeded, want refused")
		}
	})
	t.Run("sftp subsystem runs the forced command", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		stdin, err := sess.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := sess.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.RequestSubsystem("sftp"); err != nil {
			t.Fatalf("RequestSubsystem(sftp): %v", err)
		}
		stdin.Close() // EOF: a real SFTP server would end here
		if out, _ := io.ReadAll(stdout); string(out) != "forced\n" {
			t.Errorf("sftp subsystem output = %q, want the forced command's", out)
		}
	})
	if logs := ts.logs.String(); !strings.Contains(logs, "forced command") {
		t.Errorf("logs do not record the forced command:\n%s", logs)
	}
}

func TestKeyOptionsOriginalCommand(t *testing.T) {
	key := newClientKey(t)
	line := `command="echo orig=$SSH_ORIGINAL_COMMAND" ` + authorizedLine(key.PublicKey())
	ts := keyStoreServer(t, []string{line}, nil)
	c := ts.mustDial(t, "alice", key)
	if out, _, _ := run(t, c, "ls -l /", ""); out != "orig=ls -l /\n" {
		t.Errorf("Run(ls -l /) = %q, want SSH_ORIGINAL_COMMAND to hold the command asked for", out)
	}
}

// TestKeyOptionsFrom: from= refuses logins from other addresses, and the
// refusal is logged with the key's fingerprint and the reason.
func TestKeyOptionsFrom(t *testing.T) {
	key := newClientKey(t)
	for _, tc := range []struct {
		from   string
		wantOK bool
	}{
		{"10.9.9.9", false},
		{"127.0.0.1", true},
		{"10.0.0.0/8,127.0.0.0/8", true},
		{"127.0.0.*,!127.0.0.1", false},
		{"127.0.0.1/8", false}, // invalid: host bits set
	} {
		t.Run(tc.from, func(t *testing.T) {
			ts := keyStoreServer(t, []string{`from="` + tc.from + `" ` + authorizedLine(key.PublicKey())}, nil)
			c, err := ts.dial("alice", gossh.PublicKeys(key))
			if c != nil {
				c.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Fatalf("Dial from 127.0.0.1 with from=%q: %v, want ok=%v", tc.from, err, tc.wantOK)
			}
			if !tc.wantOK {
				logs := ts.logs.String()
				for _, want := range []string{Fingerprint(key.PublicKey()), "from=", "key store of alice:1"} {
					if !strings.Contains(logs, want) {
						t.Errorf("logs lack %q:\n%s", want, logs)
					}
				}
			}
		})
	}
}

func TestKeyOptionsExpiry(t *testing.T) {
	key := newClientKey(t)
	for _, tc := range []struct {
		expiry string
		wantOK bool
	}{{"20200101Z", false}, {"29991231", true}} {
		t.Run(tc.expiry, func(t *testing.T) {
			ts := keyStoreServer(t, []string{`expiry-time="` + tc.expiry + `" ` + authorizedLine(key.PublicKey())}, nil)
			c, err := ts.dial("alice", gossh.PublicKeys(key))
			if c != nil {
				c.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Fatalf("Dial with expiry-time=%q: %v, want ok=%v", tc.expiry, err, tc.wantOK)
			}
			if logs := ts.logs.String(); !tc.wantOK && !strings.Contains(logs, "expired") {
				t.Errorf("logs do not say the key expired:\n%s", logs)
			}
		})
	}
}

// TestKeyOptionsRestrict: restrict takes away port forwarding, agent
// forwarding and the pty, even where the server allows them; pty and
// port-forwarding give single ones back; permitopen= limits destinations.
func TestKeyOptionsRestrict(t *testing.T) {
	ln := serveTCP(t, func(conn net.Conn) {
		io.WriteString(conn, "hello")
		conn.Close()
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	for _, tc := range []struct {
		opts             string
		wantPty, wantFwd bool
		wantAgent        bool
	}{
		{"restrict", false, false, false},
		{"restrict,pty", true, false, false},
		{"restrict,port-forwarding", false, true, false},
		{"restrict,agent-forwarding", false, false, true},
		{"no-port-forwarding", true, false, true},
		{"no-agent-forwarding", true, true, false},
		{`permitopen="127.0.0.1:` + port + `"`, true, true, true},
		{`permitopen="127.0.0.1:1"`, true, false, true},
		{"", true, true, true},
	} {
		t.Run(tc.opts, func(t *testing.T) {
			key := newClientKey(t)
			line := strings.TrimSpace(tc.opts + " " + authorizedLine(key.PublicKey()))
			ts := keyStoreServer(t, []string{line}, func(c *Config) {
				c.AllowTCPForwarding, c.AllowAgentForwarding = true, true
			})
			c := ts.mustDial(t, "alice", key)

			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			err = sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{})
			if (err == nil) != tc.wantPty {
				t.Errorf("RequestPty = %v, want ok=%v", err, tc.wantPty)
			}
			err = agent.RequestAgentForwarding(sess)
			if (err == nil) != tc.wantAgent {
				t.Errorf("RequestAgentForwarding = %v, want ok=%v", err, tc.wantAgent)
			}

			conn, err := c.Dial("tcp", ln.Addr().String())
			if (err == nil) != tc.wantFwd {
				t.Errorf("Dial(direct-tcpip %s) = %v, want ok=%v", ln.Addr(), err, tc.wantFwd)
			}
			if err == nil {
				got, _ := io.ReadAll(conn)
				conn.Close()
				if string(got) != "hello" {
					t.Errorf("through the tunnel = %q, want \"hello\"", got)
				}
			}
		})
	}
}

// TestKeyOptionsUnusable: a key with an option the server does not
// implement does not log in, and the log names its fingerprint and the
// option; the same key on a further clean line still works, as in OpenSSH.
func TestKeyOptionsUnusable(t *testing.T) {
	for _, opts := range []string{"frobnicate", "no-pty,frobnicate", `principals="alice"`, `command="a",command="b"`, `cert-authority,frobnicate`} {
		t.Run(opts, func(t *testing.T) {
			key := newClientKey(t)
			ts := keyStoreServer(t, []string{opts + " " + authorizedLine(key.PublicKey())}, nil)
			c, err := ts.dial("alice", gossh.PublicKeys(key))
			if c != nil {
				c.Close()
			}
			if err == nil {
				t.Fatalf("Dial with options %q succeeded, want the key unusable", opts)
			}
			name := optionName(opts[strings.LastIndex(opts, ",")+1:])
			logs := ts.logs.String()
			for _, want := range []string{"level=WARN", "ssh public key refused", Fingerprint(key.PublicKey()), "key unusable", name} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
		})
	}
	t.Run("another line of the same key", func(t *testing.T) {
		key := newClientKey(t)
		keys, _ := ParseAuthorizedKeys([]byte("frobnicate "+authorizedLine(key.PublicKey())+"\n"+
			"no-pty "+authorizedLine(key.PublicKey())), "authorized_keys")
		ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())}, nil,
			func(c *Config) { c.AuthorizedKeys = func(*User) ([]AuthorizedKey, error) { return keys, nil } }, nil)
		c := ts.mustDial(t, "alice", key)
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err == nil {
			t.Errorf("RequestPty succeeded; want the options of the line that matched (no-pty)")
		}
	})
}

// TestAuthorizedKeysFileOptions: options in ~/.ssh/authorized_keys are
// enforced (they were skipped: the key did not work at all).
func TestAuthorizedKeysFileOptions(t *testing.T) {
	key := newClientKey(t)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	line := `restrict,command="echo from-file" ` + authorizedLine(key.PublicKey()) + "\n"
	if err := os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", home)}, nil,
		func(c *Config) { c.AuthorizedKeys = nil }, nil) // the default: the user's file
	c := ts.mustDial(t, "alice", key)
	if out, _, _ := run(t, c, "id", ""); out != "from-file\n" {
		t.Errorf("Run(id) = %q, want the forced command's \"from-file\\n\"", out)
	}
}

// TestKeyOptionsEnvironment: environment= counts only with
// PermitUserEnvironment; without, the key still logs in (as in OpenSSH).
func TestKeyOptionsEnvironment(t *testing.T) {
	key := newClientKey(t)
	line := `environment="KEYVAR=from-key" ` + authorizedLine(key.PublicKey())
	for _, permit := range []bool{false, true} {
		ts := keyStoreServer(t, []string{line}, func(c *Config) { c.PermitUserEnvironment = permit })
		c := ts.mustDial(t, "alice", key)
		want := "[]\n"
		if permit {
			want = "[from-key]\n"
		}
		if out, _, _ := run(t, c, "echo [$KEYVAR]", ""); out != want {
			t.Errorf("PermitUserEnvironment=%v: KEYVAR = %q, want %q", permit, out, want)
		}
	}
}

// TestCertificateExtensions: a certificate grants a pty, port forwarding
// and agent forwarding only when its extensions say so, as in OpenSSH.
func TestCertificateExtensions(t *testing.T) {
	ca, key := newClientKey(t), newClientKey(t)
	ln := serveTCP(t, func(conn net.Conn) {
		conn.Close()
	})
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())}, nil,
		func(c *Config) {
			c.UserCAKeys = []gossh.PublicKey{ca.PublicKey()}
			c.AllowTCPForwarding, c.AllowAgentForwarding = true, true
		}, nil)
	for _, tc := range []struct {
		name string
		ext  map[string]string
		want bool
	}{
		{"none", map[string]string{}, false},
		{"all", map[string]string{"permit-pty": "", "permit-port-forwarding": "", "permit-agent-forwarding": ""}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := signCert(t, ca, key, func(c *gossh.Certificate) { c.Extensions = tc.ext })
			c, err := ts.dial("alice", gossh.PublicKeys(cert))
			if err != nil {
				t.Fatalf("Dial with certificate: %v", err)
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); (err == nil) != tc.want {
				t.Errorf("RequestPty = %v, want ok=%v", err, tc.want)
			}
			if err := agent.RequestAgentForwarding(sess); (err == nil) != tc.want {
				t.Errorf("RequestAgentForwarding = %v, want ok=%v", err, tc.want)
			}
			conn, err := c.Dial("tcp", ln.Addr().String())
			if conn != nil {
				conn.Close()
			}
			if (err == nil) != tc.want {
				t.Errorf("Dial(direct-tcpip) = %v, want ok=%v", err, tc.want)
			}
		})
	}
}

// TestCertAuthorityLine: a cert-authority line lets certificates signed by
// that CA log in, checked as OpenSSH does (principals=, from=, the line's
// options narrowing the certificate's), and is no login key itself.
func TestCertAuthorityLine(t *testing.T) {
	ca, key, otherCA := newClientKey(t), newClientKey(t), newClientKey(t)
	caLine := func(opts string) string { return opts + " " + authorizedLine(ca.PublicKey()) }
	allExt := map[string]string{"permit-pty": ""}
	for _, tc := range []struct {
		name       string
		line       string
		signer     gossh.Signer
		wantOK     bool
		wantPty    bool
		wantLogged string
	}{
		{"cert for alice", caLine("cert-authority"), signCert(t, ca, key, nil), true, true, ""},
		{"CA key itself", caLine("cert-authority"), ca, false, false, ""},
		{"other CA", caLine("cert-authority"), signCert(t, otherCA, key, nil), false, false, "no user CA configured"},
		{"cert for bob", caLine("cert-authority"), signCert(t, ca, key, func(c *gossh.Certificate) { c.ValidPrincipals = []string{"bob"} }), false, false, "not in the set of valid principals"},
		{"principals= lists the cert's", caLine(`cert-authority,principals="ops,deploy"`),
			signCert(t, ca, key, func(c *gossh.Certificate) { c.ValidPrincipals = []string{"deploy"} }), true, true, ""},
		{"principals= lists another", caLine(`cert-authority,principals="ops"`), signCert(t, ca, key, nil), false, false, "principals="},
		{"from= elsewhere", caLine(`cert-authority,from="10.9.9.9"`), signCert(t, ca, key, nil), false, false, "from="},
		{"no-pty on the line", caLine(`cert-authority,no-pty`), signCert(t, ca, key, func(c *gossh.Certificate) { c.Extensions = allExt }), true, false, ""},
		{"no permit-pty in the cert", caLine(`cert-authority`), signCert(t, ca, key, func(c *gossh.Certificate) { c.Extensions = nil }), true, false, ""},
		{"plain line of the CA key", authorizedLine(ca.PublicKey()), signCert(t, ca, key, nil), false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := keyStoreServer(t, []string{tc.line}, nil)
			c, err := ts.dial("alice", gossh.PublicKeys(tc.signer))
			if (err == nil) != tc.wantOK {
				if c != nil {
					c.Close()
				}
				t.Fatalf("Dial(alice, %s) = %v, want ok=%v", tc.name, err, tc.wantOK)
			}
			if logs := ts.logs.String(); tc.wantLogged != "" && !strings.Contains(logs, tc.wantLogged) {
				t.Errorf("logs lack %q:\n%s", tc.wantLogged, logs)
			}
			if c == nil {
				return
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); (err == nil) != tc.wantPty {
				t.Errorf("RequestPty = %v, want ok=%v", err, tc.wantPty)
			}
		})
	}
}
