package ovfenv

var scriptKeys = []Key{
	{Name: "ovfinit.script", Group: "Scripts", Type: TypeBase64, Label: "Customization script",
		Description: "A Starlark script, base64-encoded. Runs once per instance after the network, user and SSH server are up and before ready."},
}
