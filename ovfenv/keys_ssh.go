package ovfenv

var sshKeys = []Key{
	{Name: "ovfinit.ssh.port", Group: "SSH server", Type: TypeInt, Default: "22", Label: "SSH port",
		Description: "TCP port of the embedded SSH server."},
}
