package callback

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The vectors: the first is the one docs/callbacks.md gives, for a plain
// secret used as the raw key, computed independently with
//
//	printf '%s' '3f0c9d8e-1.1767225600.{"id":"3f0c9d8e-1"}' | openssl dgst -sha256 -hmac 'correct horse battery staple' -binary | base64
//
// the second is the test vector of the standardwebhooks libraries
// (whsec_ secret, base64-decoded to the key).
func TestSignVector(t *testing.T) {
	tests := []struct{ secret, id, ts, body, want string }{
		{"correct horse battery staple", "3f0c9d8e-1", "1767225600", `{"id":"3f0c9d8e-1"}`, "RyfboKUR1UTIE+RnEtsNfVCgtP5xD9TlgMG+X6K1byA="},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", `{"test": 2432232314}`, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	for _, tt := range tests {
		if got := Sign([]byte(tt.secret), tt.id, tt.ts, []byte(tt.body)); got != tt.want {
			t.Errorf("Sign(%q, %q, %q, %q) = %s, want %s", tt.secret, tt.id, tt.ts, tt.body, got, tt.want)
		}
	}
}

func TestSignRequestHeaders(t *testing.T) {
	h := http.Header{}
	SignRequest(h, []byte("correct horse battery staple"), "3f0c9d8e-1", []byte(`{"id":"3f0c9d8e-1"}`), time.Unix(1767225600, 0))
	want := map[string]string{
		"Webhook-Id":        "3f0c9d8e-1",
		"Webhook-Timestamp": "1767225600",
		"Webhook-Signature": "v1,RyfboKUR1UTIE+RnEtsNfVCgtP5xD9TlgMG+X6K1byA=",
	}
	if len(h) != len(want) {
		t.Errorf("SignRequest set %d headers %v, want %d", len(h), h, len(want))
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("SignRequest: header %s = %q, want %q", k, got, v)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		secret string
		want   string
		bad    bool // CheckSecret refuses it
	}{
		{"correct horse battery staple", "correct horse battery staple", false},
		{"whsec_c2VjcmV0", "secret", false},
		{"c2VjcmV0", "c2VjcmV0", false}, // base64 without the prefix: a plain secret
		{"whsec_not base64!", "whsec_not base64!", true},
		{"whsec_", "whsec_", true},
	}
	for _, tt := range tests {
		if got := string(Key([]byte(tt.secret))); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.secret, got, tt.want)
		}
		if err := CheckSecret(tt.secret); (err != nil) != tt.bad {
			t.Errorf("CheckSecret(%q) = %v, want error: %v", tt.secret, err, tt.bad)
		}
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"id":"b-7","type":"org.ovfinit.ready"}`)
	now := time.Unix(1767225600, 0)
	signed := func(secret []byte, at time.Time) http.Header {
		h := http.Header{}
		SignRequest(h, secret, "b-7", body, at)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   error // nil: accepted
	}{
		{"good", signed(secret, now), body, nil},
		{"good, 4 minutes old", signed(secret, now.Add(-4*time.Minute)), body, nil},
		{"good, clock 4 minutes ahead", signed(secret, now.Add(4*time.Minute)), body, nil},
		{"old timestamp", signed(secret, now.Add(-6*time.Minute)), body, ErrStale},
		{"future timestamp", signed(secret, now.Add(6*time.Minute)), body, ErrStale},
		{"wrong secret", signed([]byte("other"), now), body, ErrBadSignature},
		{"body changed", signed(secret, now), []byte(`{"id":"b-7","type":"org.ovfinit.failed"}`), ErrBadSignature},
		{"bad signature", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderSignature, "v1,AA"+h.Get(HeaderSignature)[5:])
			return h
		}(), body, ErrBadSignature},
		{"signature not base64", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderSignature, "v1,!!")
			return h
		}(), body, ErrBadSignature},
		{"unknown scheme only", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderSignature, "v1a,"+h.Get(HeaderSignature)[3:])
			return h
		}(), body, ErrBadSignature},
		{"rotation: second signature matches", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderSignature, "v1,"+Sign([]byte("old"), "b-7", h.Get(HeaderTimestamp), body)+" "+h.Get(HeaderSignature))
			return h
		}(), body, nil},
		{"rotation: whsec_ and plain secret for the same key", func() http.Header {
			h := http.Header{}
			SignRequest(h, []byte("whsec_czNjcmV0"), "b-7", body, now) // base64("s3cret")
			return h
		}(), body, nil},
		{"comma-separated list is not the standard's", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderSignature, "v1,"+Sign([]byte("old"), "b-7", h.Get(HeaderTimestamp), body)+","+h.Get(HeaderSignature))
			return h
		}(), body, ErrBadSignature},
		{"id changed", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderID, "b-8")
			return h
		}(), body, ErrBadSignature},
		{"timestamp changed", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderTimestamp, "1767225601")
			return h
		}(), body, ErrBadSignature},
		{"timestamp not a number", func() http.Header {
			h := signed(secret, now)
			h.Set(HeaderTimestamp, "yesterday")
			return h
		}(), body, ErrBadSignature},
		{"header id not the body's", func() http.Header {
			h := http.Header{}
			SignRequest(h, secret, "b-8", body, now)
			return h
		}(), body, ErrBadSignature},
		{"unsigned", http.Header{}, body, ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Verify(secret, tt.header, tt.body, now, 0)
			if !errors.Is(err, tt.want) || (tt.want != nil && err == nil) {
				t.Fatalf("Verify(%s) = %q, %v, want error %v", tt.name, id, err, tt.want)
			}
			if tt.want == nil && id != "b-7" {
				t.Errorf("Verify(%s) id = %q, want b-7", tt.name, id)
			}
		})
	}
}

// BenchmarkVerify measures what a receiver spends per event on the signature.
func BenchmarkVerify(b *testing.B) {
	secret := []byte("s3cret")
	body := make([]byte, 600)
	copy(body, `{"id":"b-7"}`)
	for i := 12; i < len(body); i++ {
		body[i] = ' '
	}
	now := time.Now()
	h := http.Header{}
	SignRequest(h, secret, "b-7", body, now)
	for b.Loop() {
		if _, err := Verify(secret, h, body, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSenderSigns: with a secret, every request, retries included, carries
// a signature the receiver's Verify accepts; each retry is signed anew.
func TestSenderSigns(t *testing.T) {
	secret := []byte("s3cret")
	rec := newRecorder(t, func(n int, _ Event) int {
		if n%2 == 1 {
			return 503 // every event is retried once
		}
		return 204
	})
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	cfg := fastConfig(rec.srv.URL)
	cfg.Secret = secret
	if err := s.Start(cfg); err != nil {
		t.Fatal(err)
	}
	emitSteps(s, 1, 4)
	if err := s.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	reqs := rec.requests()
	if len(reqs) != 8 {
		t.Fatalf("server got %d requests, want 8", len(reqs))
	}
	for _, q := range reqs {
		id, err := Verify(secret, q.header, q.body, time.Now(), 0)
		if err != nil || id != q.event.ID {
			t.Errorf("request %d: Verify = %q, %v, want %q, nil", q.n, id, err, q.event.ID)
		}
		if _, err := Verify([]byte("wrong"), q.header, q.body, time.Now(), 0); !errors.Is(err, ErrBadSignature) {
			t.Errorf("request %d: Verify with the wrong secret = %v, want %v", q.n, err, ErrBadSignature)
		}
	}
}
