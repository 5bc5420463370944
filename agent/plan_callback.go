package agent

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// maxAttemptScale caps how much a higher ovfinit.attempt lengthens the
// callback's delivery limit.
const maxAttemptScale = 3

func planCallback(r *propReader, p *Plan) {
	if v, ok := r.get(ovfenv.KeyCallbackURL.Name); ok {
		if _, err := callback.ValidateURL(v); err != nil {
			r.callbackProblem(err)
		} else {
			p.CallbackURL = v
		}
	}
	p.Attempt = r.int(ovfenv.KeyAttempt)
	if v, ok := r.get(ovfenv.KeyCallbackSecret.Name); ok {
		if err := callback.CheckSecret(v); err != nil {
			r.bad(ovfenv.KeyCallbackSecret.Name, err)
		} else {
			p.CallbackSecret = []byte(v)
		}
	}
	b64 := func(key string) []byte {
		v, ok := r.get(key)
		if !ok {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil {
			r.bad(key, errors.New("not base64 (give the PEM file as `base64 -w0 file.pem`)"))
			return nil
		}
		return b
	}
	p.CallbackTLS.CA = b64(ovfenv.KeyCallbackCA.Name)
	p.CallbackTLS.ClientCert = b64(ovfenv.KeyCallbackClientCert.Name)
	p.CallbackTLS.ClientKey = b64(ovfenv.KeyCallbackClientKey.Name)
	if v, ok := r.get(ovfenv.KeyCallbackPin.Name); ok {
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
	for _, e := range unjoin(err) {
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
func salvageCallback(data []byte, url, instanceID string) callback.Config {
	env := &ovfenv.Environment{}
	for _, k := range []string{ovfenv.KeyCallbackSecret.Name, ovfenv.KeyCallbackCA.Name, ovfenv.KeyCallbackPin.Name, ovfenv.KeyCallbackClientCert.Name, ovfenv.KeyCallbackClientKey.Name} {
		if v := salvageProperty(data, k); v != "" {
			env.Properties = append(env.Properties, ovfenv.Property{Key: k, Value: v})
		}
	}
	p := &Plan{CallbackURL: url, Attempt: 1}
	planCallback(&propReader{env: env}, p)
	p.CallbackURL = url
	return p.CallbackConfig(instanceID)
}
