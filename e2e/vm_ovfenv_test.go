package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// TestTransportFwCfg boots a VM with no CD-ROM at all: the environment
// comes through QEMU's fw_cfg (opt/org.ovfinit/ovfenv). The guest kernel
// has qemu_fw_cfg as a module that is not loaded at boot, so the agent must
// load it itself. The boot must reach ready, and the find-environment event
// must say that fw_cfg won.
func TestTransportFwCfg(t *testing.T) {
	requireVM(t)
	h := newHarness(t, setup{initramfs: vm.InitramfsOptions{OnDemand: []string{"qemu_fw_cfg"}}})
	const id = "e2e-fwcfg-1"
	fwcfg := filepath.Join(h.dir, "ovf-env.xml")
	if err := os.WriteFile(fwcfg, envXML(t, h.env(id).Properties()), 0o644); err != nil {
		t.Fatal(err)
	}
	h.boot(t, "", id, func(o *vm.Options) { o.FwCfg = fwcfg }) // no ISO
	found := false
	for _, e := range h.rec.Events() {
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
