// Command demo boots one VM with the freshly built agent and a sample OVF
// environment, shows it come up through `ovfinit watch` (the manager's
// view: signed events, a live progress bar on the terminal and the live
// web view of `watch --web`, whose URL it prints), prints the ssh command
// to log in, and powers the VM off on Ctrl-C.
//
//	go run ./e2e/demo [-serial] [-ovfinit bin/ovfinit]
//
// It needs what e2e/prepare.sh installs (make demo runs it first).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
	"github.com/ovfinit/ovfinit/manager/web"
)

func main() {
	serial := flag.Bool("serial", false, "also print the VM's serial console")
	timeout := flag.Duration("boot-timeout", 4*time.Minute, "how long to wait for the ready event")
	watchBin := flag.String("ovfinit", "", "the host's ovfinit binary that runs `ovfinit watch` (default: build ./cmd/ovfinit)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *serial, *timeout, *watchBin); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// goTool finds the go command: on PATH, else where the Makefile looks.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

func run(log *slog.Logger, serial bool, bootTimeout time.Duration, watchBin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if missing := vm.Missing(); len(missing) > 0 {
		return fmt.Errorf("missing %s: run `make demo` (it runs e2e/prepare.sh as root)", strings.Join(missing, ", "))
	}
	dir, err := os.MkdirTemp("", "ovfinit-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Println("building the agent and the initramfs ...")
	assets, err := vm.Prepare(ctx, dir)
	if err != nil {
		return err
	}
	keyFile, authorized, err := writeKey(dir)
	if err != nil {
		return err
	}
	// The manager's side is ovfinit watch itself, built for this host
	// (make demo passes bin/ovfinit).
	if watchBin == "" {
		watchBin = filepath.Join(dir, "ovfinit-host")
		build := exec.CommandContext(ctx, goTool(), "build", "-o", watchBin, "./cmd/ovfinit")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building ovfinit for the host: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // watch listens on it
	wln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	webAddr := wln.Addr().String()
	wln.Close() // watch --web listens on it

	secret := make([]byte, 16)
	rand.Read(secret)
	env := vm.GuestEnv{
		InstanceID:     "demo-" + time.Now().Format("20060102-150405"),
		Hostname:       "ovf-demo",
		User:           "ovfuser",
		PublicKey:      authorized,
		CallbackURL:    fmt.Sprintf("http://10.0.2.2:%d/events", port),
		CallbackSecret: hex.EncodeToString(secret),
		Script:         "file.write(\"/etc/motd\", \"Welcome to \" + ovf.property(\"instance-id\") + \"\\n\")\n",
	}
	x, err := env.XML()
	if err != nil {
		return err
	}
	iso, err := vm.BuildISO(dir, x)
	if err != nil {
		return err
	}
	disk := filepath.Join(dir, "state.img")
	if err := vm.NewDisk(disk); err != nil {
		return err
	}
	watch := exec.CommandContext(ctx, watchBin, "watch",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--instance", env.InstanceID,
		"--timeout", bootTimeout.String(),
		// The page stays up after ready, until Ctrl-C.
		"--web", webAddr, "--web-linger", "24h")
	watch.Env = append(os.Environ(), "OVFINIT_CALLBACK_SECRET="+env.CallbackSecret)
	watch.Stdout, watch.Stderr = os.Stdout, os.Stderr
	if err := watch.Start(); err != nil {
		return fmt.Errorf("starting ovfinit watch: %w", err)
	}
	watched := make(chan error, 1)
	go func() { watched <- watch.Wait() }()
	webURL := "http://" + webAddr + "/"
	fmt.Printf("web view: %s\n", webURL)
	openBrowser(webURL)
	// watch lingers after the outcome to keep the page up: the outcome
	// is read from the page's own /api/vms.
	outcome := make(chan string, 1)
	go func() { outcome <- pollOutcome(ctx, webURL+"api/vms", env.InstanceID) }()

	o := vm.Options{Assets: assets, ISO: iso, Disk: disk, SerialLog: filepath.Join(dir, "serial.log")}
	if serial {
		o.Console = os.Stdout
	}
	m, err := vm.Boot(ctx, o)
	if err != nil {
		return err
	}
	defer m.Kill()
	log.Info("qemu started", "cmdline", m.CommandLine())
	fmt.Printf("booting instance %s; ovfinit watch shows its progress:\n", env.InstanceID)

	mctx, mstop := m.Context(ctx)
	defer mstop()
	select {
	case state := <-outcome:
		switch {
		case state == "ready":
			fmt.Printf("ready %v after qemu start\n", time.Since(m.Started).Round(time.Millisecond))
		case ctx.Err() != nil: // Ctrl-C while booting
			fmt.Println()
			return poweroff(m, nil)
		default:
			fmt.Printf("the VM is %s (the web view says why); it keeps running for inspection; serial console tail:\n%s\n", state, m.Tail(40))
		}
	case err := <-watched:
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil: // Ctrl-C while booting
			fmt.Println()
			return poweroff(m, nil)
		case errors.As(err, &ee):
			fmt.Printf("ovfinit watch exited %d; the VM keeps running for inspection; serial console tail:\n%s\n", ee.ExitCode(), m.Tail(40))
		default:
			return poweroff(m, fmt.Errorf("ovfinit watch ended: %v", err))
		}
	case <-time.After(bootTimeout):
		fmt.Printf("not ready after %v; the VM keeps running for inspection; serial console tail:\n%s\n", bootTimeout, m.Tail(40))
	case <-mctx.Done():
		if ctx.Err() != nil {
			fmt.Println()
			return poweroff(m, nil)
		}
		fmt.Printf("%v; serial console tail:\n%s\n", context.Cause(mctx), m.Tail(40))
		return poweroff(m, context.Cause(mctx))
	}

	fmt.Printf("\nlog in with:\n  ssh -i %s -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null %s@127.0.0.1\n\nthe web view stays at %s\npress Ctrl-C to power the VM off\n", keyFile, m.SSHPort, env.User, webURL)
	for {
		select {
		case <-m.Done():
			return fmt.Errorf("qemu exited (%v); serial console tail:\n%s", m.ExitErr(), m.Tail(40))
		case <-ctx.Done():
			fmt.Println()
			return poweroff(m, nil)
		}
	}
}

// pollOutcome reads the web view's /api/vms until inst is ready or failed
// and returns its state ("" when ctx ends first).
func pollOutcome(ctx context.Context, url, inst string) string {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-tick.C:
		}
		resp, err := http.Get(url)
		if err != nil {
			continue // watch is starting
		}
		var snap web.Snapshot
		err = json.NewDecoder(resp.Body).Decode(&snap)
		resp.Body.Close()
		if err != nil {
			continue
		}
		for _, v := range snap.VMs {
			if v.Instance == inst && v.State != web.StateRunning {
				return v.State
			}
		}
	}
}

// openBrowser opens url in the desktop's browser when there is a desktop.
func openBrowser(url string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	if p, err := exec.LookPath("xdg-open"); err == nil {
		c := exec.Command(p, url)
		if c.Start() == nil {
			go c.Wait()
		}
	}
}

func poweroff(m *vm.Machine, cause error) error {
	fmt.Println("powering off ...")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.Poweroff(ctx); err != nil {
		return errors.Join(cause, err)
	}
	fmt.Println("VM powered off")
	return cause
}

// writeKey generates the user's SSH key, writes the private key to dir
// (0600) and returns its path and the authorized_keys line.
func writeKey(dir string) (string, string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "ovfinit demo")
	if err != nil {
		return "", "", err
	}
	p := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", "", err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return "", "", err
	}
	return p, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " ovfinit-demo", nil
}
