package agent

import (
	"errors"
	"fmt"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

// userFieldProps names the property behind each field a users.FieldError
// can name.
var userFieldProps = map[string]string{
	users.FieldName:   ovfenv.KeyUser.Name,
	users.FieldUID:    ovfenv.KeyUserUID.Name,
	users.FieldGroup:  ovfenv.KeyUserGroup.Name,
	users.FieldGroups: ovfenv.KeyUserGroups.Name,
	users.FieldHome:   ovfenv.KeyUserHome.Name,
	users.FieldShell:  ovfenv.KeyUserShell.Name,
}

// userProblem turns a problem the users package found into a
// PropertyError naming the property behind it.
func userProblem(env *ovfenv.Environment, err error, accepted bool) *PropertyError {
	key := ovfenv.KeyUser.Name
	var fe *users.FieldError
	if errors.As(err, &fe) {
		if k, ok := userFieldProps[fe.Field]; ok {
			key = k
		}
		if fe.System && !accepted {
			err = fmt.Errorf("%w (set %s=true to accept it)", err, ovfenv.KeyUserAllowSystem.Name)
		} else if fe.System {
			err = fmt.Errorf("%w: accepted because %s=true", err, ovfenv.KeyUserAllowSystem.Name)
		}
	}
	return &PropertyError{Key: key, Line: env.PropertyLine(key), Err: err}
}

func planUser(r *propReader, p *Plan) {
	before := len(r.errs)
	p.User.Name = ovfenv.KeyUser.Default
	if v, ok := r.text(ovfenv.KeyUser); ok {
		if err := users.ValidateName(v); err != nil {
			r.bad(ovfenv.KeyUser.Name, err)
		} else {
			p.User.Name = v
		}
	}
	if v, ok := r.env.Property(ovfenv.KeyPublicKeys.Name); ok {
		keys, err := users.ParseKeys(v)
		if err != nil {
			r.bad(ovfenv.KeyPublicKeys.Name, err)
		}
		p.User.Keys = keys
	}
	// The password is read as is (not trimmed): spaces may be part of it.
	// Its value never goes into an error message.
	if v, ok := r.env.Property(ovfenv.KeyPassword.Name); ok && v != "" {
		if err := users.CheckPassword(v); err != nil {
			r.bad(ovfenv.KeyPassword.Name, err)
		} else {
			p.User.Password = users.NewPassword(v)
		}
	}
	p.User.UID = r.int(ovfenv.KeyUserUID)
	if v, ok := r.text(ovfenv.KeyUserGroup); ok {
		if err := users.ValidateName(v); err != nil {
			r.bad(ovfenv.KeyUserGroup.Name, err)
		} else {
			p.User.PrimaryGroup = v
		}
	}
	if groups, ok := r.list(ovfenv.KeyUserGroups); ok {
		for _, g := range groups {
			if err := users.ValidateName(g); err != nil {
				r.bad(ovfenv.KeyUserGroups.Name, err)
				continue
			}
			p.User.Groups = append(p.User.Groups, g)
		}
	}
	// Shell and home are left empty when unset: their defaults (/bin/sh,
	// /home/USER) are for a new account only, and users applies them there;
	// an existing account keeps its own.
	for _, pp := range []struct {
		key ovfenv.Key
		dst *string
	}{{ovfenv.KeyUserShell, &p.User.Shell}, {ovfenv.KeyUserHome, &p.User.Home}} {
		if v, ok := r.text(pp.key); ok {
			if err := users.CheckPath(v); err != nil {
				r.bad(pp.key.Name, err)
			} else {
				*pp.dst = v
			}
		}
	}
	p.User.Admin = r.bool(ovfenv.KeyUserAdmin)
	p.User.LockPassword = r.bool(ovfenv.KeyUserLockPassword)
	p.User.ExpirePassword = r.bool(ovfenv.KeyUserExpirePassword)
	p.User.AllowSystem = r.bool(ovfenv.KeyUserAllowSystem)
	if p.User.ExpirePassword && !p.User.Password.Set() {
		r.bad(ovfenv.KeyUserExpirePassword.Name, fmt.Errorf("needs a password (property %s) to change at first login", ovfenv.KeyPassword.Name))
	}
	p.userInvalid = len(r.errs) > before
	// The system-account policy, as far as it needs no image: Validate
	// checks the rest against the image's accounts (CheckUserOnImage).
	warnings, errs := users.CheckRequest(p.User)
	for _, err := range errs {
		r.errs = append(r.errs, userProblem(r.env, err, false))
	}
	for _, w := range warnings {
		p.Warnings = append(p.Warnings, userProblem(r.env, w, true))
	}
}

// CheckUserOnImage checks the plan's user against the accounts of the OS
// tree at root (the live system is "/"): clashes with existing users,
// groups and homes, and the system-account policy where it needs the
// image (login.defs' uid range, /etc/shells). It changes nothing. Errors
// are PropertyErrors, all at once; warnings are what
// ovfinit.user.allow-system accepted. A tree without /etc/passwd (Windows)
// is not checked, nor a user whose properties are already wrong.
// protected are more directories no home may be in (ovfinit's state and
// runtime directories, under root).
func CheckUserOnImage(env *ovfenv.Environment, p *Plan, root string, protected ...string) (warnings []*PropertyError, err error) {
	if p.userInvalid {
		return nil, nil
	}
	im, err := users.ReadImage(root)
	if errors.Is(err, users.ErrNoAccounts) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checking user %s against the image: %w", p.User.Name, err)
	}
	for _, d := range protected {
		if d != "" {
			im.Protected = append(im.Protected, d)
		}
	}
	w, errs := im.Check(p.User)
	var out []error
	for _, e := range errs {
		out = append(out, userProblem(env, e, false))
	}
	for _, e := range w {
		warnings = append(warnings, userProblem(env, e, true))
	}
	return warnings, errors.Join(out...)
}
