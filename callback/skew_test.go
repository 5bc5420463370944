package callback

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingReceiver serves a signed Receiver on 127.0.0.1 and counts the
// answers by status; accepted lists the new events in order.
type countingReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	codes    map[int]int
	ids      []string // every request's event id, in arrival order
	accepted []string
}

func newCountingReceiver(t *testing.T, secret []byte) *countingReceiver {
	t.Helper()
	c := &countingReceiver{codes: map[int]int{}}
	recv := NewReceiver(ReceiverConfig{Secret: secret, OnEvent: func(ev Event, _ []byte) {
		c.mu.Lock()
		c.accepted = append(c.accepted, ev.ID)
		c.mu.Unlock()
	}})
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rw := httptest.NewRecorder()
		recv.ServeHTTP(rw, req)
		c.mu.Lock()
		c.codes[rw.Code]++
		c.ids = append(c.ids, req.Header.Get(HeaderID))
		c.mu.Unlock()
		w.WriteHeader(rw.Code) // net/http adds the Date header
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *countingReceiver) snapshot() (codes map[int]int, ids, accepted []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	codes = map[int]int{}
	for k, v := range c.codes {
		codes[k] = v
	}
	return codes, append([]string(nil), c.ids...), append([]string(nil), c.accepted...)
}

// TestClockSkewCorrected: a VM whose clock is off by more than the
// receiver's 5-minute window gets one 401, learns the manager's time from
// its Date header, and delivers every event; a clock that is right gets no
// 401 at all.
func TestClockSkewCorrected(t *testing.T) {
	tests := []struct {
		name     string
		off      time.Duration // guest clock minus real time
		want401s int
	}{
		{"right clock", 0, 0},
		{"4 minutes slow (inside the window)", -4 * time.Minute, 0},
		{"10 minutes slow", -10 * time.Minute, 1},
		{"10 minutes fast", 10 * time.Minute, 1},
		{"RTC never set (2000)", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Sub(time.Now()), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := []byte("skew")
			c := newCountingReceiver(t, secret)
			s := NewSender(testLogger(t), "b")
			defer s.Close()
			cfg := fastConfig(c.srv.URL)
			cfg.Secret = secret
			cfg.Now = func() time.Time { return time.Now().Add(tt.off) }
			if err := s.Start(cfg); err != nil {
				t.Fatal(err)
			}
			emitSteps(s, 1, 6)
			if err := s.Wait(waitCtx(t)); err != nil {
				t.Fatalf("Wait() = %v, want nil", err)
			}
			codes, _, accepted := c.snapshot()
			if diff := cmp.Diff(wantIDs("b", 6), accepted); diff != "" {
				t.Errorf("accepted events (-want +got):\n%s", diff)
			}
			if codes[401] != tt.want401s {
				t.Errorf("with the clock off by %v the receiver answered 401 %d times, want %d (answers: %v)", tt.off, codes[401], tt.want401s, codes)
			}
		})
	}
}

// TestUnauthorizedKeptInSpool: a 401 that no clock correction cures (here
// a wrong secret) is retried MaxUnauthorized times; then delivery stops
// with every event still in the spool, none dropped and none sent out of
// order, and a later run with the right secret delivers them all, in order.
func TestUnauthorizedKeptInSpool(t *testing.T) {
	secret := []byte("right")
	c := newCountingReceiver(t, secret)
	dir := t.TempDir()

	a := NewSender(testLogger(t), "boot1")
	if err := a.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(c.srv.URL)
	cfg.Secret = []byte("wrong")
	cfg.MaxUnauthorized = 3
	if err := a.Start(cfg); err != nil {
		t.Fatal(err)
	}
	emitSteps(a, 1, 4)
	if err := a.Wait(waitCtx(t)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Wait() = %v, want %v", err, ErrUnauthorized)
	}
	a.Close()
	codes, ids, _ := c.snapshot()
	if diff := cmp.Diff([]string{"boot1-1", "boot1-1", "boot1-1"}, ids); diff != "" {
		t.Errorf("requests with the wrong secret (-want +got):\n%s", diff)
	}
	if codes[401] != 3 {
		t.Errorf("401 answers = %d, want 3", codes[401])
	}
	if diff := cmp.Diff(wantIDs("boot1", 4), spoolIDs(t, dir)); diff != "" {
		t.Errorf("spool after the 401s (-want +got):\n%s", diff)
	}

	// The secret is fixed; the next run sends the old events first.
	b := NewSender(testLogger(t), "boot2")
	defer b.Close()
	if err := b.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	cfg.Secret = secret
	if err := b.Start(cfg); err != nil {
		t.Fatal(err)
	}
	emitSteps(b, 1, 2)
	if err := b.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	_, _, accepted := c.snapshot()
	if diff := cmp.Diff(append(wantIDs("boot1", 4), wantIDs("boot2", 2)...), accepted); diff != "" {
		t.Errorf("accepted events (-want +got):\n%s", diff)
	}
	if got := spoolIDs(t, dir); len(got) != 0 {
		t.Errorf("spool after delivery = %v, want empty", got)
	}
}
