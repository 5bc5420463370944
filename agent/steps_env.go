package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/cloudconfig"
	"github.com/ovfinit/ovfinit/internal/modalias"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// saved is where the copies of the last valid environment are kept
// (ovfenv.Saved): the clear one in the runtime directory until
// forget-secrets, the redacted one in the state directory.
func (e *Env) saved() ovfenv.Saved {
	return ovfenv.Saved{Root: e.Root, RuntimeDir: e.runtimeDir(), StateDir: e.statePath(""), Redact: e.redactedEnvironment}
}

func findEnvironment(ctx context.Context, e *Env) (Result, error) {
	var src *ovfenv.Source
	var err error
	if e.EnvFile != "" {
		src, err = ovfenv.ReadFile(e.EnvFile)
		if err != nil {
			return Result{}, fatal(fmt.Errorf("--env: %w", err))
		}
	} else {
		src, err = e.FindEnv(ctx, e)
	}
	if err == nil {
		e.Source = src
		e.Log.Info("environment found", "transport", src.Transport, "location", src.Location, "bytes", len(src.Data), "direct_keys", len(src.Extra))
		return noted("transport %s: %s", src.Transport, src.Location), nil
	}
	if !errors.Is(err, ovfenv.ErrNoEnvironment) {
		// Something is there but cannot be read (a damaged ISO): using
		// the saved copy would hide it from the manager.
		return Result{}, err
	}
	saved, serr := e.saved().Load()
	if errors.Is(serr, ovfenv.ErrNoEnvironment) {
		return Result{}, fmt.Errorf("no OVF environment found and none saved from an earlier boot: %w", err)
	}
	if serr != nil {
		return Result{}, fmt.Errorf("no OVF environment found (%v), and the saved one is unreadable: %w", err, serr)
	}
	e.Log.Warn("no OVF environment found; keeping what was applied, using the environment saved at the last boot", "reason", err, "copy", saved.Location)
	e.Source = saved
	return noted("transport saved: %s (no transport has one: %v)", saved.Location, err), nil
}

func parseEnvironment(ctx context.Context, e *Env) (Result, error) {
	env, err := e.Source.Environment()
	if err != nil {
		// The manager must still hear about it: report to the callback URL
		// if the part of the document before the damage names one.
		part := ovfenv.Salvage(e.Source.Data)
		if u, ok := part.Property(ovfenv.KeyCallbackURL.Name); ok {
			id, ok := part.Property(ovfenv.KeyInstanceID.Name)
			if !ok {
				id = "unknown" // the events need a source; the document is unreadable
			}
			e.startEvents(salvageCallback(part, u, id))
		}
		return Result{}, fatal(fmt.Errorf("%s %s: %w", e.Source.Transport, e.Source.Location, err))
	}
	e.OVF = env
	e.learnSecrets()
	return Result{}, nil
}

// learnSecrets adds the environment's secrets (ovfenv.Environment.Secrets)
// to e.Redact, so that the log, the events and the status file never show
// them. A secret too short to be searched for in text is named in a warning.
func (e *Env) learnSecrets() {
	if e.Redact == nil {
		e.Redact = redact.New()
	}
	secrets, short := e.OVF.Secrets()
	e.Redact.Add(secrets...)
	if len(short) > 0 {
		e.Log.Warn(fmt.Sprintf("secret values shorter than %d characters cannot be hidden in what scripts print", redact.MinLen), "properties", short)
	}
}

// forgetSecrets runs once every step of the boot has finished. It removes
// the clear copy of the environment (the redacted copy is enough from then
// on) and, when the environment came from VMware guestinfo, clears the
// secret guestinfo.ovfinit.* keys it used, where the channel lets the guest
// set them. A key that cannot be cleared is a warning, not a failed boot:
// everything was applied.
func forgetSecrets(ctx context.Context, e *Env) (Result, error) {
	var done, left []string
	switch note, removed, err := e.saved().ForgetClear(); {
	case err != nil:
		return Result{}, err
	case removed:
		done = append(done, note)
	default:
		left = append(left, note)
	}
	switch keys := ovfenv.SecretGuestinfoKeys(e.Source); {
	case len(keys) == 0:
	case !e.Live:
		left = append(left, "not clearing the secret guestinfo keys: --root is not /, this is not the VM's own guestinfo")
	case e.WipeGuestinfo == nil:
		left = append(left, "not clearing the secret guestinfo keys: no way to set guestinfo")
	default:
		if err := e.WipeGuestinfo(ctx, e, keys); err != nil {
			e.Log.Warn("secret guestinfo keys not cleared; they stay readable in the VM's configuration", "keys", keys, "err", err)
			done = append(done, fmt.Sprintf("could not clear guestinfo %s: %v", strings.Join(keys, ", "), err))
		} else {
			e.Log.Info("secret guestinfo keys cleared", "keys", keys)
			done = append(done, "cleared guestinfo."+strings.Join(keys, ", guestinfo."))
		}
	}
	if len(done) == 0 {
		return skipped("%s", strings.Join(left, "; ")), nil
	}
	return noted("%s", strings.Join(append(done, left...), "; ")), nil
}

// redactedEnvironment is env as the state directory keeps it:
// cloudconfig.RedactedCopy, with the user-data validate parsed (not decoded
// again).
func (e *Env) redactedEnvironment(env *ovfenv.Environment) *ovfenv.Environment {
	if e.Plan == nil {
		return cloudconfig.RedactedCopy(env)
	}
	return cloudconfig.RedactUserData(ovfenv.RedactedCopy(env), e.Plan.Cloud.parsed)
}

func identity(ctx context.Context, e *Env) (Result, error) {
	id, how := "", ""
	if v, ok := e.OVF.Property(ovfenv.KeyInstanceID.Name); ok && strings.TrimSpace(v) != "" {
		id, how = strings.TrimSpace(v), "property instance-id"
	} else if e.OVF.ID != "" {
		id, how = e.OVF.ID, "Environment id"
	} else {
		u, err := e.SystemUUID(e.Root)
		if err != nil {
			return Result{}, fatal(fmt.Errorf("no instance-id property, no Environment id, and no SMBIOS system UUID: %w", err))
		}
		id, how = u, "SMBIOS system UUID"
	}
	st, err := LoadState(e.Root, e.statePath("state.json"))
	if err != nil {
		return Result{}, fatal(err)
	}
	if st.Instance != "" && st.Instance != id {
		e.Log.Info("new instance: per-instance steps run again", "instance", id, "previous", st.Instance)
	}
	st.Instance = id
	e.InstanceID, e.State = id, st
	e.Log.Info("instance identified", "instance", id, "from", how)
	return Result{}, nil
}

func validate(ctx context.Context, e *Env) (Result, error) {
	// A NIC the network config names may not be there yet: wait for it,
	// up to WaitNICs, planning again every poll. Whether udev has
	// finished with the NICs (it may still rename one) matters here only
	// when the input picks NICs by name (Plan.NetByName): otherwise the
	// plan picks the same NICs after a rename, and the network step waits
	// for udev (waitNICsNamed) and plans again with the final names, while
	// the steps before it run.
	deadline := e.Now().Add(e.WaitNICs)
	e.nicDeadline = deadline
	var seen netcfg.Current // the links the plan was last made with
	waitUdev := false
	links := func() (netcfg.Current, netcfg.Applied, error) {
		e.loadNICDrivers(ctx)
		sys, err := e.network()
		if err != nil {
			return netcfg.Current{}, netcfg.Applied{}, err
		}
		cur, err := sys.Current()
		if err != nil {
			return cur, netcfg.Applied{}, err
		}
		seen = cur
		if p := pendingNICs(cur); waitUdev && len(p) > 0 && e.Now().Before(deadline) {
			return cur, netcfg.Applied{}, fmt.Errorf("%w: %s", errNICPending, strings.Join(p, ", "))
		}
		if !hasEthernet(cur) && e.Now().Before(deadline) {
			// The plan needs the machine's NICs and there is none yet: a
			// driver udev has still to load (the fallback DHCP would
			// otherwise leave the network alone, and no event would
			// leave the VM).
			return cur, netcfg.Applied{}, fmt.Errorf("%w: no ethernet NIC yet", errNICPending)
		}
		prev, err := loadNetApplied(e)
		return cur, prev, err
	}
	mgr := netcfg.DetectManager(e.Root)
	logged := false
	planWhenThere := func() (*Plan, error) {
		plan, err := BuildPlanFor(e.OVF, links, mgr)
		for err != nil && nicMissing(err) && e.Now().Before(deadline) {
			if !logged {
				e.Log.Info("a network interface is not there yet, or udev has not finished naming it: waiting for it", "err", err)
				logged = true
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(nicPoll):
			}
			plan, err = BuildPlanFor(e.OVF, links, mgr)
		}
		if errors.Is(err, errNICPending) {
			// Past the deadline udev is not waited for any more.
			plan, err = BuildPlanFor(e.OVF, links, mgr)
		}
		return plan, err
	}
	plan, err := planWhenThere()
	if err == nil && plan != nil && plan.NetByName && len(pendingNICs(seen)) > 0 {
		waitUdev = true
		plan, err = planWhenThere()
	}
	if plan == nil && err != nil && ctx.Err() != nil {
		return Result{}, err
	}
	if e.Live && seen.Links != nil {
		// Which NICs the plan names, and whether udev had finished with
		// them (a later rename would make the plan's names wrong).
		var nics []string
		for _, l := range seen.Links {
			if l.Ethernet {
				nics = append(nics, fmt.Sprintf("%s %s udev_done=%t", l.Name, l.MAC, !l.Pending))
			}
		}
		e.Log.Info("network interfaces", "nics", strings.Join(nics, ", "))
	}
	e.Plan = plan
	if plan != nil && plan.Net != nil && e.Redact != nil {
		e.Redact.Add(netcfg.Secrets(*plan.Net)...) // WireGuard keys from network-config
	}
	err = errors.Join(err, planCloud(e, plan), checkPlanForOS(e.OVF, plan, e.goos()))
	// The user against the image's accounts: a clash found here stops the
	// boot before the host name or the network change, as a fatal error.
	warnings, uerr := CheckUserOnImage(e.OVF, plan, e.Root, e.StateDir, e.RuntimeDir)
	err = errors.Join(err, uerr, e.checkScripts(plan)) // every script found and compiled, once
	for _, w := range append(plan.Warnings, warnings...) {
		e.Log.Warn("property accepted by an override", "property", w.Key, "line", w.Line, "warning", w.Err.Error())
	}
	if _, set := e.OVF.Property(ovfenv.KeySSHPort.Name); !set && e.DefaultSSHPort != 0 {
		// The image's own default (`ovfinit install --port`).
		plan.SSHPort = e.DefaultSSHPort
		if plan.SSH.AltPort == e.DefaultSSHPort {
			err = errors.Join(err, &PropertyError{Key: ovfenv.KeySSHAltPort.Name, Line: e.OVF.PropertyLine(ovfenv.KeySSHAltPort.Name),
				Err: fmt.Errorf("is the image's default SSH port (%d, run --ssh-port)", e.DefaultSSHPort)})
		}
	}
	if plan.CallbackURL != "" {
		e.startEvents(plan.CallbackConfig(e.InstanceID))
	}
	if err != nil {
		return Result{}, fatal(err)
	}
	if v, ok := e.OVF.Property(ovfenv.KeySeedFrom.Name); ok {
		e.Log.Warn("property seedfrom is not supported: nothing is fetched, the environment's own properties are used",
			"property", ovfenv.KeySeedFrom.Name, "line", e.OVF.PropertyLine(ovfenv.KeySeedFrom.Name), "value", v)
	}
	if e.Source.Transport != ovfenv.TransportSaved {
		if err := e.saved().Save(e.Source, e.OVF); err != nil {
			return Result{}, fmt.Errorf("saving the environment: %w", err)
		}
	}
	var cb callback.Config
	if plan.CallbackURL != "" {
		cb = plan.CallbackConfig(e.InstanceID)
	}
	if err := e.saveCallback(cb); err != nil {
		return Result{}, fmt.Errorf("saving the callback configuration: %w", err)
	}
	return Result{}, nil
}

func (e *Env) startEvents(cfg callback.Config) {
	if e.started {
		return
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = e.InstanceID
	}
	if err := e.Events.Start(cfg); err != nil {
		e.Log.Warn("callbacks disabled", "err", err)
		return
	}
	e.started = true
}

// nicMissing reports whether err is (or holds) a network interface that
// is not there: one the kernel may still add.
func nicMissing(err error) bool {
	return errors.Is(err, errNICPending) || errors.Is(err, netcfg.ErrNoSuchMAC) || errors.Is(err, netcfg.ErrNoSuchName) || errors.Is(err, netcfg.ErrNoEthernet)
}

// loadNICDrivers loads, on the running system and while NICs are waited
// for (WaitNICs), the drivers of network devices no driver has bound, by
// their modalias, as udev would, without waiting for udev to reach them in
// its queue; each device once per boot.
func (e *Env) loadNICDrivers(ctx context.Context) {
	if !e.Live || e.WaitNICs <= 0 || runtime.GOOS != "linux" { // modprobe: Linux's
		return
	}
	if e.nicDrivers == nil {
		run := e.netCommands()
		if run == nil {
			return
		}
		e.nicDrivers = &modalias.Loader{Root: e.Root, Run: run, Log: e.Log, What: "network devices"}
	}
	e.nicDrivers.Load(ctx, netcfg.NICBuses)
}

// errNICPending: udev has not finished with an ethernet NIC (it may still
// rename it), so a plan made now could name a NIC that is gone a moment
// later.
var errNICPending = errors.New("udev has not finished with the network interface")

// nicPoll is how often validate plans again while it waits for a NIC.
const nicPoll = 200 * time.Millisecond

// hasEthernet: the machine has an ethernet NIC.
func hasEthernet(cur netcfg.Current) bool {
	for _, l := range cur.Links {
		if l.Ethernet {
			return true
		}
	}
	return false
}

// pendingNICs names the ethernet links udev has not finished with.
func pendingNICs(cur netcfg.Current) []string {
	var p []string
	for _, l := range cur.Links {
		if l.Ethernet && l.Pending {
			p = append(p, l.Name)
		}
	}
	return p
}
