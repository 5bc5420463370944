package agent

import (
	"errors"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/errlist"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// maxAttemptScale caps how much a higher ovfinit.attempt lengthens the
// callback's delivery limit.
const maxAttemptScale = 3

func planCallback(r *propReader, p *Plan) {
	if v, ok := r.text(ovfenv.KeyCallbackURL); ok {
		if _, err := callback.ValidateURL(v); err != nil {
			r.callbackProblem(err)
		} else {
			p.CallbackURL = v
		}
	}
	p.Attempt = r.int(ovfenv.KeyAttempt)
	if v, ok := r.text(ovfenv.KeyCallbackSecret); ok {
		if err := callback.CheckSecret(v); err != nil {
			r.bad(ovfenv.KeyCallbackSecret.Name, err)
		} else {
			p.CallbackSecret = []byte(v)
		}
	}
	p.CallbackTLS.CA = r.base64(ovfenv.KeyCallbackCA)
	p.CallbackTLS.ClientCert = r.base64(ovfenv.KeyCallbackClientCert)
	p.CallbackTLS.ClientKey = r.base64(ovfenv.KeyCallbackClientKey)
	if v, ok := r.text(ovfenv.KeyCallbackPin); ok {
		pins, err := callback.ParsePins(v)
		if err != nil {
			r.bad(ovfenv.KeyCallbackPin.Name, err)
		}
		p.CallbackTLS.Pins = pins
	}
	if _, err := p.CallbackTLS.Config(); err != nil {
		r.callbackProblem(err)
		p.CallbackTLS = callback.TLSOptions{}
	}
}

// callbackProblem records the callback's errors against the properties
// their callback.FieldErrors name.
func (r *propReader) callbackProblem(err error) {
	for _, e := range errlist.Flatten(err) {
		var fe *callback.FieldError
		if errors.As(e, &fe) {
			r.bad(fe.Property, fe.Err)
			continue
		}
		r.bad(ovfenv.KeyCallbackURL.Name, e)
	}
}

// CallbackConfig is the callback sender's configuration for the plan. A
// higher attempt number (the manager is trying again) lengthens the
// overall delivery limit, up to three times the default: a retried
// deployment is more likely to meet a manager under load.
func (p *Plan) CallbackConfig(instanceID string) callback.Config {
	return callback.Config{
		URL:        p.CallbackURL,
		InstanceID: instanceID,
		Attempt:    p.Attempt,
		Secret:     p.CallbackSecret,
		TLS:        p.CallbackTLS,
		MaxElapsed: time.Duration(min(max(p.Attempt, 1), maxAttemptScale)) * callback.DefaultMaxElapsed,
	}
}

// salvageCallback builds the callback configuration from a document that
// does not parse, from what can be read before the damage, so the failure
// is still reported (signed, over the right TLS) when it can be.
func salvageCallback(part *ovfenv.Environment, url, instanceID string) callback.Config {
	env := &ovfenv.Environment{}
	for _, k := range []string{ovfenv.KeyCallbackSecret.Name, ovfenv.KeyCallbackCA.Name, ovfenv.KeyCallbackPin.Name, ovfenv.KeyCallbackClientCert.Name, ovfenv.KeyCallbackClientKey.Name} {
		if v, ok := part.Property(k); ok {
			env.Properties = append(env.Properties, ovfenv.Property{Key: k, Value: v})
		}
	}
	p := &Plan{CallbackURL: url, Attempt: 1}
	planCallback(&propReader{env: env}, p)
	p.CallbackURL = url
	return p.CallbackConfig(instanceID)
}
