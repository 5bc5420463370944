package netcfg

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Config is the network configuration the environment asks for: one NIC with
// a static IPv4 address.
type Config struct {
	// MAC selects the NIC. Nil means the first ethernet NIC.
	MAC net.HardwareAddr
	// Address is the address with its prefix length, e.g. 10.0.2.15/24.
	Address netip.Prefix
	// Gateway is the default gateway; the zero Addr means no default route.
	Gateway netip.Addr
	// DNS lists the name servers, in order.
	DNS []netip.Addr
}

// Link is what Plan needs to know about one network interface.
type Link struct {
	Index    int
	Name     string
	MAC      net.HardwareAddr
	Ethernet bool // a physical-looking ethernet device (not loopback, bridge, veth peer of a container...)
	Up       bool
	MTU      int
}

// Op is one change to the machine, in the order Plan returns them. Its
// String form reads like the ip(8) command that does the same.
type Op struct {
	Kind   OpKind
	Link   string       // interface name
	Prefix netip.Prefix // for OpAddrReplace
	Via    netip.Addr   // for OpRouteDefault
	DNS    []netip.Addr // for OpDNS
}

// OpKind names what an Op does.
type OpKind int

const (
	OpLinkUp OpKind = iota + 1
	OpAddrReplace
	OpRouteDefault
	OpDNS
)

func (o Op) String() string {
	switch o.Kind {
	case OpLinkUp:
		return "link set " + o.Link + " up"
	case OpAddrReplace:
		return "addr replace " + o.Prefix.String() + " dev " + o.Link
	case OpRouteDefault:
		return "route replace default via " + o.Via.String() + " dev " + o.Link
	case OpDNS:
		s := make([]string, len(o.DNS))
		for i, a := range o.DNS {
			s[i] = a.String()
		}
		return "dns set " + strings.Join(s, " ")
	}
	return fmt.Sprintf("op(%d)", o.Kind)
}

// Errors Plan returns; callers match them with errors.Is.
var (
	ErrNoSuchMAC    = errors.New("no network interface has this MAC address")
	ErrNoEthernet   = errors.New("no ethernet network interface found")
	ErrBadAddress   = errors.New("not a usable IPv4 address with prefix length")
	ErrBadGateway   = errors.New("gateway is not usable with this address")
	ErrBadDNSServer = errors.New("not a usable DNS server address")
)

// FieldError is a problem with one field of a Config. Field is "mac",
// "address", "gateway" or "dns", so a caller can name the input it came from.
type FieldError struct {
	Field string
	Err   error
	Value string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: %v: %s", e.Field, e.Err, e.Value)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks a Config on its own, without looking at the machine. It
// returns every problem, joined.
func Validate(c Config) error {
	var errs []error
	if !c.Address.IsValid() || !c.Address.Addr().Is4() || c.Address.Bits() < 1 || c.Address.Bits() > 32 ||
		c.Address.Addr().IsUnspecified() || c.Address.Addr().IsMulticast() || c.Address.Addr().IsLoopback() {
		errs = append(errs, &FieldError{Field: "address", Err: ErrBadAddress, Value: c.Address.String()})
	} else if c.Address.Bits() < 31 && (c.Address.Addr() == c.Address.Masked().Addr() || c.Address.Addr() == lastAddr(c.Address)) {
		errs = append(errs, &FieldError{Field: "address", Err: fmt.Errorf("%w (it is the network or broadcast address)", ErrBadAddress), Value: c.Address.String()})
	}
	if c.Gateway.IsValid() {
		switch {
		case !c.Gateway.Is4():
			errs = append(errs, &FieldError{Field: "gateway", Err: fmt.Errorf("%w: not IPv4", ErrBadGateway), Value: c.Gateway.String()})
		case c.Address.IsValid() && !c.Address.Masked().Contains(c.Gateway):
			errs = append(errs, &FieldError{Field: "gateway", Err: fmt.Errorf("%w: outside %s", ErrBadGateway, c.Address.Masked()), Value: c.Gateway.String()})
		case c.Gateway == c.Address.Addr():
			errs = append(errs, &FieldError{Field: "gateway", Err: fmt.Errorf("%w: it is the address itself", ErrBadGateway), Value: c.Gateway.String()})
		}
	}
	for _, d := range c.DNS {
		if !d.IsValid() || d.IsUnspecified() || d.IsMulticast() {
			errs = append(errs, &FieldError{Field: "dns", Err: ErrBadDNSServer, Value: d.String()})
		}
	}
	return errors.Join(errs...)
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Plan turns the desired configuration and the machine's links into the
// operations that apply it. It changes nothing and is pure; every error is
// found here, before any operation runs.
func Plan(c Config, links []Link) ([]Op, error) {
	if err := Validate(c); err != nil {
		return nil, err
	}
	l, err := pickLink(c.MAC, links)
	if err != nil {
		return nil, err
	}
	ops := []Op{}
	if !l.Up {
		ops = append(ops, Op{Kind: OpLinkUp, Link: l.Name})
	}
	ops = append(ops, Op{Kind: OpAddrReplace, Link: l.Name, Prefix: c.Address})
	if c.Gateway.IsValid() {
		ops = append(ops, Op{Kind: OpRouteDefault, Link: l.Name, Via: c.Gateway})
	}
	if len(c.DNS) > 0 {
		ops = append(ops, Op{Kind: OpDNS, DNS: c.DNS})
	}
	return ops, nil
}

func pickLink(mac net.HardwareAddr, links []Link) (Link, error) {
	if mac != nil {
		for _, l := range links {
			if bytes.Equal(l.MAC, mac) {
				return l, nil
			}
		}
		return Link{}, &FieldError{Field: "mac", Err: ErrNoSuchMAC, Value: mac.String()}
	}
	best := -1
	for i, l := range links {
		if l.Ethernet && (best < 0 || l.Index < links[best].Index) {
			best = i
		}
	}
	if best < 0 {
		return Link{}, &FieldError{Field: "mac", Err: ErrNoEthernet}
	}
	return links[best], nil
}

// ResolvConf renders /etc/resolv.conf for the given servers.
func ResolvConf(dns []netip.Addr) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by ovfinit from the OVF environment (ovfinit.net.dns).\n")
	for _, d := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", d)
	}
	return b.Bytes()
}
