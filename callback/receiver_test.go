package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testEvent(inst, id string, seq int, typ string, d Data) []byte {
	d.InstanceID = inst
	ev := Event{SpecVersion: SpecVersion, ID: id, Source: SourcePrefix + inst, Type: typ, Time: time.Now().UTC(),
		Sequence: Sequence(seq), DataContentType: "application/json", Data: d}
	b, _ := json.Marshal(ev)
	return b
}

// TestReceiverRefusesForgeries posts forged and malformed requests and
// checks each is refused with the right status and never reaches OnEvent.
func TestReceiverRefusesForgeries(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1767225600, 0)
	var got []string
	var rejects []error
	r := NewReceiver(ReceiverConfig{
		Secret: secret, Instances: []string{"vm-1"}, Now: func() time.Time { return now },
		OnEvent:  func(ev Event, _ []byte) { got = append(got, ev.ID) },
		OnReject: func(_ string, _ int, err error) { rejects = append(rejects, err) },
	})
	good := testEvent("vm-1", "b-1", 1, TypeStepStarted, Data{Step: "x", Status: StatusStarted})
	post := func(h http.Header, body []byte) int {
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", ContentType)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	signed := func(secret []byte, id string, body []byte, at time.Time) http.Header {
		h := http.Header{}
		SignRequest(h, secret, id, body, at)
		return h
	}
	other := testEvent("vm-666", "x-1", 1, TypeReady, Data{Result: ResultReady})
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   int
		err    error
	}{
		{"good", signed(secret, "b-1", good, now), good, 204, nil},
		{"duplicate", signed(secret, "b-1", good, now.Add(time.Second)), good, 204, nil},
		{"unsigned", http.Header{}, good, 401, ErrUnsigned},
		{"bad signature", signed([]byte("guess"), "b-1", good, now), good, 401, ErrBadSignature},
		{"replayed old timestamp", signed(secret, "b-1", good, now.Add(-time.Hour)), good, 401, ErrStale},
		{"unknown instance, signed", signed(secret, "x-1", other, now), other, 403, ErrUnknownInstance},
		{"wrong content type", http.Header{"Content-Type": {"text/plain"}}, good, 415, ErrMalformed},
		{"not JSON", signed(secret, "b-2", []byte("{"), now), []byte("{"), 401, ErrBadSignature}, // id not in the body
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rejects = nil
			if code := post(tt.header, tt.body); code != tt.want {
				t.Errorf("POST %s = %d, want %d", tt.name, code, tt.want)
			}
			if tt.err != nil && (len(rejects) != 1 || !errors.Is(rejects[0], tt.err)) {
				t.Errorf("OnReject got %v, want one %v", rejects, tt.err)
			}
		})
	}
	if diff := cmp.Diff([]string{"b-1"}, got); diff != "" {
		t.Errorf("events passed on (-want +got):\n%s", diff)
	}
	if st := r.Stats(); st != (Stats{Accepted: 1, Duplicates: 1, Rejected: 6}) {
		t.Errorf("Stats() = %+v, want 1 accepted, 1 duplicate, 6 rejected", st)
	}
}

func TestOutcome(t *testing.T) {
	ready := Data{Result: ResultReady, Percent: 100}
	retry, fatal := Data{Result: ResultRetry, Step: "network"}, Data{Result: ResultFatal, Step: "validate"}
	type ev struct {
		inst string
		d    Data
	}
	tests := []struct {
		name      string
		instances []string
		expect    int
		events    []ev
		wantDone  bool
		wantCode  int
	}{
		{"nothing yet", nil, 2, nil, false, 0},
		{"one of two ready", nil, 2, []ev{{"a", ready}}, false, 0},
		{"two of two ready", nil, 2, []ev{{"a", ready}, {"b", ready}}, true, OutcomeReady},
		{"fatal wins", nil, 2, []ev{{"a", retry}, {"b", fatal}}, true, OutcomeFatal},
		{"retry", nil, 2, []ev{{"a", ready}, {"b", retry}}, true, OutcomeRetry},
		{"listed instances", []string{"a", "b"}, 0, []ev{{"a", ready}}, false, 0},
		{"listed instances all ready", []string{"a", "b"}, 0, []ev{{"b", ready}, {"a", ready}}, true, OutcomeReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReceiver(ReceiverConfig{Instances: tt.instances, Expect: tt.expect})
			for i, e := range tt.events {
				body := testEvent(e.inst, fmt.Sprintf("%s-%d", e.inst, i), 1, TypeReady, e.d)
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
				req.Header.Set("Content-Type", ContentType)
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != 204 {
					t.Fatalf("POST = %d", w.Code)
				}
			}
			done, code, why := r.Outcome()
			if done != tt.wantDone || code != tt.wantCode {
				t.Errorf("Outcome(%d) = %v, %d (%s), want %v, %d", tt.expect, done, code, why, tt.wantDone, tt.wantCode)
			}
		})
	}
}

// TestFaultRecovery: the receiver is down, an agent (a Sender with a
// spool) is killed while an event is in flight and restarted as a new
// boot; when the receiver is back, every event has arrived exactly once
// after deduplication, in emission order.
func TestFaultRecovery(t *testing.T) {
	secret := []byte("k")
	dir := t.TempDir()

	// A port that refuses connections until the receiver listens on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr + "/events"

	var mu sync.Mutex
	var accepted []string
	raw := 0
	inFlight := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	recv := NewReceiver(ReceiverConfig{Secret: secret, Instances: []string{"inst-1"},
		OnEvent: func(ev Event, _ []byte) {
			mu.Lock()
			accepted = append(accepted, ev.ID)
			mu.Unlock()
		}})
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		raw++
		mu.Unlock()
		id := req.Header.Get(HeaderID)
		rw := httptest.NewRecorder()
		recv.ServeHTTP(rw, req)
		if id == "boot1-3" {
			// Processed, but the agent dies before it reads the answer.
			once.Do(func() { close(inFlight); <-release })
		}
		w.WriteHeader(rw.Code)
	})
	up := func() *http.Server {
		var l net.Listener
		var err error
		for i := 0; i < 100; i++ {
			if l, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("listening again on %s: %v", addr, err)
		}
		srv := &http.Server{Handler: handler}
		go srv.Serve(l)
		return srv
	}

	cfg := fastConfig(url)
	cfg.Secret = secret
	cfg.MaxInterval = 20 * time.Millisecond
	cfg.MaxElapsed = time.Minute

	// Boot 1: receiver down while the first events are emitted.
	a := NewSender(testLogger(t), "boot1")
	if err := a.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	emitSteps(a, 1, 2)
	if err := a.Start(cfg); err != nil {
		t.Fatal(err)
	}
	emitSteps(a, 3, 2)
	time.Sleep(50 * time.Millisecond) // a few refused connections
	srv := up()
	<-inFlight // boot1-1, -2 delivered, -3 processed but not acknowledged
	a.Close()  // killed
	close(release)
	srv.Close() // the receiver goes down again

	// Boot 2: the agent restarts with the manager still down.
	b := NewSender(testLogger(t), "boot2")
	defer b.Close()
	if err := b.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(cfg); err != nil {
		t.Fatal(err)
	}
	emitSteps(b, 1, 4)
	time.Sleep(50 * time.Millisecond)
	srv = up()
	defer srv.Close()
	if err := b.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}

	want := append(wantIDs("boot1", 4), wantIDs("boot2", 4)...)
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, accepted); diff != "" {
		t.Errorf("events after dedup (-want +got):\n%s", diff)
	}
	if st := recv.Stats(); st.Duplicates < 1 {
		t.Errorf("Stats() = %+v, want boot1-3 received twice", st)
	}
	if got := spoolIDs(t, dir); len(got) != 0 {
		t.Errorf("spool after delivery = %v, want empty", got)
	}
}

// loadTest runs agents Senders of events each against one signed Receiver
// on 127.0.0.1 and checks every event arrived once, in order per agent.
// It returns the time taken and the heap the receiver holds at the end
// (after a GC, less the heap before it started).
func loadTest(tb testing.TB, agents, events int) (time.Duration, uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	secret := []byte("load")
	var mu sync.Mutex
	last := map[string]Sequence{}
	var disorder atomic.Int64
	recv := NewReceiver(ReceiverConfig{Secret: secret, OnEvent: func(ev Event, _ []byte) {
		mu.Lock()
		if ev.Sequence != last[ev.Source]+1 {
			disorder.Add(1)
		}
		last[ev.Source] = ev.Sequence
		mu.Unlock()
	}})
	srv := httptest.NewServer(recv)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: agents}
	defer tr.CloseIdleConnections()

	start := time.Now()
	var wg sync.WaitGroup
	for i := range agents {
		wg.Go(func() {
			s := NewSender(nil, fmt.Sprintf("boot%d", i))
			defer s.Close()
			// One shared transport keeping one connection per agent, as
			// 1,000 VMs with a client each would.
			err := s.Start(Config{URL: srv.URL, InstanceID: fmt.Sprintf("vm-%d", i), Attempt: 1, Secret: secret,
				HTTPClient: &http.Client{Transport: tr}, InitialInterval: 5 * time.Millisecond, MaxInterval: 100 * time.Millisecond})
			if err != nil {
				tb.Error(err)
				return
			}
			for j := 1; j <= events; j++ {
				s.Emit(TypeStepFinished, Data{Step: "s", Status: StatusOK, Percent: j * 100 / events})
			}
			if err := s.Wait(tb.Context()); err != nil {
				tb.Errorf("agent %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := recv.Stats()
	if st.Accepted != agents*events || st.Rejected != 0 || disorder.Load() != 0 {
		tb.Errorf("receiver stats %+v with %d out of order, want %d accepted, none rejected or out of order", st, disorder.Load(), agents*events)
	}
	if n := len(recv.VMs()); n != agents {
		tb.Errorf("receiver knows %d VMs, want %d", n, agents)
	}
	// Close the connections, so that what is left is the receiver's own
	// state: its dedup marks and VM table.
	srv.Close()
	tr.CloseIdleConnections()
	runtime.GC()
	runtime.GC() // a second time, for what sync.Pools held
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(recv)
	return elapsed, after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)
}

// TestLoad is the load check at a size that suits every test run;
// BenchmarkReceiverLoad runs it with 1,000 agents.
func TestLoad(t *testing.T) {
	loadTest(t, 100, 20)
}

// BenchmarkReceiverLoad: 1,000 agents x 20 signed events, concurrently, to
// one Receiver on 127.0.0.1. Reports events/s and the receiver's heap
// after, its connections closed (its dedup state and VM table for 1,000
// instances).
func BenchmarkReceiverLoad(b *testing.B) {
	const agents, events = 1000, 20
	var total time.Duration
	var heap uint64
	for b.Loop() {
		d, h := loadTest(b, agents, events)
		total += d
		heap = h
	}
	b.ReportMetric(float64(agents*events*b.N)/total.Seconds(), "events/s")
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap-after")
}
