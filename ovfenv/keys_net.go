package ovfenv

import "fmt"

// MaxNetNICs is how many NICs the ovfinit.net.N.* properties can describe
// (N from 0); network-config has no such limit.
const MaxNetNICs = 4

var netKeys []Key

// The network keys the planner reads by name; the per-NIC ones are NetKey.
var (
	KeyNetworkConfig = add(&netKeys, Key{Name: "network-config", Group: "Network", Type: TypeBase64, Label: "Network configuration (cloud-init)",
		Description: "cloud-init's network-config, base64 (wrapped or unpadded; plain YAML is read too): netplan version 2 (`ethernets`, `vlans`, `bonds`) or cloud-init version 1 YAML; unknown keys are errors with their line. Use it, or the ovfinit.net properties, or the VMware-style ones, not two of them. See docs/network.md."})
	KeyNetFallback = add(&netKeys, Key{Name: "ovfinit.net.fallback", Group: "Network", Type: TypeString, Default: "dhcp", Choices: map[string]string{"dhcp": "dhcp", "dhcp4": "dhcp", "off": "off", "none": "off", "disabled": "off"}, Label: "Fallback network",
		Description: "What to do when no other network property is set (no network-config, no ovfinit.net.* or VMware-style key): `dhcp` does what cloud-init does by default, DHCPv4 on the first ethernet NIC with a carrier (eth0 first, then by natural name order; loopback, bridges, bonds, VLANs and veth skipped), persisted for the image's network manager; `off` leaves the network alone."})
	KeyNetMAC = add(&netKeys, Key{Name: "ovfinit.net.mac", Group: "Network", Type: TypeString, Label: "NIC MAC address",
		Description: "NIC 0's MAC address (52:54:00:12:34:56); the same as ovfinit.net.0.mac. Default: the only ve:Adapter, else the first ethernet NIC when only one NIC is configured."})
	KeyNetAddress = add(&netKeys, Key{Name: "ovfinit.net.address", Group: "Network", Type: TypeList, Label: "IP addresses",
		Description: "NIC 0's addresses with prefix length, IPv4 and IPv6, comma-separated (10.0.2.15/24, fd00::15/64); the same as ovfinit.net.0.address. Unset, with no other network property: see ovfinit.net.fallback."})
	KeyNetGateway = add(&netKeys, Key{Name: "ovfinit.net.gateway", Group: "Network", Type: TypeList, Label: "Default gateway",
		Description: "NIC 0's default gateways, at most one IPv4 and one IPv6; each must be inside one of the NIC's subnets."})
	KeyNetDNS = add(&netKeys, Key{Name: "ovfinit.net.dns", Group: "Network", Type: TypeList, Label: "DNS servers",
		Description: "DNS servers, separated by commas or spaces. Written to systemd-resolved when it runs, else /etc/resolv.conf."})
	KeyNetSearch = add(&netKeys, Key{Name: "ovfinit.net.search", Group: "Network", Type: TypeList, Label: "DNS search domains",
		Description: "DNS search domains, separated by commas or spaces."})
)

// The generated keys: ovfinit.net.N.* and the VMware-style ones.
var _ = func() bool {
	keys := netKeys
	for n := range MaxNetNICs {
		k := func(s string) string { return fmt.Sprintf("ovfinit.net.%d.%s", n, s) }
		nic := fmt.Sprintf("NIC %d", n)
		keys = append(keys,
			Key{Name: k("mac"), Group: "Network", Type: TypeString, Label: nic + " MAC address",
				Description: fmt.Sprintf("The MAC address that selects %s. Matched before %s.", nic, k("name"))},
			Key{Name: k("name"), Group: "Network", Type: TypeString, Label: nic + " interface name",
				Description: fmt.Sprintf("The interface name that selects %s (eth1) when %s is not set.", nic, k("mac"))},
			Key{Name: k("dhcp4"), Group: "Network", Type: TypeBool, Default: "false", Label: nic + " DHCPv4",
				Description: "Get an IPv4 address by DHCP: from the image's own client when it has one, else ovfinit's built-in client."},
			Key{Name: k("dhcp6"), Group: "Network", Type: TypeBool, Default: "false", Label: nic + " DHCPv6",
				Description: "Get IPv6 addresses by DHCPv6/SLAAC through the image's network manager."},
			Key{Name: k("address"), Group: "Network", Type: TypeList, Label: nic + " IP addresses",
				Description: "Static addresses with prefix length, IPv4 and IPv6, comma-separated."},
			Key{Name: k("gateway"), Group: "Network", Type: TypeList, Label: nic + " default gateways",
				Description: "At most one IPv4 and one IPv6 default gateway, each inside one of the NIC's subnets."},
			Key{Name: k("routes"), Group: "Network", Type: TypeList, Label: nic + " static routes",
				Description: "Routes separated by commas or semicolons: `10.1.0.0/16 via 10.0.2.1 metric 100` (via and metric optional)."},
			Key{Name: k("mtu"), Group: "Network", Type: TypeInt, Min: 68, Max: 65535, Label: nic + " MTU",
				Description: "The MTU, 68 to 65535. Unset: left as it is."},
			Key{Name: k("dns"), Group: "Network", Type: TypeList, Label: nic + " DNS servers",
				Description: "DNS servers learned with this NIC."},
			Key{Name: k("search"), Group: "Network", Type: TypeList, Label: nic + " DNS search domains",
				Description: "DNS search domains learned with this NIC."},
		)
	}
	for n := range 4 {
		keys = append(keys,
			Key{Name: fmt.Sprintf("ip%d", n), Group: "Network (VMware-style)", Type: TypeString, Label: fmt.Sprintf("NIC %d IP address", n),
				Description: fmt.Sprintf("VMware vApp style: NIC %d's address, without prefix length (netmask%d gives it). NIC %d is the %d. ve:Adapter; ip0 alone configures the first ethernet NIC. May also be written vami.ip%d.<vm>.", n, n, n, n+1, n)},
			Key{Name: fmt.Sprintf("netmask%d", n), Group: "Network (VMware-style)", Type: TypeString, Default: "255.255.255.0", Label: fmt.Sprintf("NIC %d netmask", n),
				Description: fmt.Sprintf("VMware vApp style: netmask of ip%d, dotted (255.255.255.0) or a prefix length (24).", n)},
		)
	}
	keys = append(keys,
		Key{Name: "gateway", Group: "Network (VMware-style)", Type: TypeString, Label: "Default gateway",
			Description: "VMware vApp style: NIC 0's default gateway (gateway1..3 for the others)."},
		Key{Name: "DNS", Group: "Network (VMware-style)", Type: TypeList, Label: "DNS servers",
			Description: "VMware vApp style: DNS servers, comma-separated."},
		Key{Name: "searchpath", Group: "Network (VMware-style)", Type: TypeList, Label: "DNS search path",
			Description: "VMware vApp style: DNS search domains (also read from `domain`)."},
	)
	netKeys = keys
	return true
}()
