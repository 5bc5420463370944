package agent

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
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

// TestBootRecordNamesItsSteps: every field of the boot record says which
// step fills it ("validate: ..."), and that step is in the pipeline, so the
// record stays a map of the pipeline as steps come and go.
func TestBootRecordNamesItsSteps(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "env.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range Steps() {
		names[s.Name] = true
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Boot" {
			return true
		}
		found = true
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			text := fl.Comment.Text()
			if text == "" {
				text = fl.Doc.Text()
			}
			first, _, _ := strings.Cut(strings.TrimSpace(text), ":")
			ok := false
			for _, step := range strings.Split(first, " or ") {
				step, _, _ = strings.Cut(step, " (")
				ok = ok || names[step]
			}
			if !ok {
				t.Errorf("Boot.%s: comment %q does not start with the name of the step that fills it", fl.Names[0].Name, text)
			}
		}
		return false
	})
	if !found {
		t.Fatal("no type Boot in env.go")
	}
}
