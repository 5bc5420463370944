package agent

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
	"github.com/ovfinit/ovfinit/sshd"
	gossh "golang.org/x/crypto/ssh"
)

// savedEnv is the copy of the last valid environment, kept so that a boot
// that finds none (an ejected ISO) keeps what was applied.
const savedEnv = "ovf-env.xml"

const hostKeyFile = "ssh_host_ed25519_key"

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
		e.Log.Info("environment found", "transport", src.Transport, "location", src.Location, "bytes", len(src.Data))
		return nil
	}
	saved, rerr := os.ReadFile(e.statePath(savedEnv))
	if rerr != nil {
		if errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("no OVF environment found and none saved from an earlier boot: %w", err)
		}
		return fmt.Errorf("no OVF environment found (%v), and the saved one is unreadable: %w", err, rerr)
	}
	e.Log.Warn("no OVF environment found; keeping what was applied, using the environment saved at the last boot", "reason", err)
	e.Source = &ovfenv.Source{Transport: "saved", Location: e.statePath(savedEnv), Data: saved}
	return nil
}

func parseEnvironment(ctx context.Context, e *Env) error {
	env, err := ovfenv.Parse(e.Source.Data)
	if err != nil {
		// The manager must still hear about it: report to the callback URL
		// if the part of the document before the damage names one.
		if u := salvageProperty(e.Source.Data, PropCallbackURL); u != "" {
			id := salvageProperty(e.Source.Data, PropInstanceID)
			if id == "" {
				id = "unknown" // the events need a source; the document is unreadable
			}
			e.startEvents(callback.Config{URL: u, InstanceID: id, Attempt: 1})
		}
		return fatal(fmt.Errorf("%s %s: %w", e.Source.Transport, e.Source.Location, err))
	}
	e.OVF = env
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
	st, err := LoadState(e.statePath("state.json"))
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
	links := func() ([]netcfg.Link, error) {
		if nerr != nil {
			return nil, nerr
		}
		return sys.Links()
	}
	plan, err := BuildPlan(e.OVF, links)
	e.Plan = plan
	if plan.CallbackURL != "" {
		e.startEvents(callback.Config{URL: plan.CallbackURL, InstanceID: e.InstanceID, Attempt: plan.Attempt})
	}
	if err != nil {
		return fatal(err)
	}
	if e.Source.Transport != "saved" {
		if err := fsutil.WriteFile(e.statePath(savedEnv), e.Source.Data, 0o600); err != nil {
			return fmt.Errorf("saving the environment: %w", err)
		}
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

func setHostname(ctx context.Context, e *Env) error {
	h := e.Plan.Hostname
	if h == "" {
		return skip("no %s property", PropHostname)
	}
	short := h
	if i := strings.IndexByte(h, '.'); i > 0 {
		short = h[:i]
	}
	if err := fsutil.WriteFile(fsutil.Join(e.Root, "/etc/hostname"), []byte(short+"\n"), 0o644); err != nil {
		return err
	}
	hostsPath := fsutil.Join(e.Root, "/etc/hosts")
	hosts, err := os.ReadFile(hostsPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := fsutil.WriteFile(hostsPath, hostsWith(hosts, h, short), 0o644); err != nil {
		return err
	}
	if !e.Live {
		e.Log.Info("not setting the live host name: --root is not /", "root", e.Root)
		return nil
	}
	return e.SetHostname(short)
}

// hostsWith returns /etc/hosts with the 127.0.1.1 line naming the host (as
// Debian's installer writes it), replacing an earlier one.
func hostsWith(hosts []byte, fqdn, short string) []byte {
	line := "127.0.1.1\t" + fqdn
	if fqdn != short {
		line += " " + short
	}
	var out []string
	replaced := false
	for _, l := range strings.Split(strings.TrimRight(string(hosts), "\n"), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "127.0.1.1" {
			if !replaced {
				out = append(out, line)
				replaced = true
			}
			continue
		}
		if l != "" || len(out) > 0 {
			out = append(out, l)
		}
	}
	if !replaced {
		if len(out) == 0 {
			out = append(out, "127.0.0.1\tlocalhost")
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

func configureNetwork(ctx context.Context, e *Env) error {
	if e.Plan.Net == nil {
		return skip("no %s property: network left as it is", PropNetAddress)
	}
	if !e.Live {
		return skip("not changing the live network: --root is not /")
	}
	sys, err := e.Network(e.Root)
	if err != nil {
		return err
	}
	for _, op := range e.Plan.NetOps {
		e.Log.Info("network", "op", op.String())
	}
	return sys.Apply(ctx, e.Plan.NetOps)
}

func createUser(ctx context.Context, e *Env) error {
	a, err := e.CreateUser(e.Root, e.Plan.User, e.Log)
	if err != nil {
		return fmt.Errorf("user %s: %w", e.Plan.User.Name, err)
	}
	e.Account = a
	if len(e.Plan.User.Keys) == 0 {
		e.Log.Warn("no public-keys property: the user cannot log in over SSH", "user", a.Name)
	}
	return nil
}

// generateHostKey makes a new host key for a new instance: two VMs made from
// one template must never share one.
func generateHostKey(ctx context.Context, e *Env) error {
	path := e.statePath(hostKeyFile)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the previous instance's host key: %w", err)
	}
	k, err := sshd.LoadOrCreateHostKey(path)
	if err != nil {
		return err
	}
	e.HostKey = k
	e.Log.Info("SSH host key generated", "fingerprint", sshFingerprint(k.PublicKey()))
	return nil
}

func startSSH(ctx context.Context, e *Env) error {
	if e.HostKey == nil {
		k, err := sshd.LoadOrCreateHostKey(e.statePath(hostKeyFile))
		if err != nil {
			return err
		}
		e.HostKey = k
	}
	addr := net.JoinHostPort(e.SSHHost, strconv.Itoa(e.Plan.SSHPort))
	srv, err := e.StartSSH(sshd.Config{Addr: addr, HostKeys: []gossh.Signer{e.HostKey}, Log: e.Log})
	if err != nil {
		return fatal(&PropertyError{Key: PropSSHPort, Line: e.OVF.PropertyLine(PropSSHPort),
			Err: fmt.Errorf("cannot listen on %s (another SSH server may hold the port): %w", addr, err)})
	}
	e.SSH = srv
	e.Log.Info("SSH server listening", "addr", srv.Addr().String(), "fingerprint", sshFingerprint(e.HostKey.PublicKey()))
	return nil
}

func runScript(ctx context.Context, e *Env) error {
	if e.Plan.Script == nil {
		return skip("no %s property", PropScript)
	}
	err := scripts.Run(ctx, PropScript, e.Plan.Script, scripts.Env{Property: e.OVF.Property, Root: e.Root, Log: e.Log})
	if err != nil {
		var se *scripts.ScriptError
		if errors.As(err, &se) && se.Backtrace != "" {
			e.Log.Error("script failed", "backtrace", se.Backtrace)
		}
		// A script fails the same way each time it runs: redeploying the
		// same environment cannot help.
		return fatal(err)
	}
	return nil
}

func sshFingerprint(k gossh.PublicKey) string { return sshd.Fingerprint(k) }

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

func hostname(e *Env) string {
	if e.Plan != nil && e.Plan.Hostname != "" {
		return e.Plan.Hostname
	}
	h, _ := os.Hostname()
	return h
}

func addresses(e *Env) []string {
	if e.Plan != nil && e.Plan.Net != nil {
		return []string{e.Plan.Net.Address.String()}
	}
	return nil
}
