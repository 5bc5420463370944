package agent

import (
	"fmt"
	"strconv"
	"strings"

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
)

func planUser(r *propReader, p *Plan) {
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
	}{{PropUserAdmin, &p.User.Admin}, {PropUserLockPasswd, &p.User.LockPassword}, {PropUserExpire, &p.User.ExpirePassword}} {
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
