package agent

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/cloudconfig"
	"github.com/ovfinit/ovfinit/hostname"
	"github.com/ovfinit/ovfinit/internal/errlist"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
	"github.com/ovfinit/ovfinit/users"
)

// CloudPlan is what ovfinit takes over from cloud-init: the image's default
// user, and #cloud-config user-data.
type CloudPlan struct {
	// DefaultUserFrom says where the plan's user came from when no
	// ovfinit.user property names one: a cloud.cfg file or os-release.
	// "": the user is ovfinit.user's, or DefaultUser.
	DefaultUserFrom string

	// Config is the #cloud-config user-data; nil: none. Its default-user
	// parts (user, password, ssh_authorized_keys, chpasswd for that user)
	// and host name are merged into the Plan; the rest is below.
	Config *cloudconfig.Config
	// NoDefaultUser: user-data's users list leaves out "default", so the
	// plan's user is not created (cloud-init creates no default user).
	NoDefaultUser bool
	// Users are user-data's users, in order.
	Users []users.User
	// Passwords are chpasswd's for accounts other than the plan's users.
	Passwords []users.User
	// Script is user-data that is a #! script, run as cloud-init runs it:
	// once per instance, after everything else.
	Script []byte

	parsed *cloudconfig.Config // as far as it parsed: its passwords are redacted
}

// userPropsSet reports whether the environment sets ovfinit.user or any
// ovfinit.user.* property: then the user is ovfinit's model, not
// cloud-init's default user.
func userPropsSet(env *ovfenv.Environment) bool { return env.SetUnder(ovfenv.KeyUser) }

// planImageUser gives public-keys and password to the image's default user
// when the environment is cloud-init's (no ovfinit.user* property), as
// cloud-init does: the user system_info.default_user in the image's
// /etc/cloud/cloud.cfg names, else the distribution's convention (debian
// on Debian). That user gets what cloud-init gives it: its groups, the
// passwordless sudo rule, its shell and a locked password unless the
// environment sets one. With neither, the user stays DefaultUser.
func planImageUser(env *ovfenv.Environment, p *Plan, root string) error {
	if userPropsSet(env) || p.userInvalid {
		return nil
	}
	du, err := cloudconfig.ImageDefaultUser(root)
	if err != nil {
		return fmt.Errorf("reading the image's default user: %w", err)
	}
	if du == nil {
		return nil
	}
	c := p.Cloud.Config
	u, err := du.Account(p.User, c != nil && c.DefaultUserName != "") // user-data's user: renames it
	if err != nil {
		return err
	}
	p.User = u
	p.Cloud.DefaultUserFrom = du.Source
	return nil
}

// planCloud is validate's part for what cloud-init would have read from
// the image: the default user, and user-data's users, groups and files
// checked against the image's accounts. It runs after BuildPlan (which
// reads user-data: planUserData) and before the user is checked against
// the image. The passwords user-data holds join the redactor first.
func planCloud(e *Env, p *Plan) error {
	if c := p.Cloud.parsed; c != nil && e.Redact != nil {
		e.Redact.Add(c.Secrets()...)
	}
	err := PlanImage(e.OVF, p, e.Root)
	if p.Cloud.DefaultUserFrom != "" {
		e.Log.Info("no ovfinit.user property: public-keys and password go to the image's default user, as in cloud-init",
			"user", p.User.Name, "from", p.Cloud.DefaultUserFrom)
	}
	return err
}

// PlanImage completes a plan with what the OS tree at root says (the live
// system is "/"): the image's default user (planImageUser), and
// #cloud-config's users, groups, chpasswd and write_files owners against
// the image's accounts. `ovfinit env validate --root` calls it too. Errors
// are PropertyErrors, all at once.
func PlanImage(env *ovfenv.Environment, p *Plan, root string) error {
	if err := planImageUser(env, p, root); err != nil {
		return err
	}
	if p.Cloud.Config == nil {
		return nil
	}
	// chpasswd for the default user, now that its name is known.
	keep := p.Cloud.Passwords[:0]
	for _, pw := range p.Cloud.Passwords {
		if pw.Name == p.User.Name && !p.Cloud.NoDefaultUser {
			p.User.Password, p.User.ExpirePassword, p.User.LockPassword = pw.Password, pw.ExpirePassword, false
			continue
		}
		keep = append(keep, pw)
	}
	p.Cloud.Passwords = keep
	var errs []error
	at := cloudAt(env, &errs)
	for _, e := range p.Cloud.Config.CheckOnImage(root, p.Cloud.accounts(p.User)) {
		at(e.Line, "%s: %v", e.Key, e.Err)
	}
	return errors.Join(errs...)
}

// planUserData reads user-data by its form: #cloud-config is parsed and
// merged into the plan, a #! script kept for the runcmd step, #!starlark
// left to planScript; any other form is refused.
func planUserData(r *propReader, p *Plan) {
	data := r.userData
	if data == nil {
		return
	}
	bad := userDataError(r.env)
	switch form := userDataForm(data); form {
	case "starlark", cloudconfig.FormNone:
		// planScript's, or nothing
	case cloudconfig.FormCloudConfig:
		c, err := cloudconfig.Parse(data)
		p.Cloud.parsed = c
		if err != nil {
			for _, x := range errlist.Flatten(err) {
				r.errs = append(r.errs, bad(fmt.Errorf("#cloud-config %w", x)))
			}
			return
		}
		if err := planCloudConfig(r.env, p, c); err != nil {
			r.errs = append(r.errs, errlist.Flatten(err)...)
		}
	case cloudconfig.FormScript:
		p.Cloud.Script = data
	default:
		r.errs = append(r.errs, bad(fmt.Errorf("%s user-data is not supported: ovfinit applies #cloud-config, a #! script or #!starlark (docs/cloud-config.md)", form)))
	}
}

// userDataError makes an error about user-data a PropertyError with its
// line in ovf-env.xml.
func userDataError(env *ovfenv.Environment) func(error) error {
	return func(err error) error {
		return &PropertyError{Key: ovfenv.KeyUserData.Name, Line: env.PropertyLine(ovfenv.KeyUserData.Name), Err: err}
	}
}

// cloudAt returns the function that records a problem at a line of the
// #cloud-config document (0: the line is not known).
func cloudAt(env *ovfenv.Environment, errs *[]error) func(line int, format string, args ...any) {
	bad := userDataError(env)
	return func(line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if line > 0 {
			*errs = append(*errs, bad(fmt.Errorf("#cloud-config line %d: %s", line, msg)))
		} else {
			*errs = append(*errs, bad(fmt.Errorf("#cloud-config: %s", msg)))
		}
	}
}

// userData returns the user-data property decoded (cloudconfig.UserData),
// as a PropertyError; nil when unset. BuildPlan decodes it once, for
// planScript and planUserData both.
func userData(env *ovfenv.Environment) ([]byte, error) {
	data, err := cloudconfig.UserData(env)
	if err != nil {
		return nil, userDataError(env)(err)
	}
	return data, nil
}

// userDataForm names the kind of user-data: "starlark" (scripts.Marker),
// or cloudconfig.Form's.
func userDataForm(data []byte) string {
	if scripts.IsStarlark(data) {
		return "starlark"
	}
	return cloudconfig.Form(data)
}

// planCloudConfig merges a #cloud-config document into the plan: the
// default user's parts and the host name into the Plan, the rest into
// p.Cloud, each checked.
func planCloudConfig(env *ovfenv.Environment, p *Plan, c *cloudconfig.Config) error {
	p.Cloud.Config = c
	var errs []error
	at := cloudAt(env, &errs)
	explicit := userPropsSet(env)
	// The default user: renamed by user:, dropped by a users list
	// without "default" (unless ovfinit.user names it explicitly).
	if c.DefaultUserName != "" {
		if explicit {
			at(c.Lines["user"], "user: %s set too: drop one of the two", ovfenv.KeyUser.Name)
		} else if err := users.ValidateName(c.DefaultUserName); err != nil {
			at(c.Lines["user"], "user: %v", err)
		} else {
			p.User.Name = c.DefaultUserName
		}
	}
	if c.UsersSet && !c.DefaultUser && !explicit {
		p.Cloud.NoDefaultUser = true
		for _, key := range []ovfenv.Key{ovfenv.KeyPublicKeys, ovfenv.KeyPassword} {
			if _, set := env.Text(key); set {
				k := key.Name
				errs = append(errs, &PropertyError{Key: k, Line: env.PropertyLine(k),
					Err: fmt.Errorf("goes to the default user, and user-data's users list leaves it out: add `- default` to users")})
			}
		}
		if len(c.SSHAuthorizedKeys) > 0 || c.Password != "" {
			at(c.Lines["users"], "ssh_authorized_keys and password go to the default user, and users leaves it out: add `- default`")
		}
	}
	if len(c.SSHAuthorizedKeys) > 0 {
		keys, err := users.ParseKeys(strings.Join(c.SSHAuthorizedKeys, "\n"))
		if err != nil {
			at(c.Lines["ssh_authorized_keys"], "ssh_authorized_keys: %v", err)
		}
		p.User.Keys = append(p.User.Keys, keys...)
	}
	if c.Password != "" {
		if p.User.Password.Set() {
			errs = append(errs, &PropertyError{Key: ovfenv.KeyPassword.Name, Line: env.PropertyLine(ovfenv.KeyPassword.Name),
				Err: fmt.Errorf("user-data's password sets the same user's password: drop one")})
		} else if err := cloudconfig.CheckPassword(c.Password); err != nil {
			at(c.Lines["password"], "password: %v", err)
		} else {
			p.User.Password = users.NewPassword(c.Password)
			p.User.ExpirePassword = c.Chpasswd == nil || c.Chpasswd.Expire
			p.User.LockPassword = false
		}
	}
	// ssh_pwauth: the embedded server's password logins.
	if c.SSHPwauth != nil {
		if _, set := env.Text(ovfenv.KeySSHPasswordAuth); set && p.SSH.PasswordAuth != *c.SSHPwauth {
			errs = append(errs, &PropertyError{Key: ovfenv.KeySSHPasswordAuth.Name, Line: env.PropertyLine(ovfenv.KeySSHPasswordAuth.Name),
				Err: fmt.Errorf("user-data's ssh_pwauth says %v", *c.SSHPwauth)})
		}
		p.SSH.PasswordAuth = *c.SSHPwauth
	}
	// hostname/fqdn win over the properties, as in cloud-init;
	// preserve_hostname keeps the image's.
	switch h := cmpOr(c.FQDN, c.Hostname); {
	case c.PreserveHostname:
		p.Hostname, p.HostnameKey = "", ""
	case h != "":
		if err := hostname.Syntax(h); err != nil {
			at(c.HostnameLine, "%v", err)
		} else {
			p.Hostname, p.HostnameKey = h, ovfenv.KeyUserData.Name
		}
	}
	// users and groups.
	names := map[string]int{}
	for _, cu := range c.Users {
		if l, dup := names[cu.Name]; dup {
			at(cu.Line, "users: %s is listed twice (first at line %d)", cu.Name, l)
			continue
		}
		names[cu.Name] = cu.Line
		u, warns, uerrs := cu.Account()
		for _, err := range uerrs {
			at(cu.Line, "users: %s: %v", cu.Name, err)
		}
		for _, w := range warns {
			p.Warnings = append(p.Warnings, &PropertyError{Key: ovfenv.KeyUserData.Name, Line: env.PropertyLine(ovfenv.KeyUserData.Name),
				Err: fmt.Errorf("#cloud-config line %d: users: %s: %v: accepted, as cloud-init does", cu.Line, cu.Name, w)})
		}
		p.Cloud.Users = append(p.Cloud.Users, u)
	}
	for _, g := range c.Groups {
		if err := users.ValidateName(g.Name); err != nil {
			at(g.Line, "groups: %v", err)
		}
		for _, m := range g.Members {
			if err := users.ValidateName(m); err != nil {
				at(g.Line, "groups: %s: member: %v", g.Name, err)
			}
		}
	}
	// chpasswd: the plan's users get theirs; other accounts must exist.
	if c.Chpasswd != nil {
		for _, cp := range c.Chpasswd.Users {
			if err := cloudconfig.CheckPassword(cp.Password); err != nil {
				at(cp.Line, "chpasswd: %s: %v", cp.Name, err)
				continue
			}
			pw := users.NewPassword(cp.Password)
			switch i := slices.IndexFunc(p.Cloud.Users, func(u users.User) bool { return u.Name == cp.Name }); {
			case cp.Name == p.User.Name && !p.Cloud.NoDefaultUser:
				p.User.Password, p.User.ExpirePassword, p.User.LockPassword = pw, c.Chpasswd.Expire, false
			case i >= 0:
				p.Cloud.Users[i].Password, p.Cloud.Users[i].ExpirePassword, p.Cloud.Users[i].LockPassword = pw, c.Chpasswd.Expire, false
			default:
				if err := users.ValidateName(cp.Name); err != nil {
					at(cp.Line, "chpasswd: %v", err)
					continue
				}
				p.Cloud.Passwords = append(p.Cloud.Passwords, users.User{Name: cp.Name, Password: pw, ExpirePassword: c.Chpasswd.Expire, AllowSystem: true})
			}
		}
	}
	return errors.Join(errs...)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// accounts are the accounts the plan ends with from user-data, for
// cloudconfig's checks and appliers.
func (c *CloudPlan) accounts(def users.User) cloudconfig.Accounts {
	return cloudconfig.Accounts{Default: def, NoDefault: c.NoDefaultUser, Users: c.Users, Passwords: c.Passwords}
}
