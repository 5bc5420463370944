//go:build unix

package sshd

import (
	"io"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// benchClient is an x/crypto client logged in to a test server with the
// given cipher.
func benchClient(b *testing.B, cipher string) *gossh.Client {
	b.Helper()
	key := newClientKey(b)
	ts := startServerConfig(b, map[string]*User{"alice": testUser("alice", b.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}},
		func(c *Config) { c.Ciphers = []string{cipher} }, nil)
	c, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.FixedHostKey(ts.hostKey),
		Config:          gossh.Config{Ciphers: []string{cipher}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkStream measures a session's throughput each way through cat, the
// path bench/ssh.sh compares with OpenSSH (client and server in one process
// here, so the figure is for both ends together).
func BenchmarkStream(b *testing.B) {
	const size = 16 << 20
	buf := make([]byte, 64<<10)
	for _, cipher := range []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"} {
		c := benchClient(b, cipher)
		b.Run("upload/"+cipher, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				s, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				in, _ := s.StdinPipe()
				if err := s.Start("cat >/dev/null"); err != nil {
					b.Fatal(err)
				}
				for n := 0; n < size; n += len(buf) {
					in.Write(buf)
				}
				in.Close()
				s.Wait()
				s.Close()
			}
		})
		b.Run("download/"+cipher, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				s, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				out, _ := s.StdoutPipe()
				if err := s.Start("head -c 16777216 /dev/zero"); err != nil {
					b.Fatal(err)
				}
				n, _ := io.CopyBuffer(io.Discard, out, buf)
				s.Wait()
				s.Close()
				if n != size {
					b.Fatalf("downloaded %d bytes, want %d", n, size)
				}
			}
		})
	}
}
