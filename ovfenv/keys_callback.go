package ovfenv

var callbackKeys = []Key{
	{Name: "ovfinit.callback.url", Group: "Progress callbacks", Type: TypeString, Label: "Callback URL",
		Description: "http:// or https:// URL that receives one CloudEvent per step start and finish, then ready or failed."},
}
