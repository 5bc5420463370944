package agent

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// The copies of the last valid environment, kept so that a boot that finds
// none (an ejected ISO) keeps what was applied. Both are 0600.
//
//   - savedEnv is the environment in clear, secrets included, in the
//     runtime directory (a tmpfs: never on the persistent disk, never in
//     the state directory). It exists only while this instance may still
//     need it: from "validate" until "forget-secrets", the last step,
//     removes it. A boot that fails before then (a script error) keeps
//     it, so running the agent again without the transport can still run
//     the per-instance steps that did not finish; a reboot loses it.
//   - savedRedacted has every secret replaced by ovfenv.Redaction: what
//     `ovfinit status` and `ovfinit env show` read, and what a later boot
//     uses when the clear copy is gone (every per-instance step has run by
//     then; redacted values read as unset).
const (
	savedEnv      = "ovf-env.xml"
	savedRedacted = "ovf-env.redacted.xml"
)

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
		e.Log.Info("environment found", "transport", src.Transport, "location", src.Location, "bytes", len(src.Data), "direct keys", len(src.Extra))
		e.note("transport %s: %s", src.Transport, src.Location)
		return nil
	}
	if !errors.Is(err, ovfenv.ErrNoEnvironment) {
		// Something is there but cannot be read (a damaged ISO): using
		// the saved copy would hide it from the manager.
		return err
	}
	for _, p := range []string{e.runtimePath(savedEnv), e.statePath(savedRedacted)} {
		saved, rerr := e.readFile(p)
		if errors.Is(rerr, fs.ErrNotExist) {
			continue
		}
		if rerr != nil {
			return fmt.Errorf("no OVF environment found (%v), and the saved one is unreadable: %w", err, rerr)
		}
		e.Log.Warn("no OVF environment found; keeping what was applied, using the environment saved at the last boot", "reason", err, "copy", p)
		e.Source = &ovfenv.Source{Transport: ovfenv.TransportSaved, Location: e.hostPath(p), Data: saved}
		e.note("transport saved: %s (no transport has one: %v)", p, err)
		return nil
	}
	return fmt.Errorf("no OVF environment found and none saved from an earlier boot: %w", err)
}

func parseEnvironment(ctx context.Context, e *Env) error {
	env, err := e.Source.Environment()
	if err != nil {
		// The manager must still hear about it: report to the callback URL
		// if the part of the document before the damage names one.
		if u := salvageProperty(e.Source.Data, PropCallbackURL); u != "" {
			id := salvageProperty(e.Source.Data, PropInstanceID)
			if id == "" {
				id = "unknown" // the events need a source; the document is unreadable
			}
			e.startEvents(salvageCallback(e.Source.Data, u, id))
		}
		return fatal(fmt.Errorf("%s %s: %w", e.Source.Transport, e.Source.Location, err))
	}
	if e.Source.Transport == ovfenv.TransportSaved && strings.HasSuffix(e.Source.Location, savedRedacted) {
		env = unredact(env)
	}
	e.OVF = env
	e.learnSecrets()
	return nil
}

// learnSecrets adds the environment's secrets to e.Redact, so that the log,
// the events and the status file never show them: the values of the
// secret properties (ovfenv.IsSecret) and the credentials of every URL
// value (redact.URLSecrets: the callback URL's user information and query
// token, say). A secret too short to be searched for in text is named in
// a warning.
func (e *Env) learnSecrets() {
	if e.Redact == nil {
		e.Redact = redact.New()
	}
	var secrets, short []string
	learn := func(props []ovfenv.Property) {
		for _, p := range props {
			if ovfenv.IsSecret(p.Key) && !ovfenv.IsUnset(p.Value) {
				secrets = append(secrets, p.Value)
				if len(p.Value) < redact.MinLen {
					short = append(short, p.Key)
				}
			}
			secrets = append(secrets, redact.URLSecrets(p.Value)...)
		}
	}
	learn(e.OVF.Properties)
	for _, en := range e.OVF.Entities {
		learn(en.Properties)
	}
	e.Redact.Add(secrets...)
	if len(short) > 0 {
		e.Log.Warn(fmt.Sprintf("secret values shorter than %d characters cannot be hidden in what scripts print", redact.MinLen), "properties", short)
	}
}

// unredact drops the redacted values of a saved redacted copy, so that they
// read as unset rather than as the text "(redacted)": the secrets, and the
// URLs whose credentials were redacted (a callback URL with a token is
// not used on a later boot that has only the redacted copy).
func unredact(env *ovfenv.Environment) *ovfenv.Environment {
	keep := env.Properties[:0]
	for _, p := range env.Properties {
		if p.Value == ovfenv.Redaction && ovfenv.IsSecret(p.Key) {
			continue
		}
		if r, ok := redact.URL(p.Value); ok && r == strings.TrimSpace(p.Value) {
			continue
		}
		keep = append(keep, p)
	}
	env.Properties = keep
	return env
}

// RedactedEnvironment is env as the state directory keeps it and `ovfinit
// env show` prints it: every secret replaced by ovfenv.Redaction, and the
// user information and query values of every URL by redact.URLMark.
func RedactedEnvironment(env *ovfenv.Environment) *ovfenv.Environment {
	c := redactUserData(env.Redacted())
	urls := func(props []ovfenv.Property) {
		for i, p := range props {
			if v, ok := redact.URL(p.Value); ok {
				props[i].Value = v
			}
		}
	}
	urls(c.Properties)
	for _, en := range c.Entities {
		urls(en.Properties)
	}
	return c
}

// saveEnvironment writes the clear and the redacted copies (0600).
func (e *Env) saveEnvironment() error {
	clear := e.Source.Data
	if len(e.Source.Extra) > 0 || len(clear) == 0 {
		// Direct guestinfo keys are merged in: save the merged whole.
		var err error
		if clear, err = e.OVF.Marshal(); err != nil {
			return err
		}
	}
	redacted, err := RedactedEnvironment(e.OVF).Marshal()
	if err != nil {
		return err
	}
	if err := e.writeFile(e.statePath(savedRedacted), redacted, 0o600); err != nil {
		return err
	}
	if err := e.mkdirAll(path.Dir(e.runtimePath(savedEnv)), 0o700); err != nil {
		return err
	}
	return e.writeFile(e.runtimePath(savedEnv), clear, 0o600)
}

// forgetSecrets runs once every step of the boot has finished. It removes
// the clear copy of the environment (the redacted copy is enough from then
// on) and, when the environment came from VMware guestinfo, clears the
// secret guestinfo.ovfinit.* keys it used, where the channel lets the guest
// set them. A key that cannot be cleared is a warning, not a failed boot:
// everything was applied.
func forgetSecrets(ctx context.Context, e *Env) error {
	var done, skipped []string
	if _, err := e.stat(e.statePath(savedRedacted)); err != nil {
		skipped = append(skipped, "no redacted copy saved; keeping the clear one")
	} else {
		err := e.remove(e.runtimePath(savedEnv))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			skipped = append(skipped, "no clear copy of the environment to remove")
		case err != nil:
			return fmt.Errorf("removing the clear copy of the environment: %w", err)
		default:
			done = append(done, fmt.Sprintf("removed %s; %s stays", savedEnv, savedRedacted))
		}
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
	sys, nerr := e.Network(e.Root)
	links := func() (netcfg.Current, netcfg.Applied, error) {
		if nerr != nil {
			return netcfg.Current{}, netcfg.Applied{}, nerr
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
	err = errors.Join(err, planCloud(e, plan))
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
		if err := e.saveEnvironment(); err != nil {
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

// salvageProperty reads a damaged document token by token up to the damage
// and returns the value of the last Property with the key, or "".
func salvageProperty(data []byte, key string) string {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	value := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return value
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Property" || se.Name.Space != ovfenv.NamespaceEnv {
			continue
		}
		var k, v string
		for _, a := range se.Attr {
			if a.Name.Space == ovfenv.NamespaceEnv && a.Name.Local == "key" {
				k = a.Value
			}
			if a.Name.Space == ovfenv.NamespaceEnv && a.Name.Local == "value" {
				v = a.Value
			}
		}
		if k == key {
			value = v
		}
	}
}
