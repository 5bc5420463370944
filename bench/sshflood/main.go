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
//	sshflood -mode signals -addr 127.0.0.1:PORT -key FILE [-n 300]
//
// runs n sessions one after another, each `true` with "signal" requests sent
// until the session ends (at most 0.5 s), and reports how many of them could
// open: a server that leaks a session slot per flood refuses sessions once
// its max-sessions are gone. Whether the old server (before issue 13) leaked
// depends on timing: 260 of 300 sessions in one run, none in another; the
// sshd tests TestSignalsAfterExitFreeSession and TestSignalFloodNologin are
// the deterministic proof.
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
	case "signals":
		err = floodSignals(*addr, *keyFile, *user, def(*n, 300))
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

func dial(addr, keyFile, user string) (*gossh.Client, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		return nil, err
	}
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
}

func floodSignals(addr, keyFile, user string, n int) error {
	opened, failed := 0, 0
	var lastErr error
	for i := range n {
		c, err := dial(addr, keyFile, user)
		if err != nil {
			if failed++; failed == 1 {
				fmt.Printf("login %d failed (%d sessions opened before): %v\n", i+1, opened, err)
			}
			lastErr = err
			continue
		}
		sess, err := c.NewSession()
		if err != nil {
			lastErr = err
			c.Close()
			continue
		}
		opened++
		sess.Start("true")
		// Signals until the session ends (its channel closes), for at most
		// half a second: a server whose request loop blocks never ends it.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for sess.Signal(gossh.Signal("USR2")) == nil {
			}
		}()
		select {
		case <-done:
		case <-time.After(500 * time.Millisecond):
		}
		c.Close()
		<-done
		time.Sleep(5 * time.Millisecond) // the server notices the close
	}
	fmt.Printf("%d logins, each a session flooded with signals: %d sessions opened, %d logins failed, %d sessions refused", n, opened, failed, n-opened-failed)
	if lastErr != nil {
		fmt.Printf(" (last refusal: %v)", lastErr)
	}
	fmt.Println()
	// Then one well-behaved session, as root would open to repair things.
	c, err := dial(addr, keyFile, user)
	if err != nil {
		fmt.Printf("a login after the flood: failed: %v\n", err)
		return nil
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		fmt.Printf("a session after the flood: refused: %v\n", err)
		return nil
	}
	out, err := sess.Output("echo ok")
	fmt.Printf("a session after the flood: %q, %v\n", out, err)
	return nil
}

func floodEnv(addr, keyFile, user string, pid, n, size int, reply bool) error {
	c, err := dial(addr, keyFile, user)
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
