package netcfg

import (
	"slices"
	"strconv"
	"strings"
)

// FallbackNIC picks the NIC cloud-init's fallback network configuration
// (net.find_fallback_nic, cloud-init 22.4) would configure by DHCP when the
// environment says nothing about the network: among the ethernet NICs (not
// loopback, bridges, bonds, VLANs, veth pairs or bond members) those with a
// carrier come first, then the others; within each group eth0 comes first and
// the rest in natural name order (eth2 before eth10); the first with a MAC
// address wins. ok is false when the machine has no such NIC.
func FallbackNIC(links []Link) (Link, bool) {
	var connected, possible []Link
	for _, l := range links {
		if !l.Ethernet || l.Master != "" || len(l.MAC) == 0 || strings.HasPrefix(l.Name, "veth") {
			continue
		}
		if l.Carrier {
			connected = append(connected, l)
		} else {
			possible = append(possible, l)
		}
	}
	for _, group := range [][]Link{connected, possible} {
		slices.SortStableFunc(group, func(a, b Link) int {
			if (a.Name == "eth0") != (b.Name == "eth0") {
				if a.Name == "eth0" {
					return -1
				}
				return 1
			}
			return naturalCompare(a.Name, b.Name)
		})
		if len(group) > 0 {
			return group[0], true
		}
	}
	return Link{}, false
}

// FallbackConfig is cloud-init 22.4's fallback network configuration for
// the NIC: DHCPv4, matched by its MAC address.
func FallbackConfig(l Link) Config {
	return Config{NICs: []NIC{{ID: l.Name, MAC: l.MAC, DHCP4: true}}, Fallback: true}
}

// naturalCompare orders names with their digit runs compared as numbers, as
// cloud-init's natural_sort_key.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, _ := strconv.ParseUint(a[:da], 10, 64)
			nb, _ := strconv.ParseUint(b[:db], 10, 64)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return strings.Compare(a[:1], b[:1])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
