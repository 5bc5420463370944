package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/ovfinit/ovfinit/netcfg"
)

// planNetwork reads the ovfinit.net.* properties and plans them against the
// machine's links. Only an error listing the links is returned; property
// problems go to bad.
func planNetwork(r *propReader, p *Plan, links func() ([]netcfg.Link, error)) error {
	env, bad := r.env, r.bad
	addr, ok := env.Property(PropNetAddress)
	addr = strings.TrimSpace(addr)
	if !ok || addr == "" {
		for _, k := range []string{PropNetGateway, PropNetDNS, PropNetMAC} {
			if v, ok := env.Property(k); ok && strings.TrimSpace(v) != "" {
				bad(k, fmt.Errorf("set without %s", PropNetAddress))
			}
		}
		return nil
	}
	cfg := &netcfg.Config{}
	ok = true
	pfx, err := netip.ParsePrefix(addr)
	if err != nil {
		bad(PropNetAddress, fmt.Errorf("want an IPv4 address with prefix length such as 10.0.2.15/24, got %q", addr))
		ok = false
	}
	cfg.Address = pfx
	if v, _ := env.Property(PropNetGateway); strings.TrimSpace(v) != "" {
		gw, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			bad(PropNetGateway, fmt.Errorf("not an IP address: %q", v))
			ok = false
		}
		cfg.Gateway = gw
	}
	if v, _ := env.Property(PropNetDNS); strings.TrimSpace(v) != "" {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			a, err := netip.ParseAddr(f)
			if err != nil {
				bad(PropNetDNS, fmt.Errorf("not an IP address: %q", f))
				ok = false
				continue
			}
			cfg.DNS = append(cfg.DNS, a)
		}
	}
	macKey := PropNetMAC
	macText := ""
	if v, _ := env.Property(PropNetMAC); strings.TrimSpace(v) != "" {
		macText = strings.TrimSpace(v)
	} else if len(env.Adapters) == 1 {
		macKey, macText = "ve:Adapter ve:mac", env.Adapters[0].MAC
	}
	if macText != "" {
		m, err := net.ParseMAC(macText)
		if err != nil || len(m) != 6 {
			bad(macKey, fmt.Errorf("not an ethernet MAC address: %q", macText))
			ok = false
		}
		cfg.MAC = m
	}
	if !ok {
		return nil
	}
	// Map the netcfg field names back to the properties they came from.
	field := map[string]string{"mac": macKey, "address": PropNetAddress, "gateway": PropNetGateway, "dns": PropNetDNS}
	report := func(err error) {
		var fe *netcfg.FieldError
		if errors.As(err, &fe) {
			bad(field[fe.Field], fe)
			return
		}
		bad(PropNetAddress, err)
	}
	if err := netcfg.Validate(*cfg); err != nil {
		for _, e := range unjoin(err) {
			report(e)
		}
		return nil
	}
	ll, err := links()
	if err != nil {
		return fmt.Errorf("reading the machine's network interfaces: %w", err)
	}
	ops, err := netcfg.Plan(*cfg, ll)
	if err != nil {
		for _, e := range unjoin(err) {
			report(e)
		}
		return nil
	}
	p.Net, p.NetOps = cfg, ops
	return nil
}
