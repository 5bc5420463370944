package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

// Event types the agent sends, written out here rather than taken from
// package callback so that the VM tests check the wire format on their own.
const (
	TypeStepStarted  = "org.ovfinit.step.started"
	TypeStepFinished = "org.ovfinit.step.finished"
	TypeReady        = "org.ovfinit.ready"
	TypeFailed       = "org.ovfinit.failed"
	TypeProgress     = "org.ovfinit.progress"  // a script's progress() call
	TypeReserved     = "org.ovfinit.reserved"  // `ovfinit reserve`
	TypeSanitized    = "org.ovfinit.sanitized" // `ovfinit sanitize`
	TypeLogin        = "org.ovfinit.login"     // an SSH login to the embedded server
)

// KnownTypes is every type the recorder accepts without complaint. An event
// of another type is recorded and also reported in Errors, so a type added
// to the agent but not to this list fails the VM tests until it is
// documented here.
var KnownTypes = []string{TypeStepStarted, TypeStepFinished, TypeReady, TypeFailed, TypeProgress, TypeReserved, TypeSanitized, TypeLogin}

// Event is one CloudEvent (structured JSON mode) as the agent posts it.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Time            time.Time `json:"time"`
	Sequence        Sequence  `json:"sequence"`
	DataContentType string    `json:"datacontenttype"`
	Data            EventData `json:"data"`

	// Received is when the recorder got the event.
	Received time.Time `json:"-"`
	// Raw is the request body.
	Raw json.RawMessage `json:"-"`
	// Header is the request's headers (the signature's among them).
	Header http.Header `json:"-"`
}

// Signed is one signed message the recorder saw, exactly as it went over
// the wire: an event, a system request or the system's answer. A test
// checks them with a Standard Webhooks library (internal/webhooktest).
type Signed struct {
	Kind     string // "event", "system request", "system answer"
	Header   http.Header
	Body     []byte
	Received time.Time
}

// EventData is the agent's payload.
type EventData struct {
	InstanceID  string    `json:"instanceId"`
	Attempt     int       `json:"attempt"`
	Boot        Flex      `json:"boot"`
	Step        string    `json:"step"`
	Status      string    `json:"status"`
	Percent     int       `json:"percent"`
	Message     string    `json:"message"`
	DurationMs  float64   `json:"durationMs"`
	Result      string    `json:"result"`
	Retry       bool      `json:"retry"`
	Hostname    string    `json:"hostname"`
	Addresses   []string  `json:"addresses"`
	SSHPort     int       `json:"sshPort"`
	SSHHostKeys []HostKey `json:"sshHostKeys"`
}

// HostKey is one SSH host key the agent reports.
type HostKey struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
	Key         string `json:"key"` // the public key, as in known_hosts
}

// Sequence is the CloudEvents sequence attribute: a JSON number or a
// decimal string.
type Sequence int64

// UnmarshalJSON accepts 7 and "7".
func (s *Sequence) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		b = []byte(str)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("sequence %s: not an integer", b)
	}
	*s = Sequence(n)
	return nil
}

// Flex holds a JSON string or number as text.
type Flex string

// UnmarshalJSON accepts a string, a number or null.
func (f *Flex) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = Flex(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = Flex(b)
	return nil
}

// String formats an event as one readable line:
// "12:00:01.234 step.finished network ok (35ms)".
func (e Event) String() string {
	typ := e.Type
	if len(typ) > len("org.ovfinit.") && typ[:len("org.ovfinit.")] == "org.ovfinit." {
		typ = typ[len("org.ovfinit."):]
	}
	s := e.Received.Format("15:04:05.000") + " " + typ
	d := e.Data
	if d.Step != "" {
		s += " " + d.Step
	}
	if d.Status != "" && d.Status != "started" {
		s += " " + d.Status
	}
	if d.Result != "" && d.Result != typ {
		s += " " + d.Result
	}
	if e.Type == TypeProgress || e.Type == TypeReady {
		s += fmt.Sprintf(" %d%%", d.Percent)
	}
	if e.Type != TypeStepStarted && d.DurationMs > 0 {
		s += fmt.Sprintf(" (%dms)", int64(d.DurationMs))
	}
	if d.Message != "" {
		s += ": " + d.Message
	}
	return s
}

// Recorder is the manager's side of the callbacks: an HTTP server on
// 127.0.0.1 that records every CloudEvent posted to /events.
type Recorder struct {
	ln     net.Listener
	srv    *http.Server
	secret []byte // nil: signatures are not checked

	mu      sync.Mutex
	events  []Event
	errs    []error
	changed chan struct{} // closed and replaced on every new event
	subs    []chan Event
	signed  []Signed
	badSigs []error // requests refused for their signature; Reset keeps them

	system  http.Handler         // answers the system protocol; nil: refused
	observe func(callback.Event) // told of every event, for the system's state
}

// maxSigned bounds the signed messages kept.
const maxSigned = 10000

// SetSystem makes the recorder a system manager too: requests of the
// system protocol (by their Content-Type) go to h, and every event
// recorded is passed to observe (manager/system.State.Observe).
func (r *Recorder) SetSystem(h http.Handler, observe func(callback.Event)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.system, r.observe = h, observe
}

// SignedMessages returns the signed messages seen since the recorder
// started (Reset keeps them), at most 10,000.
func (r *Recorder) SignedMessages() []Signed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.signed)
}

// SignatureErrors returns every request refused (401) for a missing or bad
// signature since the recorder started: Reset keeps them, so a test can
// check at its end that no message of any boot went unsigned.
func (r *Recorder) SignatureErrors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.badSigs)
}

// Secret is the secret the recorder checks signatures with; nil when it
// does not.
func (r *Recorder) Secret() []byte { return r.secret }

// keepSigned records a signed message; r.mu must be held.
func (r *Recorder) keepSigned(kind string, h http.Header, body []byte) {
	if h.Get(callback.HeaderSignature) != "" && len(r.signed) < maxSigned {
		r.signed = append(r.signed, Signed{Kind: kind, Header: h.Clone(), Body: bytes.Clone(body), Received: time.Now()})
	}
}

// serveSystem hands a system request to the system handler and records
// the request and the answer.
func (r *Recorder) serveSystem(w http.ResponseWriter, req *http.Request, body []byte) {
	r.mu.Lock()
	h := r.system
	r.keepSigned("system request", req.Header, body)
	r.mu.Unlock()
	if h == nil {
		r.fail(w, http.StatusNotFound, fmt.Errorf("system request, but the recorder serves no system: %s", body))
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	ans := rec.Body.Bytes()
	if res.StatusCode != http.StatusOK {
		r.fail(w, res.StatusCode, fmt.Errorf("system request refused with %d: %s", res.StatusCode, body))
		return
	}
	r.mu.Lock()
	r.keepSigned("system answer", res.Header, ans)
	r.mu.Unlock()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(ans)
}

// NewRecorder starts a recorder on a free port of 127.0.0.1.
func NewRecorder() (*Recorder, error) { return NewSignedRecorder(nil) }

// NewSignedRecorder starts a recorder that verifies the signature of every
// event and system request with secret (callback.Verify): an unsigned or
// badly signed one is answered 401 and recorded in Errors and
// SignatureErrors, not in Events. A nil secret checks nothing.
func NewSignedRecorder(secret []byte) (*Recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the callback recorder: %w", err)
	}
	r := &Recorder{ln: ln, changed: make(chan struct{}), secret: secret}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", r.handle)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Port is the recorder's TCP port on 127.0.0.1.
func (r *Recorder) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// URL is the events URL as the host reaches it.
func (r *Recorder) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/events", r.Port()) }

// GuestURL is the events URL as a qemu user-network guest reaches it
// (10.0.2.2 is the host's 127.0.0.1).
func (r *Recorder) GuestURL() string { return fmt.Sprintf("http://10.0.2.2:%d/events", r.Port()) }

func (r *Recorder) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		r.fail(w, http.StatusBadRequest, fmt.Errorf("reading event: %w", err))
		return
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	system := err == nil && mt == callback.SystemContentType
	if !system && (err != nil || mt != "application/cloudevents+json") {
		r.fail(w, http.StatusUnsupportedMediaType, fmt.Errorf("event with Content-Type %q, want application/cloudevents+json: %s", req.Header.Get("Content-Type"), body))
		return
	}
	if r.secret != nil {
		// Events and system requests alike: with a secret, nothing
		// unsigned or badly signed gets through.
		if _, err := callback.Verify(r.secret, req.Header, body, time.Now(), 0); err != nil {
			err = fmt.Errorf("%s %s: %w", mt, body, err)
			r.mu.Lock()
			if len(r.badSigs) < maxSigned {
				r.badSigs = append(r.badSigs, err)
			}
			r.mu.Unlock()
			r.fail(w, http.StatusUnauthorized, err)
			return
		}
	}
	if system {
		r.serveSystem(w, req, body)
		return
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		r.fail(w, http.StatusBadRequest, fmt.Errorf("decoding event %s: %w", body, err))
		return
	}
	e.Received = time.Now()
	e.Raw = bytes.Clone(body)
	e.Header = req.Header.Clone()
	r.mu.Lock()
	r.keepSigned("event", req.Header, body)
	if r.observe != nil {
		var ce callback.Event
		if json.Unmarshal(body, &ce) == nil {
			r.observe(ce)
		}
	}
	if !slices.Contains(KnownTypes, e.Type) {
		r.errs = append(r.errs, fmt.Errorf("event %s has type %q, not one of %v", e.ID, e.Type, KnownTypes))
	}
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
	for _, c := range r.subs {
		select {
		case c <- e:
		default: // a subscriber that does not keep up loses events
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *Recorder) fail(w http.ResponseWriter, code int, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	http.Error(w, err.Error(), code)
}

// Events returns the events recorded since the last Reset, in arrival order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Errors returns the requests the recorder refused since the last Reset.
func (r *Recorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// Reset forgets the recorded events and errors (before the next boot).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.errs = nil, nil
}

// Subscribe returns a channel that receives each event from now on.
func (r *Recorder) Subscribe() <-chan Event {
	c := make(chan Event, 1024)
	r.mu.Lock()
	r.subs = append(r.subs, c)
	r.mu.Unlock()
	return c
}

// Wait returns the first recorded event (since Reset) of one of the given
// types, waiting for it until ctx ends.
func (r *Recorder) Wait(ctx context.Context, types ...string) (Event, error) {
	for {
		r.mu.Lock()
		for _, e := range r.events {
			for _, t := range types {
				if e.Type == t {
					r.mu.Unlock()
					return e, nil
				}
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("waiting for %v: %w", types, context.Cause(ctx))
		}
	}
}

// Close stops the server.
func (r *Recorder) Close() error { return r.srv.Close() }
