package ovfenv

var userKeys = []Key{
	{Name: "ovfinit.user", Group: "Users", Type: TypeString, Default: "ovfinit", Label: "User name",
		Description: "Name of the user to create (lower-case letters, digits, _, -; 1-32 characters, not starting with a digit or -)."},
	{Name: "public-keys", Group: "Users", Type: TypeList, Label: "SSH public keys",
		Description: "SSH public keys for that user, one per line (cloud-init's key)."},
}
