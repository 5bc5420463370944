package agent

// Systems of VMs (docs/callbacks.md, "Systems of VMs"): the "system" step
// waits, before the scripts run, until the manager says every member this
// VM comes after is ready; the scripts' system module then reads the
// members' facts and publishes values through the same client.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
)

// SystemPlan is what the environment says about the system this VM is a
// member of.
type SystemPlan struct {
	Enabled bool          // ovfinit.system
	URL     string        // ovfinit.system.url, else the callback URL
	Timeout time.Duration // ovfinit.system.timeout
}

// planSystem reads the system's properties; planCallback has run.
func planSystem(r *propReader, p *Plan) {
	s := &p.System
	s.Enabled = r.bool(ovfenv.KeySystem)
	s.Timeout = r.seconds(ovfenv.KeySystemTimeout)
	url, urlSet := r.text(ovfenv.KeySystemURL)
	if urlSet {
		if _, err := callback.ValidateURL(url); err != nil {
			r.bad(ovfenv.KeySystemURL.Name, errors.New("want an http:// or https:// URL with a host"))
		} else {
			s.URL = url
		}
	}
	if !s.Enabled {
		// Set without the switch: refused, not silently ignored.
		for _, k := range []ovfenv.Key{ovfenv.KeySystemURL, ovfenv.KeySystemTimeout} {
			if _, ok := r.text(k); ok {
				r.bad(k.Name, fmt.Errorf("set, but %s is not true: this VM is in no system", ovfenv.KeySystem.Name))
			}
		}
		return
	}
	if s.URL == "" && !urlSet {
		s.URL = p.CallbackURL
	}
	if s.URL == "" && !urlSet {
		if _, ok := r.text(ovfenv.KeyCallbackURL); !ok {
			r.bad(ovfenv.KeySystem.Name, fmt.Errorf("true, but neither %s nor %s says where the manager is", ovfenv.KeySystemURL.Name, ovfenv.KeyCallbackURL.Name))
		}
	}
}

// systemClient is the client of the manager's system protocol; nil when
// the VM is in no system.
func (e *Env) systemClient() *callback.SystemClient {
	if e.Plan == nil || !e.Plan.System.Enabled || e.Plan.System.URL == "" {
		return nil
	}
	return &callback.SystemClient{URL: e.Plan.System.URL, InstanceID: e.InstanceID, Secret: e.Plan.CallbackSecret, TLS: e.Plan.CallbackTLS} // signs with the wall clock, as the sender
}

// scriptSystem is what the scripts' system module asks: nil (not a nil
// *SystemClient) in no system.
func (e *Env) scriptSystem() scripts.System {
	if c := e.systemClient(); c != nil {
		return c
	}
	return nil
}

// systemPoll bounds the delay between two questions to the manager while
// waiting: the first after systemPollMin, each later one half again as
// long, up to systemPollMax.
const (
	systemPollMin = time.Second
	systemPollMax = 5 * time.Second
)

// idleSystem is the system step's Idle.
func idleSystem(e *Env) string {
	if e.systemClient() == nil {
		return fmt.Sprintf("in no system (%s is not true)", ovfenv.KeySystem.Name)
	}
	return ""
}

// waitSystem is the "system" step: it asks the manager until every member
// this VM comes after is ready, with a progress event "waiting for db"
// each time the set it waits for changes. When they are not all ready
// within ovfinit.system.timeout it fails, retryable (a slow member, a
// manager restarted); an instance the manager's system does not have
// fails fatal.
func waitSystem(ctx context.Context, e *Env) (Result, error) {
	if why := idleSystem(e); why != "" {
		return skipped("%s", why), nil
	}
	c := e.systemClient()
	timeout := e.Plan.System.Timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var waiting []string // what the last progress event said
	var lastErr error
	delay := systemPollMin
	for {
		a, err := c.Query(ctx)
		switch {
		case err == nil && a.Ready:
			if len(waiting) > 0 {
				return noted("member %s: %s ready", a.Member, strings.Join(waiting, ", ")), nil
			}
			return noted("member %s: nothing to wait for", a.Member), nil
		case errors.Is(err, callback.ErrNotMember):
			return Result{}, fatal(fmt.Errorf("%w: instance %s (check the manager's system file)", err, e.InstanceID))
		case err != nil:
			if lastErr == nil || lastErr.Error() != err.Error() {
				e.Log.Warn("asking the manager of the system", "err", err)
			}
			lastErr = err
		case !slices.Equal(a.Waiting, waiting):
			waiting, lastErr = a.Waiting, nil
			msg := "waiting for " + strings.Join(waiting, ", ")
			e.Log.Info(msg, "member", a.Member)
			d := e.data("system")
			d.Message = msg
			e.Events.Emit(callback.TypeProgress, d)
		default:
			lastErr = nil
		}
		select {
		case <-time.After(delay):
			delay = min(delay*3/2, systemPollMax)
		case <-ctx.Done():
			if parent := context.Cause(ctx); !errors.Is(parent, context.DeadlineExceeded) {
				return Result{}, fmt.Errorf("agent stopping: %w", parent)
			}
			what := "the manager's answer"
			if len(waiting) > 0 {
				what = strings.Join(waiting, ", ")
			}
			err := fmt.Errorf("waiting for %s: not ready after %v (%s)", what, timeout, ovfenv.KeySystemTimeout.Name)
			if lastErr != nil {
				err = fmt.Errorf("%w; last: %v", err, lastErr)
			}
			return Result{}, err // retryable: the members may come up on another attempt
		}
	}
}
