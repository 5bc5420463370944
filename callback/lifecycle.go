package callback

// Lifecycle event types, sent by `ovfinit reserve` and `ovfinit sanitize`
// (docs/lifecycle.md). Data.Message names the users; it holds no secret.
const (
	TypeReserved  = "org.ovfinit.reserved"
	TypeSanitized = "org.ovfinit.sanitized"
)
