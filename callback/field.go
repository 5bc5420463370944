package callback

import "github.com/ovfinit/ovfinit/ovfenv"

// The OVF properties the callback's settings come from, as the key table
// names them; FieldError names them.
var (
	propURL        = ovfenv.KeyCallbackURL.Name
	propCA         = ovfenv.KeyCallbackCA.Name
	propPin        = ovfenv.KeyCallbackPin.Name
	propClientCert = ovfenv.KeyCallbackClientCert.Name
	propClientKey  = ovfenv.KeyCallbackClientKey.Name
)

// FieldError is a problem with one callback setting: the property it comes
// from and what is wrong with it, so that a caller can report it against
// the property (and its line) without reading the message.
type FieldError struct {
	Property string // the property at fault, e.g. ovfinit.callback.ca
	Shown    string // how Error names the setting; "" means Property
	Err      error  // what is wrong; never quotes a secret
}

func (e *FieldError) Error() string {
	name := e.Shown
	if name == "" {
		name = e.Property
	}
	return name + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }
