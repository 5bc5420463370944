package sshd

import (
	"net"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestKexGate: one slot; a second connection waits for it, gets it the
// moment it is left, and goes ahead without it after the wait; leaving
// twice frees one slot, not two.
func TestKexGate(t *testing.T) {
	g := &kexGate{slots: make(chan struct{}, 1), wait: time.Hour}
	leave := g.enter(t.Context())
	if len(g.slots) != 1 {
		t.Fatalf("slots taken after the first enter = %d, want 1", len(g.slots))
	}
	got := make(chan func())
	go func() { got <- g.enter(t.Context()) }()
	select {
	case <-got:
		t.Fatal("second enter returned while the slot was held and the wait (an hour) had not passed")
	case <-time.After(100 * time.Millisecond):
	}
	leave()
	leave() // again: nothing
	var leave2 func()
	select {
	case leave2 = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("second enter still waiting after the slot was left")
	}
	if len(g.slots) != 1 {
		t.Fatalf("slots taken after the second enter = %d, want 1 (its own)", len(g.slots))
	}
	leave2()
	if len(g.slots) != 0 {
		t.Fatalf("slots taken after both left = %d, want 0", len(g.slots))
	}

	// Bounded: with the slot held for good, enter returns after the wait,
	// with no slot.
	g.wait = 50 * time.Millisecond
	hold := g.enter(t.Context())
	start := time.Now()
	g.enter(t.Context())()
	if d := time.Since(start); d < g.wait {
		t.Errorf("enter with the slot held returned after %v, want it to wait %v", d, g.wait)
	}
	if len(g.slots) != 1 {
		t.Errorf("slots taken = %d, want 1 (the holder's): the late enter must not take or free one", len(g.slots))
	}
	hold()
}

// TestKexGateServer: a client that connects and never starts its key
// exchange holds the one slot, and a second client still logs in (after
// the bounded wait); a logged-in connection that stays open holds no
// slot (it left at its first authentication request); the stalled one's
// slot is freed when it goes.
func TestKexGateServer(t *testing.T) {
	key := newClientKey(t)
	alice := loginName(t)
	ts := startServer(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}}, func(s *Server) {
			s.kex = &kexGate{slots: make(chan struct{}, 1), wait: 200 * time.Millisecond}
		})
	slots := func() int { return len(ts.srv.kex.slots) }
	waitSlots := func(want int, what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); slots() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: slots taken = %d, want %d", what, slots(), want)
			}
		}
	}
	stalled, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	waitSlots(1, "a client connected and silent")

	c, err := ts.dial(alice, gossh.PublicKeys(key))
	if err != nil {
		t.Fatalf("login while another connection holds the key-exchange slot: %v", err)
	}
	defer c.Close()
	if n := slots(); n != 1 {
		t.Errorf("slots taken with the silent client and a logged-in one = %d, want 1 (the silent one's)", n)
	}
	stalled.Close()
	waitSlots(0, "the silent client gone")

	// A login that got the slot leaves it at authentication, while its
	// connection stays open.
	c2, err := ts.dial(alice, gossh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	waitSlots(0, "a client logged in, connection open")
	// A channel is served only once the server has tracked the
	// connection, which gliderssh's Shutdown must not race with.
	for _, cl := range []*gossh.Client{c, c2} {
		s, err := cl.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkKexGateLogins: four clients connect at once to a server on one
// CPU (go test -run '^$' -bench KexGateLogins -cpu 1 ./sshd, under
// taskset -c 0); the time to the first and to the last login, with key
// exchanges taking turns (the default) and all at once.
func BenchmarkKexGateLogins(b *testing.B) {
	for _, c := range []struct {
		name string
		gate func() *kexGate
	}{
		{"turns", func() *kexGate { return &kexGate{slots: make(chan struct{}, 1), wait: kexWait} }},
		{"together", func() *kexGate { return &kexGate{slots: make(chan struct{}, 64), wait: 0} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			key := newClientKey(b)
			alice := loginName(b)
			ts := startServer(b, map[string]*User{alice: testUser(alice, b.TempDir())},
				map[string][]gossh.PublicKey{alice: {key.PublicKey()}}, func(s *Server) { s.kex = c.gate() })
			var first, last time.Duration
			for b.Loop() {
				start := time.Now()
				done := make(chan time.Duration, 4)
				for range 4 {
					go func() {
						cl, err := ts.dial(alice, gossh.PublicKeys(key))
						if err != nil {
							b.Error(err)
						} else {
							cl.Close()
						}
						done <- time.Since(start)
					}()
				}
				f := <-done
				<-done
				<-done
				l := <-done
				first, last = first+f, last+l
			}
			b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1000, "ms-first-login")
			b.ReportMetric(float64(last.Microseconds())/float64(b.N)/1000, "ms-last-login")
		})
	}
}
