package netcfg

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
)

// recorder is a fake System: it records ops as text.
type recorder struct {
	cur Current
	ops []string
}

func (r *recorder) Current() (Current, error) { return r.cur, nil }
func (r *recorder) Apply(ctx context.Context, ops []Op) error {
	for _, o := range ops {
		r.ops = append(r.ops, o.String())
	}
	return nil
}

// BenchmarkPlanApply4NICs plans and applies (on a recording fake) a 4-NIC
// config: three static NICs with v4+v6 addresses, a gateway and a route
// each, and one DHCP NIC.
func BenchmarkPlanApply4NICs(b *testing.B) {
	var links []Link
	var cfg Config
	for i := range 4 {
		m := mac(fmt.Sprintf("52:54:00:00:01:%02x", i))
		links = append(links, Link{Index: i + 2, Name: fmt.Sprintf("eth%d", i), MAC: m, Ethernet: true, MTU: 1500})
		n := NIC{ID: fmt.Sprintf("nic%d", i), MAC: m}
		if i == 3 {
			n.DHCP4 = true
		} else {
			n.Addresses = []netip.Prefix{pfx(fmt.Sprintf("10.%d.0.5/24", i)), pfx(fmt.Sprintf("fd00:%d::5/64", i))}
			n.Gateway4 = ip(fmt.Sprintf("10.%d.0.1", i))
			n.Routes = []Route{{To: pfx(fmt.Sprintf("172.%d.0.0/16", 16+i)), Via: ip(fmt.Sprintf("10.%d.0.254", i)), Metric: 100}}
			n.DNS = []netip.Addr{ip(fmt.Sprintf("10.%d.0.53", i))}
		}
		cfg.NICs = append(cfg.NICs, n)
	}
	sys := &recorder{cur: Current{Links: links}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cur, _ := sys.Current()
		ops, _, err := Plan(cfg, cur, Applied{})
		if err != nil {
			b.Fatal(err)
		}
		sys.ops = sys.ops[:0]
		if err := sys.Apply(ctx, ops); err != nil {
			b.Fatal(err)
		}
	}
}
