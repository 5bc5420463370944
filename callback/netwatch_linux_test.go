//go:build linux

package callback

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestSenderSendsWhenNetworkAppears: an event that could not be sent
// because the network was not up yet ("network is unreachable") goes out
// when an address and a route appear, not after its backoff (an hour
// here). It runs in a child process of its own in a new network namespace
// (unshare -n), whose loopback is down until the test brings it up: every
// thread of the sender must be in that namespace. Before the netlink
// watch, the event waited for the end of its backoff sleep (4-7 s after
// the lease on a Debian 13 boot, issue 20).
func TestSenderSendsWhenNetworkAppears(t *testing.T) {
	if os.Getenv("OVFINIT_NETWATCH_CHILD") == "1" {
		netwatchChild(t)
		return
	}
	if os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user (OVFINIT_QEMU_USER): netlink subscriptions need the real kernel; runs in the amd64 test run")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace (unshare -n)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1)")
	}
	cmd := exec.CommandContext(t.Context(), unshare, "-n", os.Args[0], "-test.run=^TestSenderSendsWhenNetworkAppears$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "OVFINIT_NETWATCH_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child in its own network namespace:\n%s", out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS")) {
		t.Fatalf("child: %v", err)
	}
}

// freebindListen listens on 127.0.0.1 before the loopback has that address.
func freebindListen() (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
}

// failWatch is a slog handler that signals the first "delivery failed".
type failWatch struct {
	slog.Handler
	once   *sync.Once
	failed chan struct{}
}

func (h failWatch) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "delivery failed") {
		h.once.Do(func() { close(h.failed) })
	}
	return h.Handler.Handle(ctx, r)
}

func (h failWatch) WithAttrs(a []slog.Attr) slog.Handler {
	return failWatch{Handler: h.Handler.WithAttrs(a), once: h.once, failed: h.failed}
}

func netwatchChild(t *testing.T) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if lo.Attrs().Flags&net.FlagUp != 0 {
		t.Fatal("lo is up: not a new network namespace")
	}
	ln, err := freebindListen()
	if err != nil {
		t.Fatalf("listening on 127.0.0.1 with IP_FREEBIND: %v", err)
	}
	got := make(chan string, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Webhook-Id") + r.Header.Get("Ce-Id")
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fw := failWatch{Handler: slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}), once: &sync.Once{}, failed: make(chan struct{})}
	s := NewSender(slog.New(fw), "b00t")
	defer s.Close()
	if err := WatchNetwork(ctx, s.NetworkChanged); err != nil {
		t.Fatalf("WatchNetwork = %v", err)
	}
	s.Emit(TypeReady, Data{Message: "ready"})
	if err := s.Start(Config{URL: "http://" + ln.Addr().String() + "/events", InstanceID: "i-1",
		InitialInterval: time.Hour, MaxInterval: time.Hour, MaxElapsed: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fw.failed:
	case <-time.After(60 * time.Second):
		t.Fatal("no failed attempt while lo was down")
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	// The backoff would wait an hour; the network's change ends the wait.
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := s.Wait(wctx); err != nil {
		t.Fatalf("Wait after lo came up = %v, want the event delivered at once (its backoff was 1 h)", err)
	}
	select {
	case <-got:
	default:
		t.Fatal("the server got nothing")
	}
}
