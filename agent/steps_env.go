package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// saved is where the copies of the last valid environment are kept
// (ovfenv.Saved): the clear one in the runtime directory until
// forget-secrets, the redacted one in the state directory.
func (e *Env) saved() ovfenv.Saved {
	return ovfenv.Saved{Root: e.Root, RuntimeDir: e.runtimeDir(), StateDir: e.statePath(""), Redact: RedactedEnvironment}
}

func findEnvironment(ctx context.Context, e *Env) error {
	var src *ovfenv.Source
	var err error
	if e.EnvFile != "" {
		src, err = ovfenv.ReadFile(e.EnvFile)
		if err != nil {
			return fatal(fmt.Errorf("--env: %w", err))
		}
	} else {
		src, err = e.FindEnv(ctx, e)
	}
	if err == nil {
		e.Source = src
		e.Log.Info("environment found", "transport", src.Transport, "location", src.Location, "bytes", len(src.Data), "direct_keys", len(src.Extra))
		e.note("transport %s: %s", src.Transport, src.Location)
		return nil
	}
	if !errors.Is(err, ovfenv.ErrNoEnvironment) {
		// Something is there but cannot be read (a damaged ISO): using
		// the saved copy would hide it from the manager.
		return err
	}
	saved, serr := e.saved().Load()
	if errors.Is(serr, ovfenv.ErrNoEnvironment) {
		return fmt.Errorf("no OVF environment found and none saved from an earlier boot: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("no OVF environment found (%v), and the saved one is unreadable: %w", err, serr)
	}
	e.Log.Warn("no OVF environment found; keeping what was applied, using the environment saved at the last boot", "reason", err, "copy", saved.Location)
	e.Source = saved
	e.note("transport saved: %s (no transport has one: %v)", saved.Location, err)
	return nil
}

func parseEnvironment(ctx context.Context, e *Env) error {
	env, err := e.Source.Environment()
	if err != nil {
		// The manager must still hear about it: report to the callback URL
		// if the part of the document before the damage names one.
		part := ovfenv.Salvage(e.Source.Data)
		if u, ok := part.Property(PropCallbackURL); ok {
			id, ok := part.Property(PropInstanceID)
			if !ok {
				id = "unknown" // the events need a source; the document is unreadable
			}
			e.startEvents(salvageCallback(part, u, id))
		}
		return fatal(fmt.Errorf("%s %s: %w", e.Source.Transport, e.Source.Location, err))
	}
	e.OVF = env
	e.learnSecrets()
	return nil
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
func forgetSecrets(ctx context.Context, e *Env) error {
	var done, skipped []string
	switch note, removed, err := e.saved().ForgetClear(); {
	case err != nil:
		return err
	case removed:
		done = append(done, note)
	default:
		skipped = append(skipped, note)
	}
	switch keys := ovfenv.SecretGuestinfoKeys(e.Source); {
	case len(keys) == 0:
	case !e.Live:
		skipped = append(skipped, "not clearing the secret guestinfo keys: --root is not /, this is not the VM's own guestinfo")
	case e.WipeGuestinfo == nil:
		skipped = append(skipped, "not clearing the secret guestinfo keys: no way to set guestinfo")
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
		return skip("%s", strings.Join(skipped, "; "))
	}
	e.note("%s", strings.Join(append(done, skipped...), "; "))
	return nil
}

// RedactedEnvironment is env as the state directory keeps it and `ovfinit
// env show` prints it: ovfenv.RedactedCopy, and user-data replaced too when
// it is #cloud-config holding a password (redactUserData).
func RedactedEnvironment(env *ovfenv.Environment) *ovfenv.Environment {
	return redactUserData(ovfenv.RedactedCopy(env))
}

func identity(ctx context.Context, e *Env) error {
	id, how := "", ""
	if v, ok := e.OVF.Property(PropInstanceID); ok && strings.TrimSpace(v) != "" {
		id, how = strings.TrimSpace(v), "property instance-id"
	} else if e.OVF.ID != "" {
		id, how = e.OVF.ID, "Environment id"
	} else {
		u, err := e.SystemUUID(e.Root)
		if err != nil {
			return fatal(fmt.Errorf("no instance-id property, no Environment id, and no SMBIOS system UUID: %w", err))
		}
		id, how = u, "SMBIOS system UUID"
	}
	st, err := LoadState(e.Root, e.statePath("state.json"))
	if err != nil {
		return fatal(err)
	}
	if st.Instance != "" && st.Instance != id {
		e.Log.Info("new instance: per-instance steps run again", "instance", id, "previous", st.Instance)
	}
	st.Instance = id
	e.InstanceID, e.State = id, st
	e.Log.Info("instance identified", "instance", id, "from", how)
	return nil
}

func validate(ctx context.Context, e *Env) error {
	links := func() (netcfg.Current, netcfg.Applied, error) {
		sys, err := e.network()
		if err != nil {
			return netcfg.Current{}, netcfg.Applied{}, err
		}
		cur, err := sys.Current()
		if err != nil {
			return cur, netcfg.Applied{}, err
		}
		prev, err := loadNetApplied(e)
		return cur, prev, err
	}
	plan, err := BuildPlanFor(e.OVF, links, netcfg.DetectManager(e.Root))
	e.Plan = plan
	err = errors.Join(err, planCloud(e, plan), checkPlanForOS(e.OVF, plan, e.goos()))
	// The user against the image's accounts: a clash found here stops the
	// boot before the host name or the network change, as a fatal error.
	warnings, uerr := CheckUserOnImage(e.OVF, plan, e.Root, e.StateDir, e.RuntimeDir)
	err = errors.Join(err, uerr, e.checkScripts(plan)) // every script found and compiled, once
	for _, w := range append(plan.Warnings, warnings...) {
		e.Log.Warn("property accepted by an override", "property", w.Key, "line", w.Line, "warning", w.Err.Error())
	}
	if _, set := e.OVF.Property(PropSSHPort); !set && e.SSHPort != 0 {
		// The image's own default (`ovfinit install --port`).
		plan.SSHPort = e.SSHPort
		if plan.SSH.AltPort == e.SSHPort {
			err = errors.Join(err, &PropertyError{Key: PropSSHAltPort, Line: e.OVF.PropertyLine(PropSSHAltPort),
				Err: fmt.Errorf("is the image's default SSH port (%d, run --ssh-port)", e.SSHPort)})
		}
	}
	if plan.CallbackURL != "" {
		e.startEvents(plan.CallbackConfig(e.InstanceID))
	}
	if err != nil {
		return fatal(err)
	}
	if v, ok := e.OVF.Property(PropSeedFrom); ok {
		e.Log.Warn("property seedfrom is not supported: nothing is fetched, the environment's own properties are used",
			"property", PropSeedFrom, "line", e.OVF.PropertyLine(PropSeedFrom), "value", v)
	}
	if e.Source.Transport != ovfenv.TransportSaved {
		if err := e.saved().Save(e.Source, e.OVF); err != nil {
			return fmt.Errorf("saving the environment: %w", err)
		}
	}
	var cb callback.Config
	if plan.CallbackURL != "" {
		cb = plan.CallbackConfig(e.InstanceID)
	}
	if err := e.saveCallback(cb); err != nil {
		return fmt.Errorf("saving the callback configuration: %w", err)
	}
	return nil
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
