package agent

import (
	"context"
	"fmt"
	"os"

	"github.com/ovfinit/ovfinit/hostname"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// idleHostname is the hostname step's Idle.
func idleHostname(e *Env) string {
	if e.Plan != nil && e.Plan.Hostname == "" {
		return fmt.Sprintf("no %s or %s property", ovfenv.KeyHostname.Name, ovfenv.KeyLocalHostname.Name)
	}
	return ""
}

// setHostname is the hostname step: package hostname writes the name the
// way the OS keeps it. A Windows computer name needs a restart: the step
// succeeds with the reboot noted as pending (the manager reads it in the
// step's finish event and the status), and, being per instance, does not
// run again on the boot after that restart.
func setHostname(ctx context.Context, e *Env) (Result, error) {
	if why := idleHostname(e); why != "" {
		return skipped("%s", why), nil
	}
	h := e.Plan.Hostname
	res, err := hostname.Set(ctx, hostname.Options{
		Root: e.Root, Name: h, Live: e.Live, OS: e.goos(), Log: e.Log, SetLive: e.SetHostname,
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s %q: %w", ovfenv.KeyHostname.Name, h, err)
	}
	if res.RebootPending {
		e.RebootPending = true
		e.Log.Warn("the new host name takes effect at the next restart", "hostname", h)
		return noted("host name %s; reboot pending: it takes effect at the next restart", h), nil
	}
	return Result{}, nil
}

// hostnameOf is the host name the ready event and phone_home report: the
// planned one, else the running system's. With --root other than / there
// is no running system of the tree's own: the process runs on the build
// machine, whose name is not the image's, so it is "".
func hostnameOf(e *Env) string {
	if e.Plan != nil && e.Plan.Hostname != "" {
		return e.Plan.Hostname
	}
	if !e.Live {
		return ""
	}
	h, _ := e.runningHostname()
	return h
}

func (e *Env) runningHostname() (string, error) {
	if e.RunningHostname != nil {
		return e.RunningHostname()
	}
	return os.Hostname()
}

// rebootPendingMessage is what ready and the status say while a change
// waits for the restart.
const rebootPendingMessage = "reboot pending: a change (the host name) takes effect at the next restart"

// checkRebootPending runs before ready. The hostname step runs once per
// instance, so on a later run of the same instance it is skipped and says
// nothing: if the machine has not restarted since (the agent or its
// service was restarted), the name it set is still not the running one,
// and ready must still tell the manager the reboot is pending. After the
// restart the running name is the one asked for, and nothing is pending.
func (e *Env) checkRebootPending() {
	if e.RebootPending || !e.Live || e.Plan == nil || e.Plan.Hostname == "" || e.goos() != "windows" {
		return
	}
	running, err := e.runningHostname()
	if err != nil {
		e.Log.Warn("cannot read the running host name to see whether a restart is pending", "err", err)
		return
	}
	if hostname.StillPending(e.goos(), e.Plan.Hostname, running) {
		e.RebootPending = true
		e.Log.Warn("the host name set on an earlier run takes effect at the next restart", "hostname", e.Plan.Hostname, "running", running)
	}
}
