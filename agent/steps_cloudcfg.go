package agent

import (
	"context"
	"fmt"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/cloudconfig"
	"github.com/ovfinit/ovfinit/users"
	gossh "golang.org/x/crypto/ssh"
)

// The steps that apply #cloud-config user-data (plan_cloudcfg.go reads
// it), in cloud-init's order: bootcmd and write_files first, users after
// ovfinit's own user, packages once SSH is up, deferred files, runcmd and
// a #! user-data script after the Starlark scripts, then phone_home,
// final_message and power_state. Each skips when user-data has nothing
// for it. docs/cloud-config.md lists the modules.

// cloudConfig returns the plan's #cloud-config, or nil.
func (e *Env) cloudConfig() *cloudconfig.Config {
	if e.Plan == nil {
		return nil
	}
	return e.Plan.Cloud.Config
}

// commands returns the runner for user-data's commands. Under a root other
// than "/" there is nothing to run them in: the commands would run on the
// build host, so they are refused unless a test set Env.Commands.
func (e *Env) commands(module string) (cmdrun.Runner, error) {
	if e.Commands != nil {
		return e.Commands, nil
	}
	if !e.Live || rootOrSlash(e.Root) != "/" {
		return nil, fatal(fmt.Errorf("user-data's %s runs commands, and they run only on the live system (--root /), not under %s", module, e.Root))
	}
	return cmdrun.Exec{Log: e.Log}, nil
}

func cloudBootcmd(ctx context.Context, e *Env) error {
	c := e.cloudConfig()
	if c == nil || len(c.Bootcmd) == 0 {
		return skip("no bootcmd in user-data")
	}
	run, err := e.commands("bootcmd")
	if err != nil {
		return err
	}
	// cloud-init gives bootcmd the instance id in INSTANCE_ID.
	if err := cloudconfig.RunCommands(ctx, run, "bootcmd", c.Bootcmd, "INSTANCE_ID="+e.InstanceID); err != nil {
		return fatal(err)
	}
	e.note("%d bootcmd commands", len(c.Bootcmd))
	return nil
}

func cloudWriteFiles(ctx context.Context, e *Env) error         { return writeFiles(e, false) }
func cloudWriteFilesDeferred(ctx context.Context, e *Env) error { return writeFiles(e, true) }

func writeFiles(e *Env, deferred bool) error {
	c := e.cloudConfig()
	name := map[bool]string{false: "write_files", true: "write_files with defer: true"}[deferred]
	if c == nil || !hasFiles(c, deferred) {
		return skip("no %s in user-data", name)
	}
	n, err := cloudconfig.WriteFiles(e.Root, c.WriteFiles, deferred, e.Log)
	if err != nil {
		return fatal(err)
	}
	e.note("%d files written", n)
	return nil
}

func hasFiles(c *cloudconfig.Config, deferred bool) bool {
	for _, f := range c.WriteFiles {
		if f.Defer == deferred {
			return true
		}
	}
	return false
}

// cloudUsers creates user-data's groups and users and sets chpasswd's
// passwords on the image's accounts. The plan's own user (the default
// user) was made by the user step.
func cloudUsers(ctx context.Context, e *Env) error {
	c := e.cloudConfig()
	if c == nil || len(c.Groups) == 0 && len(e.Plan.Cloud.Users) == 0 && len(e.Plan.Cloud.Passwords) == 0 {
		return skip("no users, groups or chpasswd in user-data")
	}
	m := e.accountManager()
	var done []string
	for _, g := range c.Groups {
		created, err := m.EnsureGroup(ctx, g.Name)
		if err != nil {
			return fmt.Errorf("groups (user-data line %d): %w", g.Line, err)
		}
		if created {
			done = append(done, "group "+g.Name)
		}
	}
	// Members of groups join them along with the users' own groups.
	members := map[string][]string{}
	for _, g := range c.Groups {
		for _, u := range g.Members {
			members[u] = append(members[u], g.Name)
		}
	}
	ensure := func(u users.User) error {
		u.Groups = append(u.Groups, members[u.Name]...)
		delete(members, u.Name)
		a, err := e.CreateUser(e.Root, u, e.Log)
		if err != nil {
			return fatal(fmt.Errorf("user-data user %s: %w", u.Name, err))
		}
		if len(u.Keys) > 0 {
			if err := users.StoreKeys(e.Root, e.StateDir, a.Name, u.Keys); err != nil {
				return fmt.Errorf("user %s: %w", a.Name, err)
			}
		}
		done = append(done, "user "+u.Name)
		return nil
	}
	for _, u := range e.Plan.Cloud.Users {
		if err := ensure(u); err != nil {
			return err
		}
	}
	for _, u := range e.Plan.Cloud.Passwords {
		if err := ensure(u); err != nil {
			return err
		}
	}
	// The rest are existing accounts, or the default user: they only join.
	for name, gs := range members {
		if err := ensure(users.User{Name: name, Groups: gs, AllowSystem: true}); err != nil {
			return err
		}
	}
	e.note("%s", strings.Join(done, ", "))
	return nil
}

func cloudPackages(ctx context.Context, e *Env) error {
	c := e.cloudConfig()
	if c == nil || len(c.Packages) == 0 && !c.PackageUpdate && !c.PackageUpgrade {
		return skip("no packages, package_update or package_upgrade in user-data")
	}
	pm := cloudconfig.DetectPackageManager(e.Root)
	cmds, err := cloudconfig.PackageCommands(pm, c)
	if err != nil {
		return fatal(fmt.Errorf("user-data's packages: %w", err))
	}
	run, err := e.commands("packages")
	if err != nil {
		return err
	}
	for _, argv := range cmds {
		// Mirrors and networks fail: a retry of the deployment may help.
		if err := cmdrun.Run(ctx, run, argv...); err != nil {
			return fmt.Errorf("user-data's packages: %w", err)
		}
	}
	e.note("%s: %d packages", pm, len(c.Packages))
	return nil
}

// cloudRuncmd runs runcmd, then a #! user-data script, once per instance,
// as cloud-init's scripts_user does.
func cloudRuncmd(ctx context.Context, e *Env) error {
	c := e.cloudConfig()
	script := e.Plan.Cloud.Script
	if (c == nil || len(c.Runcmd) == 0) && script == nil {
		return skip("no runcmd and no #! script in user-data")
	}
	run, err := e.commands("runcmd")
	if err != nil {
		return err
	}
	if c != nil {
		if err := cloudconfig.RunCommands(ctx, run, "runcmd", c.Runcmd); err != nil {
			return fatal(err)
		}
	}
	if script != nil {
		// Kept in the runtime directory (a tmpfs), like the clear
		// environment: it is user input and may hold secrets.
		name := e.runtimePath("user-data.script")
		if err := e.mkdirAll(path.Dir(name), 0o700); err != nil {
			return err
		}
		if err := e.writeFile(name, script, 0o700); err != nil {
			return fmt.Errorf("writing the user-data script: %w", err)
		}
		defer e.remove(name)
		if err := cmdrun.Run(ctx, run, e.hostPath(name)); err != nil {
			return fatal(fmt.Errorf("user-data script: %w", err))
		}
	}
	n := 0
	if c != nil {
		n = len(c.Runcmd)
	}
	e.note("%d runcmd commands, #! script: %v", n, script != nil)
	return nil
}

// cloudFinal posts phone_home, logs final_message and schedules
// power_state for after the ready event.
func cloudFinal(ctx context.Context, e *Env) error {
	c := e.cloudConfig()
	if c == nil || c.PhoneHome == nil && c.FinalMessage == nil && c.PowerState == nil {
		return skip("no phone_home, final_message or power_state in user-data")
	}
	var done []string
	if ph := c.PhoneHome; ph != nil {
		client := &http.Client{Timeout: 30 * time.Second}
		if err := cloudconfig.PostPhoneHome(ctx, client, ph, e.phoneHomeValues()); err != nil {
			return err
		}
		done = append(done, "phoned home")
	}
	if c.FinalMessage != nil {
		msg := e.finalMessage(*c.FinalMessage)
		e.Log.Info("final_message", "message", msg)
		done = append(done, msg)
	}
	if ps := c.PowerState; ps != nil {
		run, err := e.commands("power_state")
		if err != nil {
			return err
		}
		argv := cloudconfig.PowerArgv(ps)
		e.afterReady = append(e.afterReady, func() {
			e.Log.Info("power_state: after ready", "argv", strings.Join(argv, " "))
			if err := cmdrun.Run(context.Background(), run, argv...); err != nil {
				e.Log.Error("power_state failed", "err", err)
			}
		})
		done = append(done, "power_state "+ps.Mode+" after ready")
	}
	e.note("%s", strings.Join(done, "; "))
	return nil
}

// phoneHomeValues are the fields phone_home may post: the embedded
// server's host keys, the instance id and the host name.
func (e *Env) phoneHomeValues() map[string]string {
	v := map[string]string{"instance_id": e.InstanceID}
	h := hostnameOf(e)
	v["fqdn"] = h
	v["hostname"], _, _ = strings.Cut(h, ".")
	for _, s := range e.hostKeys().Signers() {
		pub := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey())))
		switch s.PublicKey().Type() {
		case gossh.KeyAlgoED25519:
			v["pub_key_ed25519"] = pub
		case gossh.KeyAlgoRSA:
			v["pub_key_rsa"] = pub
		case gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521:
			v["pub_key_ecdsa"] = pub
		}
	}
	return v
}

// finalMessage fills in cloud-init's variables.
func (e *Env) finalMessage(msg string) string {
	src := ""
	if e.Source != nil {
		src = e.Source.Transport
	}
	return strings.NewReplacer("$TIMESTAMP", e.Now().UTC().Format(time.RFC1123Z), "$DATASOURCE", "ovfinit "+src,
		"$INSTANCE_ID", e.InstanceID, "$VERSION", "ovfinit", "$UPTIME", uptime(e)).Replace(msg)
}

// uptime reads /proc/uptime's seconds; "" when there is none.
func uptime(e *Env) string {
	b, err := e.readFile("/proc/uptime")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// hostPath is name under Root as a host path: for messages, and for the
// user-data script, which runs on the live system only.
func (e *Env) hostPath(name string) string {
	return filepath.Join(rootOrSlash(e.Root), filepath.FromSlash(name))
}
