package ovfenv

var netKeys = []Key{
	{Name: "ovfinit.net.mac", Group: "Network", Type: TypeString, Label: "NIC MAC address",
		Description: "MAC address of the NIC to configure (52:54:00:12:34:56). Default: the only ve:Adapter, else the first ethernet NIC."},
	{Name: "ovfinit.net.address", Group: "Network", Type: TypeString, Label: "IPv4 address",
		Description: "Address and prefix length, 10.0.2.15/24. Unset: the network is left alone."},
	{Name: "ovfinit.net.gateway", Group: "Network", Type: TypeString, Label: "Default gateway",
		Description: "Default gateway; must be inside the address's subnet."},
	{Name: "ovfinit.net.dns", Group: "Network", Type: TypeList, Label: "DNS servers",
		Description: "DNS servers, separated by commas or spaces."},
}
