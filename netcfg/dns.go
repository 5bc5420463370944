package netcfg

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// ResolvedConf renders a systemd-resolved drop-in with global servers and
// search domains.
func ResolvedConf(dns []netip.Addr, search []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by ovfinit from the OVF environment.\n[Resolve]\n")
	if len(dns) > 0 {
		s := make([]string, len(dns))
		for i, d := range dns {
			s[i] = d.String()
		}
		fmt.Fprintf(&b, "DNS=%s\n", strings.Join(s, " "))
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "Domains=%s\n", strings.Join(search, " "))
	}
	return b.Bytes()
}

func parseResolvedConf(data []byte) ([]netip.Addr, []string) {
	var dns []netip.Addr
	var search []string
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "DNS":
			for _, f := range strings.Fields(v) {
				if a, err := netip.ParseAddr(f); err == nil {
					dns = append(dns, a)
				}
			}
		case "Domains":
			search = strings.Fields(v)
		}
	}
	return dns, search
}
