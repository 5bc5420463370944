package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// TestTransportFwCfg boots a VM with no CD-ROM at all: the environment
// comes through QEMU's fw_cfg (opt/org.ovfinit/ovfenv). The guest kernel
// has qemu_fw_cfg as a module that is not loaded at boot, so the agent must
// load it itself. The boot must reach ready, and the find-environment event
// must say that fw_cfg won.
func TestTransportFwCfg(t *testing.T) {
	requireVM(t)
	ctx := t.Context()
	dir := t.TempDir()
	assets, err := vm.PrepareInitramfs(ctx, dir, vm.InitramfsOptions{OnDemand: []string{"qemu_fw_cfg"}})
	if err != nil {
		t.Fatalf("preparing the VM: %v", err)
	}
	rec, err := vm.NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	disk := filepath.Join(dir, "state.img")
	if err := vm.NewDisk(disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	const id = "e2e-fwcfg-1"
	env := vm.GuestEnv{
		InstanceID:  id,
		Hostname:    guestHostname,
		User:        guestUser,
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(newSigner(t).PublicKey()))),
		CallbackURL: rec.GuestURL(),
		Script:      script,
	}
	x, err := env.XML()
	if err != nil {
		t.Fatal(err)
	}
	fwcfg := filepath.Join(dir, "ovf-env.xml")
	if err := os.WriteFile(fwcfg, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	o := vm.Options{Assets: assets, Disk: disk, FwCfg: fwcfg, SerialLog: filepath.Join(dir, "fwcfg.serial")}
	if os.Getenv("OVFINIT_E2E_CONSOLE") != "" {
		o.Console = t.Output()
	}
	m, err := vm.Boot(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("qemu command line:\n%s", m.CommandLine())
			t.Logf("serial console (last 60 lines):\n%s", m.Tail(60))
		}
		m.Kill()
	})
	wctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	wctx, stop := m.Context(wctx)
	defer stop()
	end, err := rec.Wait(wctx, vm.TypeReady, vm.TypeFailed)
	if err != nil {
		t.Fatalf("no ready event within %v of qemu start: %v", bootTimeout, err)
	}
	if end.Type == vm.TypeFailed {
		t.Fatalf("agent reported failed: %s", end.Raw)
	}
	t.Logf("ready %v after qemu start", end.Received.Sub(m.Started).Round(time.Millisecond))
	if end.Data.InstanceID != id {
		t.Errorf("ready data.instanceId = %q, want %q", end.Data.InstanceID, id)
	}
	found := false
	for _, e := range rec.Events() {
		if e.Type == vm.TypeStepFinished && e.Data.Step == "find-environment" {
			found = true
			if e.Data.Status != "ok" || !strings.HasPrefix(e.Data.Message, "transport fw_cfg: ") {
				t.Errorf("find-environment finished %q with message %q, want ok with \"transport fw_cfg: ...\"", e.Data.Status, e.Data.Message)
			}
		}
	}
	if !found {
		t.Error("no step.finished event for find-environment")
	}
}
