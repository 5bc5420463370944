package ovfenv

var systemKeys []Key

var (
	KeySystem = add(&systemKeys, Key{Name: "ovfinit.system", Group: "Systems of VMs", Type: TypeBool, Default: "false", Label: "Member of a system",
		Description: "When true, this VM is a member of a system of VMs (docs/callbacks.md, \"Systems of VMs\"; the manager runs e.g. `ovfinit watch --system FILE`): before its scripts run it asks the manager until every member it comes after is ready, and scripts read the members' addresses, host keys and published values with the `system` module (docs/scripting.md)."})
	KeySystemURL = add(&systemKeys, Key{Name: "ovfinit.system.url", Group: "Systems of VMs", Type: TypeString, Label: "System URL",
		Description: "http:// or https:// URL of the manager's system protocol. Default: `ovfinit.callback.url`. Requests are signed with `ovfinit.callback.secret` and go over the callback's TLS settings, as the events do."})
	KeySystemTimeout = add(&systemKeys, Key{Name: "ovfinit.system.timeout", Group: "Systems of VMs", Type: TypeInt, Default: "1800", Min: 1, Max: 86400, Label: "System wait limit (s)",
		Description: "How long, in seconds (1 to 86400), the `system` step waits for the members this VM comes after. When they are not all ready by then, the boot fails with `retry` true."})
)
