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
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Defaults for the zero fields of Config.
const (
	DefaultInitialInterval = 200 * time.Millisecond
	DefaultMaxInterval     = 10 * time.Second
	DefaultMaxElapsed      = 10 * time.Minute
	DefaultRequestTimeout  = 10 * time.Second
	DefaultMaxUnauthorized = 5
)

// Bounds of the queue (and so of the spool, which holds one file per queued
// event) while the manager does not acknowledge: every SSH login adds an
// event, and a VM may run for years with its manager gone.
const (
	// DefaultMaxQueued is the most events kept; over it the oldest are
	// dropped, except the outcomes (see keeps).
	DefaultMaxQueued = 1000
	// DefaultMaxAge is how old an undelivered event may get before it is
	// dropped, outcomes excepted.
	DefaultMaxAge = 7 * 24 * time.Hour
	// DefaultMaxLogins is the most login events kept: a new one makes the
	// oldest waiting one go, and says how many went so far.
	DefaultMaxLogins = 10
)

// MinClockCorrection is the smallest difference between this clock and the
// manager's (its Date header on a 401 answer) that the Sender corrects its
// signing timestamps for. Smaller differences cannot be why a receiver with
// the documented 5-minute window refused a signature.
const MinClockCorrection = time.Minute

// Errors returned by Start, OpenSpool and Wait.
var (
	ErrClosed         = errors.New("callback: sender closed")
	ErrNotStarted     = errors.New("callback: sender not started (no ovfinit.callback.url)")
	ErrAlreadyStarted = errors.New("callback: sender already started")
	ErrGaveUp         = errors.New("callback: manager unreachable for too long, delivery stopped")
	ErrUnauthorized   = errors.New("callback: manager refused the signature (401) repeatedly, delivery stopped")
)

// Config says where and how events are delivered. It is known only once the
// OVF environment has been read; events emitted before are kept.
type Config struct {
	URL        string // ovfinit.callback.url: http:// or https://
	InstanceID string // fills Data.InstanceID where empty; names the source
	Attempt    int    // fills Data.Attempt where zero

	// Secret is the secret (ovfinit.callback.secret) every request is
	// signed with, Standard Webhooks (see SignRequest; Key turns a
	// "whsec_" secret into its key); nil sends unsigned requests.
	Secret []byte
	// TLS sets the CA, pins and client certificate for https URLs.
	TLS TLSOptions

	// HTTPClient sends the requests. Nil means a client that does not
	// follow redirects (a redirected POST would silently become a GET) and
	// uses TLS. Setting both HTTPClient and TLS is an error.
	HTTPClient *http.Client

	InitialInterval time.Duration // first retry delay; default 200ms
	MaxInterval     time.Duration // cap on the retry delay; default 10s
	// MaxElapsed is the overall limit: once the manager has acknowledged
	// nothing for this long while events were waiting, delivery stops until
	// the next Start (the next run of the agent); the events stay in the
	// spool, or are dropped when there is none. Default 10m.
	MaxElapsed     time.Duration
	RequestTimeout time.Duration // per HTTP attempt; default 10s
	// MaxUnauthorized is how many 401 answers one event may get before
	// delivery stops for this run, the events staying in the spool (see
	// ErrUnauthorized); default 5.
	MaxUnauthorized int

	// Now is the clock that signs requests; time.Now when nil.
	Now func() time.Time
}

// queued is one event waiting for delivery, and its spool file ("" when
// it has none).
type queued struct {
	ev   Event
	file string
}

// Sender queues events and delivers them, one at a time and strictly in
// order, to the manager's URL. With a spool (OpenSpool) every event is on
// disk until acknowledged. Its methods are safe for concurrent use.
type Sender struct {
	log    *slog.Logger
	bootID string

	mu       sync.Mutex
	seq      int64    // last sequence number handed out
	enq      int64    // events queued so far, replayed ones included
	done     int64    // events delivered or dropped, in order
	queue    []queued // not yet delivered or dropped; queue[0] is in flight
	spool    *spool   // nil: events are kept in memory only
	started  bool
	closed   bool
	stopErr  error         // why delivery stopped for this run (ErrGaveUp, ErrUnauthorized); nil while it goes on
	skew     time.Duration // added to cfg.Now() when signing: the manager's clock minus ours, learnt from a 401
	cfg      Config
	source   string
	endpoint string        // URL without userinfo and query, for logs
	changed  chan struct{} // closed and replaced whenever done or closed changes
	wake     chan struct{} // buffered(1): new event queued
	netUp    chan struct{} // buffered(1): an address or a route appeared (NetworkChanged)
	cancel   context.CancelFunc
	stopped  chan struct{} // closed when the delivery goroutine has returned

	maxQueued, maxLogins int           // DefaultMaxQueued, DefaultMaxLogins
	maxAge               time.Duration // DefaultMaxAge
	dropped              int           // events dropped to bound the queue, this run
	loginsDropped        int           // login events among them
}

// NewSender returns a Sender that stamps event ids "<bootID>-<sequence>".
// It sends nothing until Start.
func NewSender(log *slog.Logger, bootID string) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{
		log:     log.With("component", "callback"),
		bootID:  bootID,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		netUp:   make(chan struct{}, 1),

		maxQueued: DefaultMaxQueued,
		maxLogins: DefaultMaxLogins,
		maxAge:    DefaultMaxAge,
	}
}

// keeps reports whether an event of type typ is never dropped to bound the
// queue: the outcome of a boot (ready, failed) or of a lifecycle command
// (reserved, sanitized).
func keeps(typ string) bool {
	switch typ {
	case TypeReady, TypeFailed, TypeReserved, TypeSanitized:
		return true
	}
	return false
}

// firstDroppable is the index of the first queued event that may be
// dropped: after Start, queue[0] may be in flight. s.mu must be held.
func (s *Sender) firstDroppable() int {
	if s.started && len(s.queue) > 0 {
		return 1
	}
	return 0
}

// bound drops, oldest first and order kept, the events older than maxAge
// and then as many as make the queue hold at most maxQueued, never an
// outcome (keeps) or the event in flight; with login, it first drops the
// oldest waiting login events so that maxLogins-1 remain, room for the new
// one. It returns how many logins it dropped. s.mu must be held.
func (s *Sender) bound(now time.Time, login bool) int {
	first := s.firstDroppable()
	logins := 0
	if login {
		for _, q := range s.queue[first:] {
			if q.ev.Type == TypeLogin {
				logins++
			}
		}
		logins -= s.maxLogins - 1 // how many logins to drop
	}
	excess := len(s.queue) - s.maxQueued
	if login {
		excess++ // the new event is not queued yet
	}
	droppedLogins, dropped := 0, 0
	kept := s.queue[:first]
	for _, q := range s.queue[first:] {
		old := s.maxAge > 0 && !q.ev.Time.IsZero() && now.Sub(q.ev.Time) > s.maxAge
		drop := !keeps(q.ev.Type) && (old || excess > 0 || (q.ev.Type == TypeLogin && logins > 0))
		if !drop {
			kept = append(kept, q)
			continue
		}
		if q.ev.Type == TypeLogin {
			logins--
			droppedLogins++
		}
		excess--
		dropped++
		s.dropFile(q)
		s.done++
		if s.dropped == 0 {
			s.log.Warn("the manager is not taking events; dropping the oldest undelivered ones (never ready, failed, reserved or sanitized), a count is logged at exit",
				"max_events", s.maxQueued, "max_age", s.maxAge, "max_logins", s.maxLogins, "first", q.ev.ID, "type", q.ev.Type)
		}
		s.dropped++
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.loginsDropped += droppedLogins
	if dropped > 0 {
		s.broadcast()
	}
	return droppedLogins
}

// OpenSpool keeps every event in dir (created 0700) until it is
// acknowledged: one file per event, written by temp file + fsync + rename,
// mode 0600, deleted on acknowledgement or permanent rejection. Events a
// previous run left there (it crashed, was killed, the VM rebooted, or the
// manager was unreachable) are queued first, in their original order, with
// their original ids; events emitted before OpenSpool are written after
// them. Call it before Start.
func (s *Sender) OpenSpool(dir string) error { return s.OpenSpoolAt("", dir) }

// OpenSpoolAt is OpenSpool for the directory dir (a slash path) under the
// directory tree root: an offline image's state directory is reached
// through rootfs, never through a link that leaves the image. With root ""
// dir is a host path, as for OpenSpool.
func (s *Sender) OpenSpoolAt(root, dir string) error {
	sp, found, bad, err := openSpool(root, dir)
	if err != nil {
		return err
	}
	for _, e := range bad {
		s.log.Warn("unreadable spool file set aside", "err", e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return ErrAlreadyStarted
	case s.spool != nil:
		return errors.New("callback: spool already open")
	}
	s.spool = sp
	for i := range s.queue {
		if name, err := sp.put(s.queue[i].ev); err != nil {
			s.log.Warn("event kept in memory only", "id", s.queue[i].ev.ID, "err", err)
		} else {
			s.queue[i].file = name
		}
	}
	if len(found) > 0 {
		s.log.Info("events from an earlier run found in the spool", "count", len(found), "dir", dir)
		s.queue = append(found, s.queue...)
		s.enq += int64(len(found))
		s.bound(time.Now(), false)
	}
	return nil
}

// Emit stamps an event of type typ carrying d with the next sequence number,
// an id and the current time, and queues it (and spools it, with a spool).
// It never blocks on the network. An empty d.Boot is set to the boot id;
// once Start has run, an empty d.InstanceID and a zero d.Attempt are filled
// from its Config. After Close, Emit drops the event.
func (s *Sender) Emit(typ string, d Data) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.log.Debug("sender closed, event dropped", "type", typ)
		return
	}
	s.seq++
	if d.Boot == "" {
		d.Boot = s.bootID
	}
	ev := Event{
		SpecVersion:     SpecVersion,
		ID:              s.bootID + "-" + strconv.FormatInt(s.seq, 10),
		Type:            typ,
		Time:            time.Now().UTC(),
		Sequence:        Sequence(s.seq),
		DataContentType: "application/json",
		Data:            d,
	}
	if s.started {
		s.fill(&ev)
	}
	// Make room first, so that the spool never holds more than the bound.
	s.bound(ev.Time, typ == TypeLogin)
	if typ == TypeLogin && s.loginsDropped > 0 {
		ev.Data.Message += fmt.Sprintf(" (%d earlier logins not sent: the manager was not taking events)", s.loginsDropped)
	}
	q := queued{ev: ev}
	if s.spool != nil {
		name, err := s.spool.put(ev)
		if err != nil {
			s.log.Warn("event kept in memory only", "id", ev.ID, "err", err)
		}
		q.file = name
	}
	s.queue = append(s.queue, q)
	s.enq++
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fill sets the fields known only from Config. s.mu must be held.
func (s *Sender) fill(ev *Event) {
	ev.Source = s.source
	if ev.Data.InstanceID == "" {
		ev.Data.InstanceID = s.cfg.InstanceID
	}
	if ev.Data.Attempt == 0 {
		ev.Data.Attempt = s.cfg.Attempt
	}
}

// ValidateURL checks an ovfinit.callback.url value: http or https with a
// host. The error is a *FieldError naming the property; it never repeats
// the URL, which may carry a token.
func ValidateURL(raw string) (*url.URL, error) {
	bad := func(err error) error { return &FieldError{Property: propURL, Err: err} }
	if raw == "" {
		return nil, bad(errors.New("empty"))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, bad(err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, bad(fmt.Errorf("scheme %q is not http or https", u.Scheme))
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, bad(errors.New("no host"))
	}
	return u, nil
}

// Endpoint returns u without userinfo, query and fragment: safe to log.
func Endpoint(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Start validates cfg, completes the events queued so far and starts the
// one goroutine that delivers them, then every later event, in order. Each
// event is retried with exponential backoff and jitter while the server
// does not answer, answers 408, 429 or 5xx; any other 4xx or a 3xx rejects
// it for good: it is logged and dropped, and delivery goes on with the
// next. When nothing has been acknowledged for cfg.MaxElapsed, delivery
// stops (see ErrGaveUp). Spooled events from an earlier run whose source
// is another instance are dropped: they belong to another deployment (an
// image captured with a full spool, say).
func (s *Sender) Start(cfg Config) error {
	u, err := ValidateURL(cfg.URL)
	if err != nil {
		return err
	}
	if cfg.InstanceID == "" {
		return errors.New("callback: empty instance id")
	}
	if cfg.Attempt < 0 {
		return fmt.Errorf("callback: attempt %d is negative", cfg.Attempt)
	}
	if cfg.InitialInterval <= 0 {
		cfg.InitialInterval = DefaultInitialInterval
	}
	if cfg.MaxInterval <= 0 {
		cfg.MaxInterval = DefaultMaxInterval
	}
	if cfg.MaxInterval < cfg.InitialInterval {
		cfg.MaxInterval = cfg.InitialInterval
	}
	if cfg.MaxElapsed <= 0 {
		cfg.MaxElapsed = DefaultMaxElapsed
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxUnauthorized <= 0 {
		cfg.MaxUnauthorized = DefaultMaxUnauthorized
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient != nil && !cfg.TLS.IsZero() {
		return errors.New("callback: Config.HTTPClient and Config.TLS are both set")
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if !cfg.TLS.IsZero() {
			tc, err := cfg.TLS.Config()
			if err != nil {
				return err
			}
			tr.TLSClientConfig = tc
		}
		cfg.HTTPClient = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return ErrAlreadyStarted
	}
	s.started = true
	s.cfg = cfg
	s.source = "urn:ovfinit:instance:" + cfg.InstanceID
	s.endpoint = Endpoint(u)
	kept := s.queue[:0]
	for _, q := range s.queue {
		if q.ev.Source != "" && q.ev.Source != s.source {
			s.log.Warn("spooled event of another instance dropped", "id", q.ev.ID, "source", q.ev.Source)
			s.dropFile(q)
			s.done++
			continue
		}
		if q.ev.Source == "" {
			s.fill(&q.ev)
			if q.file != "" {
				if err := s.spool.write(q.file, q.ev); err != nil {
					s.log.Warn("cannot update spooled event", "id", q.ev.ID, "err", err)
				}
			}
		}
		kept = append(kept, q)
	}
	s.queue = kept
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.stopped = make(chan struct{})
	s.log.Info("delivering events", "endpoint", s.endpoint, "queued", len(s.queue), "signed", cfg.Secret != nil)
	go s.run(ctx, cfg.URL)
	return nil
}

// dropFile deletes q's spool file. s.mu must be held.
func (s *Sender) dropFile(q queued) {
	if q.file == "" || s.spool == nil {
		return
	}
	if err := s.spool.remove(q.file); err != nil {
		s.log.Warn("cannot remove spooled event", "id", q.ev.ID, "err", err)
	}
}

// Wait returns nil once every event queued before the call has been
// delivered or dropped. It returns early with an error when ctx ends, when
// the Sender is closed, when delivery stopped (ErrGaveUp, ErrUnauthorized),
// or when events are waiting but Start has not been called (they would
// never be sent).
func (s *Sender) Wait(ctx context.Context) error {
	s.mu.Lock()
	target := s.enq
	s.mu.Unlock()
	for {
		s.mu.Lock()
		done, closed, started, stopErr, ch, pending := s.done, s.closed, s.started, s.stopErr, s.changed, len(s.queue)
		s.mu.Unlock()
		switch {
		case done >= target:
			return nil
		case closed:
			return ErrClosed
		case !started:
			return ErrNotStarted
		case stopErr != nil:
			return fmt.Errorf("%w: %d events not delivered", stopErr, pending)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("callback: %d events not delivered: %w", pending, context.Cause(ctx))
		}
	}
}

// Close stops delivery, abandoning an event in flight, and forgets every
// queued event; spooled events stay on disk for the next run. Before Start
// it only forgets. It waits for the delivery goroutine to return.
func (s *Sender) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.dropped > 0 {
		s.log.Warn("events dropped to bound the queue and the spool", "count", s.dropped, "logins", s.loginsDropped)
	}
	if n := len(s.queue); n > 0 {
		if s.spool != nil {
			s.log.Info("sender closed, undelivered events stay in the spool", "count", n, "dir", s.spool.dir)
		} else {
			s.log.Warn("sender closed, events discarded", "count", n)
		}
	}
	s.queue = nil
	s.broadcast()
	cancel, stopped := s.cancel, s.stopped
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-stopped
	}
}

// DiscardSpool forgets every queued event and deletes its spool file. It
// is for a Sender that was never started, at exit: with no callback URL
// nobody will receive the events, and the spool must not grow boot after
// boot. After Start it does nothing and returns 0.
func (s *Sender) DiscardSpool() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return 0
	}
	n := len(s.queue)
	for _, q := range s.queue {
		s.dropFile(q)
	}
	s.queue = nil
	s.done = s.enq
	s.broadcast()
	return n
}

// Pending returns the number of events queued but not yet delivered or
// dropped, the one in flight included.
func (s *Sender) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// broadcast wakes every Wait. s.mu must be held.
func (s *Sender) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// next returns the oldest queued event, waiting for one; false when ctx ends.
func (s *Sender) next(ctx context.Context) (queued, bool) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 && !s.closed {
			q := s.queue[0]
			s.mu.Unlock()
			return q, true
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return queued{}, false
		}
	}
}

func (s *Sender) run(ctx context.Context, rawURL string) {
	defer close(s.stopped)
	var failingSince time.Time // zero: the last answer was an acknowledgement
	for {
		q, ok := s.next(ctx)
		if !ok {
			return
		}
		ev := q.ev
		budget := s.cfg.MaxElapsed
		if !failingSince.IsZero() {
			budget -= time.Since(failingSince)
		}
		attempts, err := s.deliver(ctx, rawURL, ev, budget, &failingSince)
		if ctx.Err() != nil {
			return // closed: the event stays in the spool, or was discarded
		}
		var perm *rejectedError
		switch {
		case err == nil:
			failingSince = time.Time{}
			s.log.Debug("event delivered", "id", ev.ID, "type", ev.Type, "attempts", attempts)
		case errors.Is(err, ErrUnauthorized):
			n := s.stop(ErrUnauthorized)
			if s.spool != nil {
				s.log.Error("manager refused the signature again and again, delivery stopped; events stay in the spool for the next run (check ovfinit.callback.secret and both clocks)", "endpoint", s.endpoint, "pending", n, "id", ev.ID, "attempts", attempts, "err", err)
			} else {
				s.log.Error("manager refused the signature again and again, delivery stopped; events dropped (check ovfinit.callback.secret and both clocks)", "endpoint", s.endpoint, "pending", n, "id", ev.ID, "attempts", attempts, "err", err)
			}
			return
		case errors.As(err, &perm):
			failingSince = time.Time{} // the manager answered
			s.log.Error("event rejected by the manager, dropped", "endpoint", s.endpoint, "id", ev.ID, "type", ev.Type, "attempts", attempts, "err", err)
		default:
			n := s.stop(ErrGaveUp)
			if s.spool != nil {
				s.log.Error("manager unreachable, delivery stopped; events stay in the spool for the next run", "endpoint", s.endpoint, "waited", s.cfg.MaxElapsed, "pending", n, "id", ev.ID, "attempts", attempts, "err", err)
			} else {
				s.log.Error("manager unreachable, delivery stopped; events dropped", "endpoint", s.endpoint, "waited", s.cfg.MaxElapsed, "pending", n, "id", ev.ID, "attempts", attempts, "err", err)
			}
			return
		}
		s.mu.Lock()
		if len(s.queue) > 0 && s.queue[0].ev.ID == ev.ID {
			s.dropFile(s.queue[0])
			s.queue = s.queue[1:]
			s.done++
			s.broadcast()
		}
		s.mu.Unlock()
	}
}

// stop ends delivery for this run with why, for Wait, and returns the
// number of events left.
func (s *Sender) stop(why error) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopErr = why
	s.broadcast()
	return len(s.queue)
}

// signingTime is the time to sign a request with: this clock corrected by
// what a 401 answer taught about the manager's.
func (s *Sender) signingTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Now().Add(s.skew)
}

// unauthorized handles a 401 answer: when the manager's Date header is at
// least MinClockCorrection away from the time the request was signed with,
// the signature was probably refused as stale, and later requests are
// signed with the manager's time instead.
func (s *Sender) unauthorized(ev Event, ua *unauthorizedError) {
	if ua.date.IsZero() || s.cfg.Secret == nil {
		return
	}
	gap := ua.date.Sub(ua.signed)
	if gap.Abs() < MinClockCorrection {
		return
	}
	s.mu.Lock()
	s.skew += gap.Truncate(time.Second)
	skew := s.skew
	s.mu.Unlock()
	s.log.Warn("this clock is not the manager's; signing with the manager's time", "endpoint", s.endpoint, "id", ev.ID, "manager_ahead", skew)
}

// deliver sends one event until it is acknowledged, rejected for good
// (a *rejectedError), refused with 401 cfg.MaxUnauthorized times
// (ErrUnauthorized), or the budget is spent. It sets *failingSince at the
// first failure when it is zero.
func (s *Sender) deliver(ctx context.Context, rawURL string, ev Event, budget time.Duration, failingSince *time.Time) (int, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, &rejectedError{fmt.Errorf("encoding event: %w", err)}
	}
	if budget <= 0 {
		return 0, errors.New("no time left")
	}
	cfg := s.cfg // set once by Start before the goroutine began
	attempts, refused := 0, 0
	op := func() (struct{}, error) {
		attempts++
		err := post(ctx, cfg, rawURL, ev.ID, body, s.signingTime())
		if err != nil && failingSince.IsZero() {
			*failingSince = time.Now()
		}
		var ua *unauthorizedError
		if errors.As(err, &ua) {
			refused++
			if refused >= cfg.MaxUnauthorized {
				return struct{}{}, backoff.Permanent(fmt.Errorf("%w: %d times for event %s", ErrUnauthorized, refused, ev.ID))
			}
			s.unauthorized(ev, ua)
		}
		return struct{}{}, err
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     cfg.InitialInterval,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          2,
		MaxInterval:         cfg.MaxInterval,
	}
	// backoff.Retry's loop, with one more way out of the wait: when the
	// manager could not be reached at all (no route, no address yet) and
	// the network changes (NetworkChanged), the next attempt is made at
	// once. A manager that answered with an error keeps its backoff.
	start := time.Now()
	for {
		_, err := op()
		if err == nil {
			return attempts, nil
		}
		if perm, ok := errors.AsType[*backoff.PermanentError](err); ok {
			return attempts, perm.Unwrap()
		}
		if ctx.Err() != nil {
			return attempts, ctx.Err()
		}
		next := b.NextBackOff()
		if ra, ok := errors.AsType[*backoff.RetryAfterError](err); ok {
			next = ra.Duration
			b.Reset()
		}
		if time.Since(start)+next > budget {
			return attempts, err
		}
		s.log.Warn("delivery failed, retrying", "endpoint", s.endpoint, "id", ev.ID, "attempt", attempts, "retry_in", next, "err", err)
		var netUp <-chan struct{}
		if _, ok := errors.AsType[*unreachableError](err); ok {
			netUp = s.netUp
		}
		t := time.NewTimer(next)
		select {
		case <-t.C:
		case <-netUp:
			t.Stop()
			s.log.Debug("network changed, retrying now", "id", ev.ID)
		case <-ctx.Done():
			t.Stop()
			return attempts, ctx.Err()
		}
	}
}

// NetworkChanged tells the Sender that an address or a route has appeared
// (WatchNetwork calls it on Linux): an event waiting to be retried because
// the manager could not be reached at all is sent at once, not after the
// rest of its backoff. It never blocks.
func (s *Sender) NetworkChanged() {
	select {
	case s.netUp <- struct{}{}:
	default:
	}
}

// post makes one HTTP attempt, signed when cfg.Secret is set with the time
// now. The error never contains the URL.
func post(ctx context.Context, cfg Config, rawURL, id string, body []byte, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return backoff.Permanent(&rejectedError{fmt.Errorf("building request: %w", err)})
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "ovfinit")
	if cfg.Secret != nil {
		SignRequest(req.Header, cfg.Secret, id, body, now)
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, query and all
		}
		return &unreachableError{err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized:
		// A stale timestamp (this clock is off), a wrong secret, or a
		// manager not yet given the secret: retried a few times, never
		// dropped (see Sender.deliver).
		ua := &unauthorizedError{signed: now.Truncate(time.Second)}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			ua.date = d
		}
		return ua
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		err := fmt.Errorf("HTTP %d", code)
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
			d := min(time.Duration(secs)*time.Second, cfg.MaxInterval)
			err = fmt.Errorf("HTTP %d: %w", code, &backoff.RetryAfterError{Duration: d})
		}
		return err
	default: // 3xx not followed, 4xx: the same request will fail again
		return backoff.Permanent(&rejectedError{fmt.Errorf("HTTP %d (not retried)", code)})
	}
}

// unauthorizedError is a 401 answer; date is the manager's Date header (zero
// when absent or unparsable) and signed the timestamp the request carried.
type unauthorizedError struct{ date, signed time.Time }

func (e *unauthorizedError) Error() string { return "HTTP 401 (signature refused)" }

// unreachableError is an attempt that got no answer at all: no route,
// refused, timed out. The error never contains the URL.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return "POST: " + e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// rejectedError is a failure that retrying will not cure: the event is
// dropped and delivery goes on.
type rejectedError struct{ err error }

func (e *rejectedError) Error() string { return e.err.Error() }
func (e *rejectedError) Unwrap() error { return e.err }
