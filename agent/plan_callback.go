package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// Callback properties beyond the URL (PropCallbackURL and PropAttempt are
// in plan.go).
const (
	PropCallbackSecret     = "ovfinit.callback.secret"
	PropCallbackCA         = "ovfinit.callback.ca"
	PropCallbackPin        = "ovfinit.callback.pin"
	PropCallbackClientCert = "ovfinit.callback.client-cert"
	PropCallbackClientKey  = "ovfinit.callback.client-key"
)

// maxAttemptScale caps how much a higher ovfinit.attempt lengthens the
// callback's delivery limit.
const maxAttemptScale = 3

func planCallback(r *propReader, p *Plan) {
	if v, ok := r.get(PropCallbackURL); ok {
		if _, err := callback.ValidateURL(v); err != nil {
			// ValidateURL names the property itself; PropertyError adds the line.
			r.bad(PropCallbackURL, errors.New(strings.TrimPrefix(err.Error(), PropCallbackURL+": ")))
		} else {
			p.CallbackURL = v
		}
	}
	if v, ok := r.get(PropAttempt); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			r.bad(PropAttempt, fmt.Errorf("want a whole number from 1 up, got %q", v))
		} else {
			p.Attempt = n
		}
	}
	if v, ok := r.get(PropCallbackSecret); ok {
		if err := callback.CheckSecret(v); err != nil {
			r.bad(PropCallbackSecret, err)
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
	p.CallbackTLS.CA = b64(PropCallbackCA)
	p.CallbackTLS.ClientCert = b64(PropCallbackClientCert)
	p.CallbackTLS.ClientKey = b64(PropCallbackClientKey)
	if v, ok := r.get(PropCallbackPin); ok {
		pins, err := callback.ParsePins(v)
		if err != nil {
			r.bad(PropCallbackPin, err)
		}
		p.CallbackTLS.Pins = pins
	}
	if _, err := p.CallbackTLS.Config(); err != nil {
		for _, e := range unjoin(err) {
			// The errors name their properties; report them on the first.
			key, msg, _ := strings.Cut(e.Error(), ": ")
			if k, _, ok := strings.Cut(key, " and "); ok {
				key = k
			}
			key = strings.SplitN(key, "/", 2)[0]
			r.bad(key, errors.New(msg))
		}
		p.CallbackTLS = callback.TLSOptions{}
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
	for _, k := range []string{PropCallbackSecret, PropCallbackCA, PropCallbackPin, PropCallbackClientCert, PropCallbackClientKey} {
		if v, ok := part.Property(k); ok {
			env.Properties = append(env.Properties, ovfenv.Property{Key: k, Value: v})
		}
	}
	p := &Plan{CallbackURL: url, Attempt: 1}
	planCallback(&propReader{env: env}, p)
	p.CallbackURL = url
	return p.CallbackConfig(instanceID)
}
