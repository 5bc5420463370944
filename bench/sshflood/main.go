// Command sshflood measures what a client can make ovfinit's SSH server
// hold (issue 13, defects 5 and 6). It is run by bench/flood.sh against a
// running `ovfinit sshd`; it is not part of the binary.
//
//	sshflood -mode env -addr 127.0.0.1:PORT -key FILE -pid PID [-n 20000 -size 16384]
//
// logs in as root, opens one session, sends n "env" requests (LC_n, size
// bytes each; the last with a reply wanted, so all were handled) and prints
// the server's VmRSS before and after, and how many requests were accepted
// when -reply is set.
//
//	sshflood -mode idle -addr 127.0.0.1:PORT -pid PID [-n 5000 -sources 1]
//
// opens n TCP connections that send nothing, from -sources loopback
// addresses (127.0.0.1, 127.0.0.2, ...), waits -wait, and prints how many
// the server still holds open (sockets in /proc/PID/fd) and how many the
// client finds still open.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func main() {
	mode := flag.String("mode", "env", "env or idle")
	addr := flag.String("addr", "", "server address host:port")
	keyFile := flag.String("key", "", "private key file (env)")
	user := flag.String("user", "root", "login name (env)")
	pid := flag.Int("pid", 0, "server process id")
	n := flag.Int("n", 0, "env requests (20000) or connections (5000)")
	size := flag.Int("size", 16<<10, "bytes per env value")
	sources := flag.Int("sources", 1, "loopback source addresses for idle connections")
	wait := flag.Duration("wait", 3*time.Second, "idle: how long to wait before counting")
	reply := flag.Bool("reply", false, "env: want a reply to every request and count acceptances (slower)")
	flag.Parse()
	var err error
	switch *mode {
	case "env":
		err = floodEnv(*addr, *keyFile, *user, *pid, def(*n, 20000), *size, *reply)
	case "idle":
		err = idleConns(*addr, *pid, def(*n, 5000), *sources, *wait)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshflood:", err)
		os.Exit(1)
	}
}

func def(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func vmRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func floodEnv(addr, keyFile, user string, pid, n, size int, reply bool) error {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		return err
	}
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	fmt.Printf("server VmRSS before: %s\n", vmRSS(pid))
	value := strings.Repeat("v", size)
	accepted := 0
	start := time.Now()
	for i := range n {
		msg := gossh.Marshal(struct{ Name, Value string }{fmt.Sprintf("LC_%d", i), value})
		ok, err := sess.SendRequest("env", reply || i == n-1, msg)
		if err != nil {
			return fmt.Errorf("env request %d: %w", i, err)
		}
		if ok {
			accepted++
		}
	}
	fmt.Printf("%d env requests of %d bytes sent in %v", n, size, time.Since(start).Round(time.Millisecond))
	if reply {
		fmt.Printf(", %d accepted", accepted)
	}
	fmt.Printf("\nserver VmRSS after (session still open): %s\n", vmRSS(pid))
	return nil
}

// socketCount counts the sockets among the process's open files.
func socketCount(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if t, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(t, "socket:") {
			n++
		}
	}
	return n
}

func idleConns(addr string, pid, n, sources int, wait time.Duration) error {
	base := socketCount(pid)
	fmt.Printf("server sockets before: %d (listener included)\n", base)
	var conns []net.Conn
	refused := 0
	for i := range n {
		src := net.IPv4(127, 0, byte(i%sources/250), byte(1+i%sources%250))
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, conn)
	}
	time.Sleep(wait)
	open := 0
	buf := make([]byte, 256)
	for _, c := range conns {
		// Drain what the server sent (its version line); a closed
		// connection reads EOF or a reset, an open one times out.
		for {
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			_, err := c.Read(buf)
			if err == nil {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				open++
			}
			break
		}
	}
	fmt.Printf("%d idle connections from %d source address(es) (%d connects failed); after %v: server holds %d sockets, client sees %d still open\n",
		n, sources, refused, wait, socketCount(pid)-base, open)
	for _, c := range conns {
		c.Close()
	}
	return nil
}
