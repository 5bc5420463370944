package agent

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
)

// TestPlanUnchangedAfterValidate: the port the SSH server ends up on (the
// alternative, when the port is taken) is a fact of the boot, kept in the
// boot record and reported in ready; the Plan keeps what the environment
// asked for. The sshd step used to overwrite Plan.SSHPort.
func TestPlanUnchangedAfterValidate(t *testing.T) {
	m := newMachine(t)
	e, ev := m.env(envXML("instance-id", "i-1", ovfenv.KeySSHPort.Name, "22", ovfenv.KeySSHAltPort.Name, "2222"))
	e.StartSSH = func(cfg sshd.Config) (SSHServer, error) {
		if strings.HasSuffix(cfg.Addr, ":22") {
			return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
		}
		return &fakeSSH{cfg: cfg}, nil
	}
	if err := Run(context.Background(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if e.Plan.SSHPort != 22 || e.Plan.SSH.AltPort != 2222 {
		t.Errorf("after the boot Plan.SSHPort = %d, AltPort = %d; want the validated 22 and 2222", e.Plan.SSHPort, e.Plan.SSH.AltPort)
	}
	if e.Boot.SSHPort != 2222 {
		t.Errorf("Boot.SSHPort = %d, want 2222, the port in use", e.Boot.SSHPort)
	}
	ready := ev.events[len(ev.events)-1]
	if ready.Type != callback.TypeReady || ready.Data.SSHPort != 2222 {
		t.Errorf("last event %s on port %d, want ready on 2222", ready.Type, ready.Data.SSHPort)
	}
}
