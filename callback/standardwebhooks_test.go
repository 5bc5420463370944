package callback

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/webhooktest"
)

// TestStandardWebhooksLibrary: the events a real Sender sends, of every
// type in Types and retries included, verify with the off-the-shelf standardwebhooks library (npm,
// under node) and with Verify, for a whsec_ secret and for a plain one
// (used as the raw key); a tampered copy of each is refused by both, so
// the library's check is not vacuous.
func TestStandardWebhooksLibrary(t *testing.T) {
	var all []webhooktest.Request
	for _, secret := range []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"correct horse battery staple, ünïcode",
	} {
		rec := newRecorder(t, func(n int, _ Event) int {
			if n%3 == 1 {
				return 503 // retried: the retry is signed anew
			}
			return 204
		})
		s := NewSender(testLogger(t), "b")
		cfg := fastConfig(rec.srv.URL)
		cfg.Secret = []byte(secret)
		if err := s.Start(cfg); err != nil {
			t.Fatal(err)
		}
		emitSteps(s, 1, 4)
		s.Emit(TypeProgress, Data{Step: "script", Message: "waiting for db"})
		s.Emit(TypeReady, Data{Result: ResultReady, Hostname: "vm-1", Addresses: []string{"10.0.0.5"}})
		retry := true
		s.Emit(TypeFailed, Data{Step: "script", Result: ResultRetry, Retry: &retry, Message: "waiting for db: not ready after 1800 s"})
		s.Emit(TypeLogin, Data{Message: "alice logged in from 10.0.0.9 with publickey"})
		s.Emit(TypeReserved, Data{Message: "reserved for alice"})
		s.Emit(TypeSanitized, Data{})
		if err := s.Wait(waitCtx(t)); err != nil {
			t.Fatalf("Wait() = %v, want nil", err)
		}
		s.Close()
		reqs := rec.requests()
		if len(reqs) < 10 {
			t.Fatalf("server got %d requests, want at least 10", len(reqs))
		}
		sent := map[string]bool{}
		for _, q := range reqs {
			sent[q.event.Type] = true
		}
		for _, typ := range Types {
			if !sent[typ] {
				t.Errorf("no %s event reached the server: every type must go through the library", typ)
			}
		}
		for _, q := range reqs {
			if q.header.Get("X-Ovfinit-Signature") != "" {
				t.Errorf("request %d still carries X-Ovfinit-Signature", q.n)
			}
			if id, err := Verify([]byte(secret), q.header, q.body, time.Now(), 0); err != nil || id != q.event.ID {
				t.Errorf("request %d: Verify = %q, %v, want %q, nil", q.n, id, err, q.event.ID)
			}
			all = append(all, webhooktest.Request{Secret: secret, Header: q.header, Body: q.body, WantOK: true, ID: q.event.ID})
			bad := bytes.Replace(q.body, []byte(`"id"`), []byte(`"id" `), 1)
			if _, err := Verify([]byte(secret), q.header, bad, time.Now(), 0); !errors.Is(err, ErrBadSignature) {
				t.Errorf("request %d tampered: Verify = %v, want %v", q.n, err, ErrBadSignature)
			}
			all = append(all, webhooktest.Request{Secret: secret, Header: q.header, Body: bad, ID: q.event.ID})
		}
	}

	webhooktest.Verify(t, all)
}
