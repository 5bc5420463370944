package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// spoolIDs returns the ids of the events in a spool directory, in file
// name order.
func spoolIDs(t *testing.T, dir string) []string {
	t.Helper()
	var ids []string
	for _, ev := range spoolEvents(t, dir) {
		ids = append(ids, ev.ID)
	}
	return ids
}

// request is one POST the test server received.
type request struct {
	n       int // 1-based request number
	header  http.Header
	body    []byte
	event   Event
	replied int
}

// recorder is an httptest server on 127.0.0.1 that records every request
// and answers with reply(n, event); every body is checked against
// event.schema.json when the test ends.
type recorder struct {
	t     *testing.T
	srv   *httptest.Server
	reply func(n int, ev Event) int

	mu   sync.Mutex
	reqs []request
}

func newRecorder(t *testing.T, reply func(n int, ev Event) int) *recorder {
	t.Helper()
	r := &recorder{t: t, reply: reply}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	t.Cleanup(r.validateAll)
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("reading request body: %v", err)
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("request body %q is not an event: %v", body, err)
	}
	r.mu.Lock()
	n := len(r.reqs) + 1
	code := http.StatusNoContent
	if r.reply != nil {
		code = r.reply(n, ev)
	}
	h := req.Header.Clone()
	h.Set("X-Test-Method", req.Method)
	r.reqs = append(r.reqs, request{n: n, header: h, body: body, event: ev, replied: code})
	r.mu.Unlock()
	w.WriteHeader(code)
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// acked returns the ids of the events the server acknowledged, in arrival order.
func (r *recorder) acked() []string {
	var ids []string
	for _, q := range r.requests() {
		if q.replied >= 200 && q.replied < 300 {
			ids = append(ids, q.event.ID)
		}
	}
	return ids
}

func (r *recorder) validateAll() {
	for _, q := range r.requests() {
		if errs := validateEvent(r.t, q.body); len(errs) != 0 {
			r.t.Errorf("request %d %s does not match event.schema.json: %q", q.n, q.body, errs)
		}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func fastConfig(url string) Config {
	return Config{
		URL:             url,
		InstanceID:      "inst-1",
		Attempt:         2,
		InitialInterval: time.Millisecond,
		MaxInterval:     5 * time.Millisecond,
		MaxElapsed:      5 * time.Second,
		RequestTimeout:  2 * time.Second,
	}
}

// stepEvents emits n schema-valid events: step started/finished pairs.
func emitSteps(s *Sender, from, n int) {
	for i := from; i < from+n; i++ {
		if i%2 == 1 {
			s.Emit(TypeStepStarted, Data{Step: fmt.Sprintf("step%d", i), Status: StatusStarted})
		} else {
			s.Emit(TypeStepFinished, Data{Step: fmt.Sprintf("step%d", i-1), Status: StatusOK, DurationMS: int64(i)})
		}
	}
}

func wantIDs(boot string, n int) []string {
	var ids []string
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprintf("%s-%d", boot, i))
	}
	return ids
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOrderUnderFailures(t *testing.T) {
	tests := []struct {
		name  string
		reply func(n int, ev Event) int
	}{
		{"all ok", func(int, Event) int { return 200 }},
		{"first 5 tries 503", func(n int, _ Event) int {
			if n <= 5 {
				return 503
			}
			return 202
		}},
		{"every odd try 500", func(n int, _ Event) int {
			if n%2 == 1 {
				return 500
			}
			return 204
		}},
		{"408 and 429 retried", func(n int, _ Event) int {
			switch n % 3 {
			case 1:
				return 408
			case 2:
				return 429
			}
			return 200
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, tt.reply)
			s := NewSender(testLogger(t), "boot7")
			defer s.Close()
			emitSteps(s, 1, 4) // before Start
			if err := s.Start(fastConfig(rec.srv.URL + "/events")); err != nil {
				t.Fatalf("Start() = %v, want nil", err)
			}
			emitSteps(s, 5, 4)
			if err := s.Wait(waitCtx(t)); err != nil {
				t.Fatalf("Wait() = %v, want nil", err)
			}
			if got := s.Pending(); got != 0 {
				t.Errorf("Pending() = %d after Wait, want 0", got)
			}
			if diff := cmp.Diff(wantIDs("boot7", 8), rec.acked()); diff != "" {
				t.Errorf("acknowledged ids (-want +got):\n%s", diff)
			}
			// Retries resend the same event: the ids of all requests, with
			// consecutive repeats removed, are the events in order.
			var seen []string
			var seqs []Sequence
			for _, q := range rec.requests() {
				if len(seen) == 0 || seen[len(seen)-1] != q.event.ID {
					seen = append(seen, q.event.ID)
					seqs = append(seqs, q.event.Sequence)
				}
			}
			if diff := cmp.Diff(wantIDs("boot7", 8), seen); diff != "" {
				t.Errorf("request ids without repeats (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]Sequence{1, 2, 3, 4, 5, 6, 7, 8}, seqs); diff != "" {
				t.Errorf("sequences (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeadersAndShape(t *testing.T) {
	rec := newRecorder(t, nil)
	s := NewSender(testLogger(t), "b1")
	defer s.Close()
	before := time.Now()
	s.Emit(TypeStepStarted, Data{Step: "hostname", Status: StatusStarted})
	if err := s.Start(fastConfig(rec.srv.URL + "/hook")); err != nil {
		t.Fatalf("Start() = %v, want nil", err)
	}
	retry := false
	s.Emit(TypeFailed, Data{InstanceID: "explicit", Attempt: 5, Result: ResultFatal, Retry: &retry, Message: "ovfinit.net.mac: no network interface has MAC 52:54:00:00:00:01"})
	s.Emit(TypeReady, Data{Result: ResultReady, Hostname: "vm1", Addresses: []string{"10.0.2.15"}, SSHPort: 22,
		SSHHostKeys: []HostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:abc"}}})
	if err := s.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	after := time.Now()

	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("server got %d requests, want 3", len(reqs))
	}
	for _, q := range reqs {
		for k, want := range map[string]string{"X-Test-Method": "POST", "Content-Type": ContentType, "User-Agent": "ovfinit"} {
			if got := q.header.Get(k); got != want {
				t.Errorf("request %d header %s = %q, want %q", q.n, k, got, want)
			}
		}
		if q.event.Time.Before(before) || q.event.Time.After(after) {
			t.Errorf("request %d time = %v, want between %v and %v", q.n, q.event.Time, before, after)
		}
	}

	want := []Event{
		{SpecVersion: "1.0", ID: "b1-1", Source: "urn:ovfinit:instance:inst-1", Type: TypeStepStarted, Sequence: 1, DataContentType: "application/json",
			Data: Data{InstanceID: "inst-1", Attempt: 2, Boot: "b1", Step: "hostname", Status: StatusStarted}},
		{SpecVersion: "1.0", ID: "b1-2", Source: "urn:ovfinit:instance:inst-1", Type: TypeFailed, Sequence: 2, DataContentType: "application/json",
			Data: Data{InstanceID: "explicit", Attempt: 5, Boot: "b1", Result: ResultFatal, Retry: &retry, Message: "ovfinit.net.mac: no network interface has MAC 52:54:00:00:00:01"}},
		{SpecVersion: "1.0", ID: "b1-3", Source: "urn:ovfinit:instance:inst-1", Type: TypeReady, Sequence: 3, DataContentType: "application/json",
			Data: Data{InstanceID: "inst-1", Attempt: 2, Boot: "b1", Result: ResultReady, Hostname: "vm1", Addresses: []string{"10.0.2.15"}, SSHPort: 22,
				SSHHostKeys: []HostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:abc"}}}},
	}
	var got []Event
	for _, q := range reqs {
		got = append(got, q.event)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Event{}, "Time")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// The exact wire names, and omitempty on data.
	var raw map[string]any
	if err := json.Unmarshal(reqs[0].body, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	wantKeys := []string{"data", "datacontenttype", "id", "sequence", "source", "specversion", "time", "type"}
	if diff := cmp.Diff(wantKeys, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("envelope keys (-want +got):\n%s", diff)
	}
	wantData := map[string]any{"instanceId": "inst-1", "attempt": 2.0, "boot": "b1", "step": "hostname", "status": "started"}
	if diff := cmp.Diff(wantData, raw["data"]); diff != "" {
		t.Errorf("data of first event (-want +got):\n%s", diff)
	}
}

func TestPermanentRejectionDropsAndContinues(t *testing.T) {
	tests := []struct {
		code  int
		tries int // requests the rejected event gets
	}{
		{400, 1},
		{403, 1},
		{404, 1},
		{410, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			rec := newRecorder(t, func(_ int, ev Event) int {
				if ev.Sequence == 2 {
					return tt.code
				}
				return 200
			})
			s := NewSender(testLogger(t), "b")
			defer s.Close()
			if err := s.Start(fastConfig(rec.srv.URL)); err != nil {
				t.Fatalf("Start() = %v, want nil", err)
			}
			emitSteps(s, 1, 4)
			if err := s.Wait(waitCtx(t)); err != nil {
				t.Fatalf("Wait() = %v, want nil", err)
			}
			if diff := cmp.Diff([]string{"b-1", "b-3", "b-4"}, rec.acked()); diff != "" {
				t.Errorf("acknowledged ids (-want +got):\n%s", diff)
			}
			tries := 0
			for _, q := range rec.requests() {
				if q.event.ID == "b-2" {
					tries++
				}
			}
			if tries != tt.tries {
				t.Errorf("event b-2 answered %d was sent %d times, want %d", tt.code, tries, tt.tries)
			}
		})
	}
}

func TestGivesUpAfterMaxElapsed(t *testing.T) {
	rec := newRecorder(t, func(_ int, ev Event) int {
		if ev.Sequence == 1 {
			return 503
		}
		return 200
	})
	dir := t.TempDir()
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	if err := s.OpenSpool(dir); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(rec.srv.URL)
	// Long enough for retries where a request takes tens of milliseconds
	// (the Windows test binary under Wine on a loaded machine: 50 ms
	// allowed only 2 requests there).
	cfg.MaxElapsed = 500 * time.Millisecond
	if err := s.Start(cfg); err != nil {
		t.Fatalf("Start() = %v, want nil", err)
	}
	emitSteps(s, 1, 2)
	if err := s.Wait(waitCtx(t)); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("Wait() = %v, want %v", err, ErrGaveUp)
	}
	// Delivery stopped at the first event: the second was never sent, and
	// both stay in the spool for the next run.
	if got := rec.acked(); len(got) != 0 {
		t.Errorf("acknowledged ids = %v, want none", got)
	}
	for _, q := range rec.requests() {
		if q.event.ID != "b-1" {
			t.Errorf("request %d sent %s after delivery gave up on b-1", q.n, q.event.ID)
		}
	}
	if n := len(rec.requests()); n < 3 {
		t.Errorf("server got %d requests, want at least 3 (retries of b-1)", n)
	}
	if got := spoolIDs(t, dir); !cmp.Equal(got, []string{"b-1", "b-2"}) {
		t.Errorf("spool after giving up = %v, want [b-1 b-2]", got)
	}
}

// TestLimitIsOverall: the limit counts time without any acknowledgement,
// not time per event or in all: every event fails for a while, together
// far longer than MaxElapsed, and all are delivered.
func TestLimitIsOverall(t *testing.T) {
	tries := map[string]int{}
	rec := newRecorder(t, func(_ int, ev Event) int {
		tries[ev.ID]++ // serve runs under the recorder's lock
		if tries[ev.ID] < 3 {
			time.Sleep(10 * time.Millisecond)
			return 503
		}
		return 200
	})
	s := NewSender(testLogger(t), "b")
	defer s.Close()
	cfg := fastConfig(rec.srv.URL)
	cfg.MaxElapsed = 200 * time.Millisecond
	if err := s.Start(cfg); err != nil {
		t.Fatalf("Start() = %v, want nil", err)
	}
	start := time.Now()
	emitSteps(s, 1, 12)
	if err := s.Wait(waitCtx(t)); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	if d := time.Since(start); d < cfg.MaxElapsed {
		t.Logf("delivery took %v, less than MaxElapsed %v: the test proves less than it should", d, cfg.MaxElapsed)
	}
	if diff := cmp.Diff(wantIDs("b", 12), rec.acked()); diff != "" {
		t.Errorf("acknowledged ids (-want +got):\n%s", diff)
	}
}

func TestWait(t *testing.T) {
	t.Run("nothing emitted", func(t *testing.T) {
		s := NewSender(testLogger(t), "b")
		defer s.Close()
		if err := s.Wait(waitCtx(t)); err != nil {
			t.Errorf("Wait() = %v, want nil", err)
		}
	})
	t.Run("not started", func(t *testing.T) {
		s := NewSender(testLogger(t), "b")
		defer s.Close()
		emitSteps(s, 1, 3)
		if err := s.Wait(waitCtx(t)); !errors.Is(err, ErrNotStarted) {
			t.Errorf("Wait() = %v, want %v", err, ErrNotStarted)
		}
		if got := s.Pending(); got != 3 {
			t.Errorf("Pending() = %d, want 3", got)
		}
	})
	t.Run("context ends", func(t *testing.T) {
		rec := newRecorder(t, func(int, Event) int { return 503 })
		s := NewSender(testLogger(t), "b")
		defer s.Close()
		if err := s.Start(fastConfig(rec.srv.URL)); err != nil {
			t.Fatalf("Start() = %v, want nil", err)
		}
		emitSteps(s, 1, 2)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := s.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait() = %v, want %v", err, context.DeadlineExceeded)
		}
		if got := s.Pending(); got != 2 {
			t.Errorf("Pending() = %d, want 2", got)
		}
	})
	t.Run("only events emitted before the call", func(t *testing.T) {
		block := make(chan struct{})
		rec := newRecorder(t, func(_ int, ev Event) int {
			if ev.Sequence == 2 {
				<-block
			}
			return 200
		})
		defer close(block)
		s := NewSender(testLogger(t), "b")
		defer s.Close()
		if err := s.Start(fastConfig(rec.srv.URL)); err != nil {
			t.Fatalf("Start() = %v, want nil", err)
		}
		emitSteps(s, 1, 1)
		if err := s.Wait(waitCtx(t)); err != nil {
			t.Fatalf("Wait() = %v, want nil", err)
		}
		emitSteps(s, 2, 1) // blocks in the server
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := s.Wait(ctx); err == nil {
			t.Errorf("Wait() with event 2 blocked = nil, want an error")
		}
	})
	t.Run("closed", func(t *testing.T) {
		rec := newRecorder(t, func(int, Event) int { return 503 })
		s := NewSender(testLogger(t), "b")
		if err := s.Start(fastConfig(rec.srv.URL)); err != nil {
			t.Fatalf("Start() = %v, want nil", err)
		}
		emitSteps(s, 1, 1)
		go func() {
			time.Sleep(20 * time.Millisecond)
			s.Close()
		}()
		if err := s.Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
			t.Errorf("Wait() = %v, want %v", err, ErrClosed)
		}
	})
}

func TestClose(t *testing.T) {
	rec := newRecorder(t, nil)
	s := NewSender(testLogger(t), "b")
	emitSteps(s, 1, 2)
	s.Close()
	if got := s.Pending(); got != 0 {
		t.Errorf("Pending() after Close = %d, want 0", got)
	}
	s.Emit(TypeStepStarted, Data{Step: "x", Status: StatusStarted})
	if got := s.Pending(); got != 0 {
		t.Errorf("Pending() after Close and Emit = %d, want 0", got)
	}
	if err := s.Start(fastConfig(rec.srv.URL)); !errors.Is(err, ErrClosed) {
		t.Errorf("Start() after Close = %v, want %v", err, ErrClosed)
	}
	s.Close() // twice is fine
	if n := len(rec.requests()); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}

	t.Run("start twice", func(t *testing.T) {
		s := NewSender(testLogger(t), "b")
		defer s.Close()
		if err := s.Start(fastConfig(rec.srv.URL)); err != nil {
			t.Fatalf("Start() = %v, want nil", err)
		}
		if err := s.Start(fastConfig(rec.srv.URL)); !errors.Is(err, ErrAlreadyStarted) {
			t.Errorf("second Start() = %v, want %v", err, ErrAlreadyStarted)
		}
	})
}

func TestStartValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty", Config{InstanceID: "i"}, "ovfinit.callback.url: empty"},
		{"ftp", Config{URL: "ftp://host/x?token=s3cret", InstanceID: "i"}, `ovfinit.callback.url: scheme "ftp" is not http or https`},
		{"no scheme", Config{URL: "host.example/path", InstanceID: "i"}, `ovfinit.callback.url: scheme "" is not http or https`},
		{"no host", Config{URL: "http:///path?token=s3cret", InstanceID: "i"}, "ovfinit.callback.url: no host"},
		{"opaque", Config{URL: "https:s3cret", InstanceID: "i"}, "ovfinit.callback.url: no host"},
		{"bad port", Config{URL: "http://u:s3cret@host:port/", InstanceID: "i"}, "ovfinit.callback.url: "},
		{"control char", Config{URL: "http://host/\x7fs3cret", InstanceID: "i"}, "ovfinit.callback.url: "},
		{"no instance id", Config{URL: "http://127.0.0.1/"}, "callback: empty instance id"},
		{"negative attempt", Config{URL: "http://127.0.0.1/", InstanceID: "i", Attempt: -1}, "attempt -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSender(testLogger(t), "b")
			defer s.Close()
			err := s.Start(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start(%q) = %v, want an error containing %q", tt.cfg.URL, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Start(%q) = %v, which repeats the secret", tt.cfg.URL, err)
			}
		})
	}
}

func TestSecretsNotLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}))
	t.Cleanup(srv.Close)
	// The server is closed before delivery: every attempt is a dial error,
	// which net/http reports with the URL.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	for _, base := range []string{srv.URL, closedURL} {
		t.Run(base, func(t *testing.T) {
			var buf bytes.Buffer
			var bmu sync.Mutex
			log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &bmu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := NewSender(log, "b")
			u := strings.Replace(base, "http://", "http://user:pa55word@", 1) + "/hook?token=s3cret#frag"
			cfg := fastConfig(u)
			cfg.MaxElapsed = 30 * time.Millisecond
			if err := s.Start(cfg); err != nil {
				t.Fatalf("Start() = %v, want nil", err)
			}
			emitSteps(s, 1, 1)
			if err := s.Wait(waitCtx(t)); !errors.Is(err, ErrGaveUp) {
				t.Fatalf("Wait() = %v, want %v", err, ErrGaveUp)
			}
			s.Close()
			bmu.Lock()
			out := buf.String()
			bmu.Unlock()
			for _, secret := range []string{"s3cret", "pa55word", "user:", "frag"} {
				if strings.Contains(out, secret) {
					t.Errorf("log contains %q:\n%s", secret, out)
				}
			}
			if want := base + "/hook"; !strings.Contains(out, want) {
				t.Errorf("log does not name the endpoint %q:\n%s", want, out)
			}
			if !strings.Contains(out, "retrying") || !strings.Contains(out, "delivery stopped") {
				t.Errorf("log lacks the retry and give-up lines:\n%s", out)
			}
		})
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
