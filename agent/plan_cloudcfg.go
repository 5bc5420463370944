package agent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/cloudconfig"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// CloudPlan is what ovfinit takes over from cloud-init: the image's default
// user, and #cloud-config user-data.
type CloudPlan struct {
	// DefaultUserFrom says where the plan's user came from when no
	// ovfinit.user property names one: a cloud.cfg file or os-release.
	// "": the user is ovfinit.user's, or DefaultUser.
	DefaultUserFrom string
}

// userPropsSet reports whether the environment sets ovfinit.user or any
// ovfinit.user.* property: then the user is ovfinit's model, not
// cloud-init's default user.
func userPropsSet(env *ovfenv.Environment) bool {
	for _, p := range env.Properties {
		k := ovfenv.NormalizeKey(p.Key)
		if (k == PropUser || strings.HasPrefix(k, PropUser+".")) && !ovfenv.IsUnset(p.Value) && strings.TrimSpace(p.Value) != "" {
			return true
		}
	}
	return false
}

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
	u := p.User
	u.Name = du.Name
	u.Shell = du.Shell
	u.PrimaryGroup = du.PrimaryGroup
	for _, rule := range du.Sudo {
		if !cloudconfig.AdminRule(rule) {
			return fmt.Errorf("the image's default user %s (%s): sudo rule %q is not supported: ovfinit writes only %q (set %s to choose another user)",
				du.Name, du.Source, rule, "ALL=(ALL) NOPASSWD:ALL", PropUser)
		}
		u.Admin = true
	}
	u.Groups = nil
	for _, g := range du.Groups {
		if u.Admin && slices.Contains([]string{"sudo", "wheel", "admin"}, g) {
			continue // the administrator setting adds sudo and wheel where they exist
		}
		u.Groups = append(u.Groups, g)
	}
	// The image builder chose these groups (adm, say), not the
	// environment: the system-account policy's refusals are warnings.
	u.AllowSystem = true
	u.LockPassword = du.LockPasswd && !u.Password.Set()
	p.User = u
	p.Cloud.DefaultUserFrom = du.Source
	return nil
}

// planCloud is validate's part for what cloud-init would have read: the
// image's default user and #cloud-config user-data. It needs the image
// (root), so it runs after BuildPlan and before the user is checked
// against the image's accounts.
func planCloud(e *Env, p *Plan) error {
	if err := planImageUser(e.OVF, p, e.Root); err != nil {
		return err
	}
	if p.Cloud.DefaultUserFrom != "" {
		e.Log.Info("no ovfinit.user property: public-keys and password go to the image's default user, as in cloud-init",
			"user", p.User.Name, "from", p.Cloud.DefaultUserFrom)
	}
	return nil
}
