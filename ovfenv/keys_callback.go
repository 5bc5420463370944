package ovfenv

var callbackKeys []Key

var (
	KeyCallbackURL = add(&callbackKeys, Key{Name: "ovfinit.callback.url", Group: "Progress callbacks", Type: TypeString, Label: "Callback URL",
		Description: "http:// or https:// URL that receives one CloudEvent per step start and finish, then ready or failed (docs/callbacks.md). Events not yet acknowledged are kept on disk and sent on the next start."})
	KeyCallbackSecret = add(&callbackKeys, Key{Name: "ovfinit.callback.secret", Group: "Progress callbacks", Type: TypeString, Label: "Callback signing secret", Secret: true,
		Description: "Shared secret for the Standard Webhooks signature of every event (headers `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`; see docs/callbacks.md): `whsec_<base64 of the key>`, or any other string used as the raw key. The receiver, e.g. `ovfinit watch --secret` or a standardwebhooks library, refuses events that do not match. Unset: events are not signed."})
	KeyCallbackCA = add(&callbackKeys, Key{Name: "ovfinit.callback.ca", Group: "Progress callbacks", Type: TypeBase64, Label: "Callback CA certificates",
		Description: "Base64 of a PEM file of CA certificates (`base64 -w0 ca.pem`) that replace the system's roots for an https callback URL."})
	KeyCallbackPin = add(&callbackKeys, Key{Name: "ovfinit.callback.pin", Group: "Progress callbacks", Type: TypeString, Label: "Callback server key pin",
		Description: "SHA-256 pin of the callback server certificate's public key, `sha256//<base64>` as curl's `--pinnedpubkey` takes it; several separated by `;`. With a pin and no `ovfinit.callback.ca`, the pin alone is trusted (a self-signed server certificate works); with both, both must hold. Get it with `openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`."})
	KeyCallbackClientCert = add(&callbackKeys, Key{Name: "ovfinit.callback.client-cert", Group: "Progress callbacks", Type: TypeBase64, Label: "Callback client certificate",
		Description: "Base64 of a PEM client certificate (chain) presented to an https callback server that asks for one. Needs `ovfinit.callback.client-key`."})
	KeyCallbackClientKey = add(&callbackKeys, Key{Name: "ovfinit.callback.client-key", Group: "Progress callbacks", Type: TypeBase64, Label: "Callback client key", Secret: true,
		Description: "Base64 of the PEM private key of `ovfinit.callback.client-cert`."})
)
