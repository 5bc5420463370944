package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// TestSSHD boots a VM and uses the embedded SSH server as an administrator
// would: an interactive shell on a PTY, a command as the created user, and
// file copies both ways with SFTP (pkg/sftp) and OpenSSH's scp and sftp. It
// also checks that the login reached the manager as a login event.
func TestSSHD(t *testing.T) {
	requireVM(t)
	// The user's key, also as a file for the OpenSSH client.
	dir := t.TempDir()
	priv, signer := newKeyFile(t, dir)
	h := newHarness(t, setup{dir: dir, signer: signer})

	b := h.boot(t, h.iso(t, "e2e-sshd"), "e2e-sshd")
	defer h.poweroff(t, b)
	client, hostKey := h.dial(t, b.m, h.signer)
	defer client.Close()
	checkHostKey(t, b.ready, hostKey)

	t.Run("command as the user", func(t *testing.T) {
		out, err := runSSH(client, "id -un; echo $HOME")
		if err != nil || out != guestUser+"\n/home/"+guestUser+"\n" {
			t.Errorf("ssh %q = %q, %v; want the user and its home", "id -un; echo $HOME", out, err)
		}
	})

	t.Run("pty shell", func(t *testing.T) {
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.RequestPty("xterm", 40, 100, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
			t.Fatalf("RequestPty: %v", err)
		}
		in, _ := s.StdinPipe()
		var out bytes.Buffer
		s.Stdout = &out
		if err := s.Shell(); err != nil {
			t.Fatalf("Shell: %v", err)
		}
		io.WriteString(in, "echo user=$(id -un) tty=$(tty) size=$(stty size); exit 7\n")
		err = s.Wait()
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != 7 {
			t.Errorf("shell exit = %v, want status 7", err)
		}
		got := out.String()
		for _, want := range []string{"user=" + guestUser, "tty=/dev/pts/", "size=40 100"} {
			if !strings.Contains(got, want) {
				t.Errorf("PTY shell output %q lacks %q", got, want)
			}
		}
	})

	data := make([]byte, 2<<20+11)
	rand.Read(data)
	t.Run("sftp both ways", func(t *testing.T) {
		sc, err := sftp.NewClient(client)
		if err != nil {
			t.Fatalf("sftp.NewClient: %v", err)
		}
		defer sc.Close()
		f, err := sc.Create("up.bin")
		if err != nil {
			t.Fatalf("sftp Create(up.bin): %v", err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatalf("sftp write: %v", err)
		}
		f.Close()
		if out, err := runSSH(client, "stat -c '%U %s' up.bin"); err != nil || strings.TrimSpace(out) != guestUser+" "+strconv.Itoa(len(data)) {
			t.Errorf("uploaded file in the guest: %q, %v; want owned by %s with %d bytes", out, err, guestUser, len(data))
		}
		g, err := sc.Open("up.bin")
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(g)
		g.Close()
		if err != nil || !bytes.Equal(back, data) {
			t.Errorf("sftp download: %d bytes, %v; want the %d uploaded", len(back), err, len(data))
		}
		// Rights are the user's: root's files stay out of reach.
		if _, err := sc.Create("/etc/ovfinit-e2e-sftp"); err == nil {
			t.Errorf("sftp as %s created a file in /etc, want permission denied", guestUser)
		}
	})

	t.Run("openssh scp and sftp", func(t *testing.T) {
		if _, err := exec.LookPath("scp"); err != nil {
			t.Skip("no OpenSSH client on the host")
		}
		host, port, _ := net.SplitHostPort(b.m.SSHAddr())
		kh := filepath.Join(h.dir, "known_hosts")
		os.WriteFile(kh, []byte("["+host+"]:"+port+" "+string(ssh.MarshalAuthorizedKey(hostKey))), 0o600)
		opts := []string{"-F", "/dev/null", "-i", priv, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlgorithms=" + hostKey.Type(), "-P", port}
		local := filepath.Join(h.dir, "local.bin")
		os.WriteFile(local, data, 0o600)
		remote := guestUser + "@" + host
		down := filepath.Join(h.dir, "down.bin")
		for _, c := range []struct {
			prog  string
			args  []string
			stdin string
		}{
			{"scp", []string{local, remote + ":scp.bin"}, ""},
			{"scp", []string{remote + ":scp.bin", down}, ""},
			{"sftp", []string{"-b", "-", remote}, "put " + local + " sftp.bin\nget sftp.bin " + down + ".2\n"},
		} {
			cmd := exec.Command(c.prog, append(opts, c.args...)...)
			cmd.Stdin = strings.NewReader(c.stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s %v: %v\n%s", c.prog, c.args, err, out)
			}
		}
		for _, p := range []string{down, down + ".2"} {
			if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s: %d bytes, %v; want the %d copied", p, len(got), err, len(data))
			}
		}
	})

	t.Run("login event", func(t *testing.T) {
		if !eventually(30*time.Second, func() bool {
			return slices.ContainsFunc(h.rec.Events(), func(e vm.Event) bool {
				return e.Type == "org.ovfinit.login" && strings.Contains(e.Data.Message, guestUser+" logged in from") &&
					strings.Contains(e.Data.Message, ssh.FingerprintSHA256(h.signer.PublicKey()))
			})
		}) {
			t.Fatalf("no org.ovfinit.login event naming %s and its key; events: %v", guestUser, h.rec.Events())
		}
	})
}

// newKeyFile writes a new ed25519 private key for the OpenSSH client.
func newKeyFile(t *testing.T, dir string) (string, ssh.Signer) {
	t.Helper()
	priv, s := newKey(t)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, s
}
