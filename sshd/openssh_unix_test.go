//go:build unix

package sshd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// clientKeyFile writes a new ed25519 key for the OpenSSH client and returns
// its path and signer; the public key is at path+".pub".
func clientKeyFile(t *testing.T, dir, name string) (string, gossh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := gossh.NewSignerFromKey(priv)
	os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(s.PublicKey()), 0o644)
	return path, s
}

// opensshClient runs OpenSSH's ssh, sftp and scp against a test server.
type opensshClient struct {
	t          *testing.T
	dir        string
	host, port string
}

func newOpenSSHClient(t *testing.T, ts *testServer) *opensshClient {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("OpenSSH client not installed")
	}
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(ts.addr)
	kh := "[" + host + "]:" + port + " " + string(gossh.MarshalAuthorizedKey(ts.hostKey))
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(kh), 0o600); err != nil {
		t.Fatal(err)
	}
	return &opensshClient{t: t, dir: dir, host: host, port: port}
}

func (o *opensshClient) opts(key string) []string {
	a := []string{"-F", "/dev/null",
		"-o", "UserKnownHostsFile=" + filepath.Join(o.dir, "known_hosts"),
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10"}
	if key != "" {
		a = append(a, "-i", key)
	}
	return a
}

// ssh runs ssh with extra options and a remote command.
func (o *opensshClient) ssh(key string, extra []string, command string) (string, string, error) {
	args := append(o.opts(key), "-p", o.port)
	args = append(args, extra...)
	args = append(args, "alice@"+o.host, command)
	cmd := exec.Command("ssh", args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func TestOpenSSHClient(t *testing.T) {
	home := t.TempDir()
	dir := t.TempDir()
	good, goodSigner := clientKeyFile(t, dir, "good")
	bad, _ := clientKeyFile(t, dir, "bad")
	caPath, caSigner := clientKeyFile(t, dir, "ca")
	certKey, _ := clientKeyFile(t, dir, "certkey")
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", home)},
		map[string][]gossh.PublicKey{"alice": {goodSigner.PublicKey()}},
		func(c *Config) {
			c.UserCAKeys = []gossh.PublicKey{caSigner.PublicKey()}
			c.SFTPCommand = selfCommand(SFTPServerArg)
		}, nil)
	o := newOpenSSHClient(t, ts)

	sign := func(name, validity, principal string) string {
		t.Helper()
		dst := filepath.Join(dir, name)
		for _, ext := range []string{"", ".pub"} {
			b, _ := os.ReadFile(certKey + ext)
			os.WriteFile(dst+ext, b, 0o600)
		}
		out, err := exec.Command("ssh-keygen", "-q", "-s", caPath, "-I", name, "-n", principal, "-V", validity, dst+".pub").CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -s: %v\n%s", err, out)
		}
		return dst
	}
	validCert := sign("valid", "-5m:+1h", "alice")
	expiredCert := sign("expired", "20200101:20200102", "alice")
	otherCert := sign("other", "-5m:+1h", "bob")

	tests := []struct {
		name    string
		key     string
		extra   []string
		command string
		want    string // stdout when ok
		wantOK  bool
	}{
		{"right key", good, nil, "echo ok; id -u", "ok\n" + strconv.Itoa(os.Geteuid()) + "\n", true},
		{"exit status", good, nil, "exit 3", "", false},
		{"wrong key", bad, nil, "echo ok", "", false},
		{"no key", "", []string{"-o", "PubkeyAuthentication=no"}, "echo ok", "", false},
		{"password when disabled", "", []string{"-o", "PreferredAuthentications=password,keyboard-interactive"}, "echo ok", "", false},
		{"certificate", validCert, nil, "echo cert", "cert\n", true},
		{"expired certificate", expiredCert, nil, "echo cert", "", false},
		{"certificate for another user", otherCert, nil, "echo cert", "", false},
		{"pty", good, []string{"-tt"}, "tty", "/dev/pts/", true},
		{"aes128-gcm", good, []string{"-c", "aes128-gcm@openssh.com"}, "echo gcm", "gcm\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := o.ssh(tt.key, tt.extra, tt.command)
			if (err == nil) != tt.wantOK {
				t.Fatalf("ssh %s %q: err = %v, want ok=%v\nstdout: %s\nstderr: %s", tt.name, tt.command, err, tt.wantOK, out, errOut)
			}
			if tt.wantOK && !strings.HasPrefix(out, tt.want) {
				t.Errorf("ssh %s %q stdout = %q, want prefix %q", tt.name, tt.command, out, tt.want)
			}
			if tt.name == "exit status" {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
					t.Errorf("ssh exit 3: %v, want exit status 3", err)
				}
			}
		})
	}

	// File copies: sftp, scp (SFTP protocol, the default since OpenSSH 9.0)
	// and scp -O (the legacy protocol, which runs "scp -t" on the server).
	local := filepath.Join(dir, "local.bin")
	data := make([]byte, 1<<20+3)
	rand.Read(data)
	os.WriteFile(local, data, 0o600)
	remote := "alice@" + o.host
	copies := []struct {
		name string
		prog string
		args []string
		dst  string // file that must then hold data
	}{
		{"sftp put", "sftp", []string{"-P", o.port, "-b", "-", remote}, filepath.Join(home, "sftp-put.bin")},
		{"scp upload", "scp", []string{"-P", o.port, local, remote + ":scp-up.bin"}, filepath.Join(home, "scp-up.bin")},
		{"scp download", "scp", []string{"-P", o.port, remote + ":scp-up.bin", filepath.Join(dir, "scp-down.bin")}, filepath.Join(dir, "scp-down.bin")},
		{"scp -O upload", "scp", []string{"-O", "-P", o.port, local, remote + ":scp-legacy.bin"}, filepath.Join(home, "scp-legacy.bin")},
		{"sftp get", "sftp", []string{"-P", o.port, "-b", "-", remote}, filepath.Join(dir, "sftp-get.bin")},
	}
	for _, c := range copies {
		t.Run(c.name, func(t *testing.T) {
			if c.prog == "scp" && c.name == "scp -O upload" {
				if _, err := exec.LookPath("scp"); err != nil {
					t.Skip("no scp on the server side")
				}
			}
			cmd := exec.Command(c.prog, append(o.opts(good), c.args...)...)
			switch c.name {
			case "sftp put":
				cmd.Stdin = strings.NewReader("put " + local + " sftp-put.bin\n")
			case "sftp get":
				cmd.Stdin = strings.NewReader("get sftp-put.bin " + c.dst + "\n")
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", c.name, err, out)
			}
			got, err := os.ReadFile(c.dst)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s: %s holds %d bytes (%v), want the %d bytes copied", c.name, c.dst, len(got), err, len(data))
			}
		})
	}
}

// TestOpenSSHDefaultCipher: with the default cipher list an OpenSSH client
// left to its own preferences chooses aes128-gcm (not chacha20 or CTR).
func TestOpenSSHDefaultCipher(t *testing.T) {
	dir := t.TempDir()
	key, signer := clientKeyFile(t, dir, "k")
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {signer.PublicKey()}}, nil)
	o := newOpenSSHClient(t, ts)
	_, errOut, err := o.ssh(key, []string{"-v"}, "true")
	if err != nil {
		t.Fatalf("ssh -v: %v\n%s", err, errOut)
	}
	for _, dir := range []string{"server->client", "client->server"} {
		if want := "kex: " + dir + " cipher: aes128-gcm@openssh.com"; !strings.Contains(errOut, want) {
			t.Errorf("ssh -v output lacks %q", want)
		}
	}
}
