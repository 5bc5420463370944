package callback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature headers. Every request carries them when a secret is set
// (ovfinit.callback.secret); docs/callbacks.md specifies them for receivers
// written in other languages.
const (
	HeaderTimestamp = "X-Ovfinit-Timestamp" // Unix time of the request, in whole seconds
	HeaderEventID   = "X-Ovfinit-Event-Id"  // the event's id, repeated from the body
	HeaderSignature = "X-Ovfinit-Signature" // "v1=<hex HMAC-SHA256>", several comma-separated allowed
)

// DefaultMaxSkew is the default replay window of Verify: a request whose
// timestamp is further than this from the receiver's clock is refused.
const DefaultMaxSkew = 5 * time.Minute

// Verification errors; Verify wraps them with detail, use errors.Is.
var (
	ErrUnsigned     = errors.New("callback: request is not signed")
	ErrBadSignature = errors.New("callback: signature does not match")
	ErrStale        = errors.New("callback: timestamp outside the replay window")
)

// SigningString is what the v1 signature covers:
//
//	"v1:" + timestamp + ":" + event id + ":" + body
//
// where timestamp is the decimal X-Ovfinit-Timestamp value exactly as sent.
func SigningString(timestamp, id string, body []byte) []byte {
	b := make([]byte, 0, len(timestamp)+len(id)+len(body)+5)
	b = append(b, "v1:"...)
	b = append(b, timestamp...)
	b = append(b, ':')
	b = append(b, id...)
	b = append(b, ':')
	return append(b, body...)
}

// Sign returns the v1 signature, lower-case hex HMAC-SHA256 with secret
// over SigningString(timestamp, id, body).
func Sign(secret []byte, timestamp, id string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(SigningString(timestamp, id, body))
	return hex.EncodeToString(m.Sum(nil))
}

// SignRequest sets the three signature headers on h for an event sent at
// now.
func SignRequest(h http.Header, secret []byte, id string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderEventID, id)
	h.Set(HeaderSignature, "v1="+Sign(secret, ts, id, body))
}

// Verify checks a signed request: the timestamp must be within maxSkew of
// now (DefaultMaxSkew when zero), one of the v1 signatures must match
// secret, and the id in the header must be the id in the body. It returns
// the id. Replays inside the window carry an id the receiver has already
// seen: deduplicating by id (Receiver does) makes them harmless.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, maxSkew time.Duration) (string, error) {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	ts, id, sigs := h.Get(HeaderTimestamp), h.Get(HeaderEventID), h.Get(HeaderSignature)
	if ts == "" || id == "" || sigs == "" {
		return "", fmt.Errorf("%w: want headers %s, %s and %s", ErrUnsigned, HeaderTimestamp, HeaderEventID, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %s %q is not Unix seconds", ErrBadSignature, HeaderTimestamp, ts)
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > maxSkew || skew < -maxSkew {
		return "", fmt.Errorf("%w: %s is %v from this clock, more than %v", ErrStale, HeaderTimestamp, skew.Round(time.Second), maxSkew)
	}
	want, _ := hex.DecodeString(Sign(secret, ts, id, body))
	ok := false
	for _, part := range strings.Split(sigs, ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !found {
			continue // a scheme this receiver does not know
		}
		got, err := hex.DecodeString(v)
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
		return "", fmt.Errorf("%w: %s %q is not the id in the body", ErrBadSignature, HeaderEventID, id)
	}
	return id, nil
}
