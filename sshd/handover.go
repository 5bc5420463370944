package sshd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The interim server and its handover.
//
// When the image's OpenSSH serves SSH (ovfinit.ssh.server=os), it starts
// late in the boot: after ovfinit is ready, after the network, and its
// first login then waits for PAM and systemd-logind. Until it starts,
// ovfinit's own server answers on OpenSSH's port with the same host keys
// (the instance's, already copied to /etc/ssh) and the same users and
// keys. When OpenSSH's service starts, a drop-in of the ovfinit package
// runs `ovfinit ssh-handover` before sshd binds: ovfinit closes its
// listener (open sessions go on to their end) and OpenSSH gets the port.
// Nothing fights over the port: the handover is asked for and answered
// before OpenSSH listens.

// HandoverDropIn is the systemd drop-in that asks ovfinit for the port
// before the image's OpenSSH binds it. The leading "-": OpenSSH starts
// whatever the answer (with no ovfinit running there is nothing to hand
// over).
func HandoverDropIn(bin string) string {
	return "# Installed by ovfinit: before OpenSSH binds its port, ovfinit's interim\n" +
		"# SSH server (which answers while the boot has not reached OpenSSH yet)\n" +
		"# closes its listener. See docs/ssh.md, \"The image's OpenSSH\".\n" +
		"[Service]\n" +
		"ExecStartPre=-" + bin + " ssh-handover\n"
}

// HandoverDropInName is the drop-in's file name in each unit's .d directory.
const HandoverDropInName = "ovfinit-handover.conf"

// HandoverUnits are OpenSSH's service names: Debian's ssh.service (whose
// alias is sshd.service) and everyone else's sshd.service.
var HandoverUnits = []string{"ssh.service", "sshd.service"}

// handoverUnitDirs are where systemd reads unit drop-ins from, image side.
var handoverUnitDirs = []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// HandoverInstalled says whether the tree at root runs systemd now (its
// /run/systemd/system exists) and has the handover drop-in for one of
// OpenSSH's units: only then can ovfinit's interim server hold OpenSSH's
// port, because only then is it asked to give it back.
func HandoverInstalled(root string) bool {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return false
	}
	defer fsys.Close()
	if fi, err := fsys.Stat("/run/systemd/system"); err != nil || !fi.IsDir() {
		return false
	}
	for _, d := range handoverUnitDirs {
		for _, u := range HandoverUnits {
			if fi, err := fsys.Stat(path.Join(d, u+".d", HandoverDropInName)); err == nil && fi.Mode().IsRegular() {
				return true
			}
		}
	}
	return false
}

// Handover is the socket on which the interim server is asked to step
// aside.
type Handover struct {
	l        net.Listener
	path     string
	release  func() error
	once     sync.Once
	released chan struct{}
	wg       sync.WaitGroup
}

// ListenHandover listens on the Unix socket at path (in a directory only
// root can enter: the runtime directory) and calls release once, on the
// first request; every request is answered once release has returned.
func ListenHandover(path string, release func() error) (*Handover, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("handover socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("handover socket: %w", err)
	}
	h := &Handover{l: l, path: path, release: release, released: make(chan struct{})}
	h.wg.Add(1)
	go h.serve()
	return h, nil
}

func (h *Handover) serve() {
	defer h.wg.Done()
	for {
		c, err := h.l.Accept()
		if err != nil {
			return
		}
		h.answer(c)
	}
}

// answer releases the port (once) and says so; one request at a time, so
// a flood of requests costs nothing more.
func (h *Handover) answer(c net.Conn) {
	defer c.Close()
	var err error
	h.once.Do(func() {
		err = h.release()
		close(h.released)
	})
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if err != nil {
		fmt.Fprintf(c, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Fprintln(c, "released")
}

// Released is closed once the port has been handed over.
func (h *Handover) Released() <-chan struct{} { return h.released }

// Close stops listening for requests and removes the socket.
func (h *Handover) Close() error {
	err := h.l.Close()
	h.wg.Wait()
	return err
}

// RequestHandover asks the interim server listening for requests at path
// to give its port back, and waits for the answer. handedOver is false
// when no interim server is running (no socket, or nobody listening).
func RequestHandover(ctx context.Context, path string) (handedOver bool, err error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false, fmt.Errorf("no answer from ovfinit's SSH server: %w", err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return false, errors.New(msg)
	}
	if line != "released" {
		return false, fmt.Errorf("unexpected answer %q from ovfinit's SSH server", line)
	}
	return true, nil
}
