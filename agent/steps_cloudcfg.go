package agent

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"

	"github.com/ovfinit/ovfinit/cloudconfig"
	"github.com/ovfinit/ovfinit/users"
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

// idleBootcmd and the other idle functions are the steps' Idle: why the
// step has nothing to do this boot, "" when it has.
func idleBootcmd(e *Env) string {
	if c := e.cloudConfig(); c == nil || len(c.Bootcmd) == 0 {
		return "no bootcmd in user-data"
	}
	return ""
}

func cloudBootcmd(ctx context.Context, e *Env) (Result, error) {
	if why := idleBootcmd(e); why != "" {
		return skipped("%s", why), nil
	}
	c := e.cloudConfig()
	run, err := e.commands("bootcmd")
	if err != nil {
		return Result{}, err
	}
	// cloud-init gives bootcmd the instance id in INSTANCE_ID.
	if err := cloudconfig.RunCommands(ctx, run, "bootcmd", c.Bootcmd, "INSTANCE_ID="+e.InstanceID); err != nil {
		return Result{}, fatal(err)
	}
	return noted("%d bootcmd commands", len(c.Bootcmd)), nil
}

func cloudWriteFiles(ctx context.Context, e *Env) (Result, error)         { return writeFiles(e, false) }
func cloudWriteFilesDeferred(ctx context.Context, e *Env) (Result, error) { return writeFiles(e, true) }

func idleWriteFiles(e *Env) string         { return idleFiles(e, false) }
func idleWriteFilesDeferred(e *Env) string { return idleFiles(e, true) }

func idleFiles(e *Env, deferred bool) string {
	if c := e.cloudConfig(); c == nil || !hasFiles(c, deferred) {
		return "no " + map[bool]string{false: "write_files", true: "write_files with defer: true"}[deferred] + " in user-data"
	}
	return ""
}

func writeFiles(e *Env, deferred bool) (Result, error) {
	if why := idleFiles(e, deferred); why != "" {
		return skipped("%s", why), nil
	}
	c := e.cloudConfig()
	n, err := cloudconfig.WriteFiles(e.Root, c.WriteFiles, deferred, e.Log)
	if err != nil {
		return Result{}, fatal(err)
	}
	return noted("%d files written", n), nil
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
func idleCloudUsers(e *Env) string {
	if c := e.cloudConfig(); c == nil || len(c.Groups) == 0 && len(e.Plan.Cloud.Users) == 0 && len(e.Plan.Cloud.Passwords) == 0 {
		return "no users, groups or chpasswd in user-data"
	}
	return ""
}

func cloudUsers(ctx context.Context, e *Env) (Result, error) {
	if why := idleCloudUsers(e); why != "" {
		return skipped("%s", why), nil
	}
	c := e.cloudConfig()
	m := e.accountManager()
	done, err := c.EnsureAccounts(ctx, e.Plan.Cloud.accounts(e.Plan.User), m.EnsureGroup, func(u users.User) error {
		a, err := e.CreateUser(e.Root, u, e.Log)
		if err != nil {
			return fatal(fmt.Errorf("user-data user %s: %w", u.Name, err))
		}
		if len(u.Keys) > 0 {
			if err := users.StoreKeys(e.Root, e.StateDir, a.Name, u.Keys); err != nil {
				return fmt.Errorf("user %s: %w", a.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return noted("%s", strings.Join(done, ", ")), nil
}

func idlePackages(e *Env) string {
	if c := e.cloudConfig(); c == nil || len(c.Packages) == 0 && !c.PackageUpdate && !c.PackageUpgrade {
		return "no packages, package_update or package_upgrade in user-data"
	}
	return ""
}

func cloudPackages(ctx context.Context, e *Env) (Result, error) {
	if why := idlePackages(e); why != "" {
		return skipped("%s", why), nil
	}
	c := e.cloudConfig()
	pm := cloudconfig.DetectPackageManager(e.Root)
	cmds, err := cloudconfig.PackageCommands(pm, c)
	if err != nil {
		return Result{}, fatal(fmt.Errorf("user-data's packages: %w", err))
	}
	run, err := e.commands("packages")
	if err != nil {
		return Result{}, err
	}
	for _, argv := range cmds {
		// Mirrors and networks fail: a retry of the deployment may help.
		if err := cmdrun.Run(ctx, run, argv...); err != nil {
			return Result{}, fmt.Errorf("user-data's packages: %w", err)
		}
	}
	return noted("%s: %d packages", pm, len(c.Packages)), nil
}

// cloudRuncmd runs runcmd, then a #! user-data script, once per instance,
// as cloud-init's scripts_user does.
func idleRuncmd(e *Env) string {
	if c := e.cloudConfig(); (c == nil || len(c.Runcmd) == 0) && (e.Plan == nil || e.Plan.Cloud.Script == nil) {
		return "no runcmd and no #! script in user-data"
	}
	return ""
}

func cloudRuncmd(ctx context.Context, e *Env) (Result, error) {
	if why := idleRuncmd(e); why != "" {
		return skipped("%s", why), nil
	}
	c := e.cloudConfig()
	script := e.Plan.Cloud.Script
	run, err := e.commands("runcmd")
	if err != nil {
		return Result{}, err
	}
	if c != nil {
		if err := cloudconfig.RunCommands(ctx, run, "runcmd", c.Runcmd); err != nil {
			return Result{}, fatal(err)
		}
	}
	if script != nil {
		// In the runtime directory (a tmpfs), like the clear environment.
		if err := cloudconfig.RunScript(ctx, run, e.Root, e.runtimeDir(), script); err != nil {
			return Result{}, fatal(err)
		}
	}
	n := 0
	if c != nil {
		n = len(c.Runcmd)
	}
	return noted("%d runcmd commands, #! script: %v", n, script != nil), nil
}

// cloudFinal posts phone_home, logs final_message and schedules
// power_state for after the ready event.
func idleCloudFinal(e *Env) string {
	if c := e.cloudConfig(); c == nil || c.PhoneHome == nil && c.FinalMessage == nil && c.PowerState == nil {
		return "no phone_home, final_message or power_state in user-data"
	}
	return ""
}

func cloudFinal(ctx context.Context, e *Env) (Result, error) {
	if why := idleCloudFinal(e); why != "" {
		return skipped("%s", why), nil
	}
	c := e.cloudConfig()
	var done []string
	if ph := c.PhoneHome; ph != nil {
		client := &http.Client{Timeout: 30 * time.Second}
		if err := cloudconfig.PostPhoneHome(ctx, client, ph, cloudconfig.PhoneHomeValues(e.InstanceID, hostnameOf(e), e.hostPublicKeys())); err != nil {
			return Result{}, err
		}
		done = append(done, "phoned home")
	}
	if c.FinalMessage != nil {
		msg := cloudconfig.FinalMessage(*c.FinalMessage, e.finalVars())
		e.Log.Info("final_message", "message", msg)
		done = append(done, msg)
	}
	if ps := c.PowerState; ps != nil {
		run, err := e.commands("power_state")
		if err != nil {
			return Result{}, err
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
	return noted("%s", strings.Join(done, "; ")), nil
}

// finalVars are final_message's variables.
func (e *Env) finalVars() cloudconfig.FinalVars {
	v := cloudconfig.FinalVars{Now: e.Now(), InstanceID: e.InstanceID, Root: e.Root}
	if e.Source != nil {
		v.Datasource = e.Source.Transport
	}
	return v
}
