package ovfenv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// SecretGuestinfoKeys returns the direct guestinfo keys of src (its Extra
// properties, read from guestinfo.ovfinit.*) whose values are secrets
// (IsSecret) and set, without the "guestinfo." prefix: what WipeGuestinfo
// should clear once they have been used. It is empty for every other
// transport.
func SecretGuestinfoKeys(src *Source) []string {
	if src == nil || src.Transport != TransportGuestinfo {
		return nil
	}
	var keys []string
	for _, p := range src.Extra {
		if IsSecret(p.Key) && !IsUnset(p.Value) {
			keys = append(keys, NormalizeKey(p.Key))
		}
	}
	return keys
}

// WipeGuestinfo sets the guestinfo variables guestinfo.KEY and
// guestinfo.KEY.encoding of every key to the empty string (which every
// reader, ours included, takes as unset), through the first channel that
// works: the native RPC channel (o.GuestinfoSet), `vmware-rpctool
// "info-set guestinfo.KEY "`, `vmtoolsd --cmd "info-set guestinfo.KEY "`.
// It returns every key it could not clear. The VM's configuration must let
// the guest set guestinfo (isolation.tools.setinfo.disable is FALSE, the
// default).
//
// guestinfo.ovfEnv cannot be wiped this way: vSphere rewrites it from the
// vApp options at every power-on, and a guest cannot edit one property of
// it.
func WipeGuestinfo(ctx context.Context, o TransportOptions, keys []string) error {
	if o.Offline {
		return fmt.Errorf("not clearing guestinfo: %s is an offline tree, not the running VM", o.Root)
	}
	if o.Run == nil {
		o.Run = cmdrun.Exec{Log: o.Log}
	}
	if o.GuestinfoSet == nil {
		o.GuestinfoSet = nativeGuestinfoSet
	}
	s := &guestinfoSetter{ctx: ctx, o: o}
	var errs []error
	for _, k := range keys {
		k = GuestinfoPrefix + NormalizeKey(k)
		for _, v := range []string{k, k + ".encoding"} {
			if err := s.clear(v); err != nil {
				errs = append(errs, fmt.Errorf("clearing %s: %w", v, err))
			}
		}
	}
	return errors.Join(errs...)
}

// guestinfoSetter clears guestinfo variables through the first channel that
// works, and keeps using it.
type guestinfoSetter struct {
	ctx     context.Context
	o       TransportOptions
	channel string
}

func (s *guestinfoSetter) clear(key string) error {
	channels := []struct {
		name string
		f    func() error
	}{
		{"rpc", func() error { return s.o.GuestinfoSet(key, "") }},
		{"vmware-rpctool", func() error { return s.runTool("vmware-rpctool", "info-set "+key+" ") }},
		{"vmtoolsd", func() error { return s.runTool("vmtoolsd", "--cmd", "info-set "+key+" ") }},
	}
	var tried []string
	for _, c := range channels {
		if s.channel != "" && s.channel != c.name {
			continue
		}
		err := c.f()
		if err == nil {
			s.channel = c.name
			return nil
		}
		tried = append(tried, fmt.Sprintf("%s: %v", c.name, err))
	}
	return fmt.Errorf("%w (%s)", errNoChannel, strings.Join(tried, "; "))
}

func (s *guestinfoSetter) runTool(name string, args ...string) error {
	return cmdrun.Run(s.ctx, s.o.Run, append([]string{name}, args...)...)
}
