package callback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature headers of the Standard Webhooks scheme
// (https://www.standardwebhooks.com). Every request carries them when a
// secret is set (ovfinit.callback.secret), so that a manager can verify
// events with any standardwebhooks library; docs/callbacks.md specifies
// them for receivers written by hand.
const (
	HeaderID        = "webhook-id"        // the event's id, repeated from the body
	HeaderTimestamp = "webhook-timestamp" // Unix time of the request, in whole seconds
	HeaderSignature = "webhook-signature" // "v1,<base64 HMAC-SHA256>", several space-separated allowed
)

// SecretPrefix marks a secret in the Standard Webhooks form: "whsec_"
// followed by the base64 of the key bytes.
const SecretPrefix = "whsec_"

// DefaultMaxSkew is the default replay window of Verify, the tolerance
// Standard Webhooks asks for: a request whose timestamp is further than
// this from the receiver's clock is refused.
const DefaultMaxSkew = 5 * time.Minute

// Verification errors; Verify wraps them with detail, use errors.Is.
var (
	ErrUnsigned     = errors.New("callback: request is not signed")
	ErrBadSignature = errors.New("callback: signature does not match")
	ErrStale        = errors.New("callback: timestamp outside the replay window")
)

// Key returns the HMAC key of a configured secret: for "whsec_<base64>"
// the base64-decoded bytes (what the standardwebhooks libraries do with
// such a secret); for any other secret its bytes as given, so that a plain
// secret such as "correct horse battery staple" is used as the raw key
// (the libraries' "raw" form: NewWebhookRaw in Go, {format: "raw"} in
// JavaScript). A "whsec_" secret whose rest is not base64 is used raw too,
// on both sides alike; CheckSecret refuses it where a secret is given.
func Key(secret []byte) []byte {
	if rest, ok := strings.CutPrefix(string(secret), SecretPrefix); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil && len(k) > 0 {
			return k
		}
	}
	return secret
}

// CheckSecret says what is wrong with a secret as given in
// ovfinit.callback.secret or to `ovfinit watch --secret`: a "whsec_"
// secret must be followed by non-empty standard base64 (with padding).
func CheckSecret(secret string) error {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil
	}
	if k, err := base64.StdEncoding.DecodeString(rest); err != nil || len(k) == 0 {
		return fmt.Errorf("a secret starting with %q must go on with the base64 of the key (e.g. whsec_$(head -c 32 /dev/urandom | base64)); a plain secret must not start with %q", SecretPrefix, SecretPrefix)
	}
	return nil
}

// SigningString is what the v1 signature covers (Standard Webhooks):
//
//	id + "." + timestamp + "." + body
//
// where timestamp is the decimal webhook-timestamp value exactly as sent.
func SigningString(id, timestamp string, body []byte) []byte {
	b := make([]byte, 0, len(timestamp)+len(id)+len(body)+2)
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, timestamp...)
	b = append(b, '.')
	return append(b, body...)
}

// Sign returns the v1 signature, the standard base64 of the HMAC-SHA256
// with Key(secret) over SigningString(id, timestamp, body).
func Sign(secret []byte, id, timestamp string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(Key(secret), id, timestamp, body))
}

func mac(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(SigningString(id, timestamp, body))
	return m.Sum(nil)
}

// SignRequest sets the three signature headers on h for an event sent at
// now.
func SignRequest(h http.Header, secret []byte, id string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, "v1,"+Sign(secret, id, ts, body))
}

// Verify checks a signed request as Standard Webhooks does: the timestamp
// must be within maxSkew of now (DefaultMaxSkew when zero) and one of the
// space-separated v1 signatures must match Key(secret) (several allow a
// key rotation); it also checks that the id in the header is the id in
// the body. It returns the id. Replays inside the window carry an id the
// receiver has already seen: deduplicating by id (Receiver does) makes
// them harmless.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, maxSkew time.Duration) (string, error) {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || id == "" || sigs == "" {
		return "", fmt.Errorf("%w: want headers %s, %s and %s", ErrUnsigned, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %s %q is not Unix seconds", ErrBadSignature, HeaderTimestamp, ts)
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > maxSkew || skew < -maxSkew {
		return "", fmt.Errorf("%w: %s is %v from this clock, more than %v", ErrStale, HeaderTimestamp, skew.Round(time.Second), maxSkew)
	}
	want := mac(Key(secret), id, ts, body)
	ok := false
	for _, part := range strings.Fields(sigs) {
		v, found := strings.CutPrefix(part, "v1,")
		if !found {
			continue // a scheme this receiver does not know (v1a: asymmetric)
		}
		got, err := base64.StdEncoding.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return "", fmt.Errorf("%w (event %q)", ErrBadSignature, id)
	}
	var env struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.ID != id {
		return "", fmt.Errorf("%w: %s %q is not the id in the body", ErrBadSignature, HeaderID, id)
	}
	return id, nil
}
