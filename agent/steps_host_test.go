package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// A host name that needs a restart (a Windows computer name) does not stop
// the boot: the step and ready say the reboot is pending, and the next
// boot of the same instance does not set the name again (issue 17).
func TestHostnameRebootPending(t *testing.T) {
	m := newMachine(t)
	calls := 0
	boot := func() *fakeEvents {
		e, ev := m.env(envXML("instance-id", "i-1", "hostname", "win1.example.com"))
		e.OS = "windows"
		e.SetHostname = func(_ context.Context, fqdn, short string) (bool, error) {
			calls++
			if fqdn != "win1.example.com" || short != "win1" {
				t.Errorf("SetHostname(%q, %q), want win1.example.com, win1", fqdn, short)
			}
			return true, nil
		}
		if err := Run(context.Background(), e, Steps()); err != nil {
			t.Fatalf("Run() = %v, want ready with the reboot pending", err)
		}
		return ev
	}
	ev := boot()
	var finished, ready string
	for _, r := range ev.events {
		if r.Type == callback.TypeStepFinished && r.Data.Step == "hostname" {
			finished = r.Data.Message
		}
		if r.Type == callback.TypeReady {
			ready = r.Data.Message
		}
	}
	if !strings.Contains(finished, "reboot pending") || !strings.Contains(ready, "reboot pending") {
		t.Errorf("hostname finished = %q, ready = %q; want both to say the reboot is pending", finished, ready)
	}
	if _, err := os.Stat(filepath.Join(m.root, "etc", "hostname")); err == nil {
		t.Error("etc/hostname written for Windows, which keeps the name in its registry")
	}
	boot() // after the restart
	if calls != 1 {
		t.Errorf("SetHostname called %d times over two boots of one instance, want 1", calls)
	}
}

// A name Windows cannot take fails the step naming the property.
func TestHostnameNetBIOSRefused(t *testing.T) {
	m := newMachine(t)
	e, _ := m.env(envXML("instance-id", "i-1", "hostname", "averyveryverylongname.example.com"))
	e.OS = "windows"
	e.SetHostname = func(context.Context, string, string) (bool, error) {
		t.Error("SetHostname called for a name Windows refuses")
		return false, nil
	}
	err := Run(context.Background(), e, Steps())
	if err == nil || !strings.Contains(err.Error(), ovfenv.KeyHostname.Name) || !strings.Contains(err.Error(), "15") {
		t.Errorf("Run() = %v, want an error naming %s and the 15-character limit", err, ovfenv.KeyHostname.Name)
	}
}
