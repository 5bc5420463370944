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
)

// Errors returned by Start and Wait.
var (
	ErrClosed         = errors.New("callback: sender closed")
	ErrNotStarted     = errors.New("callback: sender not started (no ovfinit.callback.url)")
	ErrAlreadyStarted = errors.New("callback: sender already started")
)

// Config says where and how events are delivered. It is known only once the
// OVF environment has been read; events emitted before are kept.
type Config struct {
	URL        string // ovfinit.callback.url: http:// or https://
	InstanceID string // fills Data.InstanceID where empty; names the source
	Attempt    int    // fills Data.Attempt where zero

	// HTTPClient sends the requests. Nil means a client that does not
	// follow redirects (a redirected POST would silently become a GET).
	HTTPClient *http.Client

	InitialInterval time.Duration // first retry delay; default 200ms
	MaxInterval     time.Duration // cap on the retry delay; default 10s
	MaxElapsed      time.Duration // per event: give up and drop it after this long; default 10m
	RequestTimeout  time.Duration // per HTTP attempt; default 10s
}

// Sender queues events and delivers them, one at a time and strictly in
// order, to the manager's URL. Its methods are safe for concurrent use.
type Sender struct {
	log    *slog.Logger
	bootID string

	mu       sync.Mutex
	seq      int64   // last sequence number handed out
	done     int64   // events delivered or dropped, in order
	queue    []Event // not yet delivered or dropped; queue[0] is in flight
	started  bool
	closed   bool
	cfg      Config
	source   string
	endpoint string        // URL without userinfo and query, for logs
	changed  chan struct{} // closed and replaced whenever done or closed changes
	wake     chan struct{} // buffered(1): new event queued
	cancel   context.CancelFunc
	stopped  chan struct{} // closed when the delivery goroutine has returned
}

// NewSender returns a Sender that stamps event ids "<bootID>-<sequence>".
// It sends nothing until Start.
func NewSender(log *slog.Logger, bootID string) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{
		log:     log,
		bootID:  bootID,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
}

// Emit stamps an event of type typ carrying d with the next sequence number,
// an id and the current time, and queues it. It never blocks on the
// network. An empty d.Boot is set to the boot id; once Start has run, an
// empty d.InstanceID and a zero d.Attempt are filled from its Config. After
// Close, Emit drops the event.
func (s *Sender) Emit(typ string, d Data) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.log.Debug("callback: sender closed, event dropped", "type", typ)
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
		Sequence:        s.seq,
		DataContentType: "application/json",
		Data:            d,
	}
	if s.started {
		s.fill(&ev)
	}
	s.queue = append(s.queue, ev)
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
// host. The error names the property and never repeats the URL, which may
// carry a token.
func ValidateURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("ovfinit.callback.url: empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("ovfinit.callback.url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ovfinit.callback.url: scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("ovfinit.callback.url: no host")
	}
	return u, nil
}

// Endpoint returns u without userinfo, query and fragment: safe to log.
func Endpoint(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Start validates cfg, completes the events queued so far and starts the
// one goroutine that delivers them, then every later event, in order. Each
// event is retried with exponential backoff until the server answers 2xx or
// cfg.MaxElapsed has passed; a 4xx other than 408 and 429 is permanent. An
// event that can not be delivered is logged and dropped, and delivery goes
// on with the next.
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
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
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
	for i := range s.queue {
		s.fill(&s.queue[i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.stopped = make(chan struct{})
	s.log.Info("callback: delivering events", "endpoint", s.endpoint, "queued", len(s.queue))
	go s.run(ctx, cfg.URL)
	return nil
}

// Wait returns nil once every event emitted before the call has been
// delivered or dropped. It returns early with an error when ctx ends, when
// the Sender is closed, or when events are waiting but Start has not been
// called (they would never be sent).
func (s *Sender) Wait(ctx context.Context) error {
	s.mu.Lock()
	target := s.seq
	s.mu.Unlock()
	for {
		s.mu.Lock()
		done, closed, started, ch, pending := s.done, s.closed, s.started, s.changed, len(s.queue)
		s.mu.Unlock()
		switch {
		case done >= target:
			return nil
		case closed:
			return ErrClosed
		case !started:
			return ErrNotStarted
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("callback: %d events not delivered: %w", pending, context.Cause(ctx))
		}
	}
}

// Close stops delivery, abandoning an event in flight, and discards every
// queued event. Before Start it only discards. It waits for the delivery
// goroutine to return.
func (s *Sender) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if n := len(s.queue); n > 0 {
		s.log.Warn("callback: sender closed, events discarded", "count", n)
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

// Pending returns the number of events emitted but not yet delivered or
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
func (s *Sender) next(ctx context.Context) (Event, bool) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 && !s.closed {
			ev := s.queue[0]
			s.mu.Unlock()
			return ev, true
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return Event{}, false
		}
	}
}

func (s *Sender) run(ctx context.Context, rawURL string) {
	defer close(s.stopped)
	for {
		ev, ok := s.next(ctx)
		if !ok {
			return
		}
		attempts, err := s.deliver(ctx, rawURL, ev)
		if ctx.Err() != nil {
			return // closed: the event was discarded with the queue
		}
		if err != nil {
			s.log.Error("callback: event dropped", "endpoint", s.endpoint, "id", ev.ID, "type", ev.Type, "attempts", attempts, "error", err)
		} else {
			s.log.Debug("callback: event delivered", "id", ev.ID, "type", ev.Type, "attempts", attempts)
		}
		s.mu.Lock()
		if len(s.queue) > 0 && s.queue[0].ID == ev.ID {
			s.queue = s.queue[1:]
			s.done++
			s.broadcast()
		}
		s.mu.Unlock()
	}
}

// deliver sends one event until it is acknowledged, rejected for good, or
// the retry budget is spent.
func (s *Sender) deliver(ctx context.Context, rawURL string, ev Event) (int, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encoding event: %w", err)
	}
	cfg := s.cfg // set once by Start before the goroutine began
	attempts := 0
	op := func() (struct{}, error) {
		attempts++
		return struct{}{}, post(ctx, cfg, rawURL, body)
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     cfg.InitialInterval,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          2,
		MaxInterval:         cfg.MaxInterval,
	}
	notify := func(err error, next time.Duration) {
		s.log.Warn("callback: delivery failed, retrying", "endpoint", s.endpoint, "id", ev.ID, "attempt", attempts, "retryIn", next, "error", err)
	}
	_, err = backoff.Retry(ctx, op,
		backoff.WithBackOff(b),
		backoff.WithMaxElapsedTime(cfg.MaxElapsed),
		backoff.WithNotify(notify))
	return attempts, err
}

// post makes one HTTP attempt. The error never contains the URL.
func post(ctx context.Context, cfg Config, rawURL string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return backoff.Permanent(fmt.Errorf("building request: %w", err))
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "ovfinit")
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, query and all
		}
		return fmt.Errorf("POST: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		err := fmt.Errorf("HTTP %d", code)
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
			d := min(time.Duration(secs)*time.Second, cfg.MaxInterval)
			err = fmt.Errorf("HTTP %d: %w", code, &backoff.RetryAfterError{Duration: d})
		}
		return err
	default: // 3xx not followed, 4xx: the same request will fail again
		return backoff.Permanent(fmt.Errorf("HTTP %d (not retried)", code))
	}
}
