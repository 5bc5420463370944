package agent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

// User properties (ovfenv/keys_users.go documents them).
const (
	PropPassword       = "password" // cloud-init's key: the default user's password
	PropUserUID        = "ovfinit.user.uid"
	PropUserGroup      = "ovfinit.user.group"
	PropUserGroups     = "ovfinit.user.groups"
	PropUserShell      = "ovfinit.user.shell"
	PropUserHome       = "ovfinit.user.home"
	PropUserAdmin      = "ovfinit.user.admin"
	PropUserLockPasswd = "ovfinit.user.lock-password"
	PropUserExpire     = "ovfinit.user.expire-password"
	PropUserAllowSys   = "ovfinit.user.allow-system"
)

// userFieldProps names the property behind each field a users.FieldError
// can name.
var userFieldProps = map[string]string{
	users.FieldName:   PropUser,
	users.FieldUID:    PropUserUID,
	users.FieldGroup:  PropUserGroup,
	users.FieldGroups: PropUserGroups,
	users.FieldHome:   PropUserHome,
	users.FieldShell:  PropUserShell,
}

// userProblem turns a problem the users package found into a
// PropertyError naming the property behind it.
func userProblem(env *ovfenv.Environment, err error, accepted bool) *PropertyError {
	key := PropUser
	var fe *users.FieldError
	if errors.As(err, &fe) {
		if k, ok := userFieldProps[fe.Field]; ok {
			key = k
		}
		if fe.System && !accepted {
			err = fmt.Errorf("%w (set %s=true to accept it)", err, PropUserAllowSys)
		} else if fe.System {
			err = fmt.Errorf("%w: accepted because %s=true", err, PropUserAllowSys)
		}
	}
	return &PropertyError{Key: key, Line: env.PropertyLine(key), Err: err}
}

func planUser(r *propReader, p *Plan) {
	before := len(r.errs)
	if v, ok := r.get(PropUser); ok {
		if err := users.ValidateName(v); err != nil {
			r.bad(PropUser, err)
		} else {
			p.User.Name = v
		}
	}
	if v, ok := r.env.Property(PropPublicKeys); ok {
		keys, err := users.ParseKeys(v)
		if err != nil {
			r.bad(PropPublicKeys, err)
		}
		p.User.Keys = keys
	}
	// The password is read as is (not trimmed): spaces may be part of it.
	// Its value never goes into an error message.
	if v, ok := r.env.Property(PropPassword); ok && v != "" {
		if strings.ContainsAny(v, "\n\r\x00:") && !users.IsHash(v) {
			r.bad(PropPassword, fmt.Errorf("must not contain a newline, NUL or ':'"))
		} else {
			p.User.Password = users.NewPassword(v)
		}
	}
	if v, ok := r.get(PropUserUID); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 60000 {
			r.bad(PropUserUID, fmt.Errorf("want a whole number from 1 to 60000, got %q", v))
		} else {
			p.User.UID = n
		}
	}
	if v, ok := r.get(PropUserGroup); ok {
		if err := users.ValidateName(v); err != nil {
			r.bad(PropUserGroup, err)
		} else {
			p.User.PrimaryGroup = v
		}
	}
	if v, ok := r.get(PropUserGroups); ok {
		for _, g := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == '\n' || c == ' ' }) {
			if err := users.ValidateName(g); err != nil {
				r.bad(PropUserGroups, err)
				continue
			}
			p.User.Groups = append(p.User.Groups, g)
		}
	}
	for _, pp := range []struct {
		key string
		dst *string
	}{{PropUserShell, &p.User.Shell}, {PropUserHome, &p.User.Home}} {
		if v, ok := r.get(pp.key); ok {
			if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, ":\n") {
				r.bad(pp.key, fmt.Errorf("want an absolute path without ':', got %q", v))
			} else {
				*pp.dst = v
			}
		}
	}
	for _, pp := range []struct {
		key string
		dst *bool
	}{{PropUserAdmin, &p.User.Admin}, {PropUserLockPasswd, &p.User.LockPassword}, {PropUserExpire, &p.User.ExpirePassword},
		{PropUserAllowSys, &p.User.AllowSystem}} {
		if v, ok := r.get(pp.key); ok {
			b, err := parseBool(v)
			if err != nil {
				r.bad(pp.key, err)
			} else {
				*pp.dst = b
			}
		}
	}
	if p.User.ExpirePassword && !p.User.Password.Set() {
		r.bad(PropUserExpire, fmt.Errorf("needs a password (property %s) to change at first login", PropPassword))
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

// parseBool reads a TypeBool value: true/false, yes/no, 1/0, any case.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %q", v)
}
