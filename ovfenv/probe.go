package ovfenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Transport names, as logs, events and `env show` print them.
const (
	TransportFwCfg      = "fw_cfg"
	TransportGuestinfo  = "guestinfo"
	TransportVirtualBox = "virtualbox"
	TransportHyperV     = "hyperv-kvp"
	TransportSeed       = "seed"
	TransportSaved      = "saved"
)

// A Transport is one way the environment can reach the guest.
type Transport struct {
	Name string
	// Timeout bounds one probe; zero means DefaultProbeTimeout.
	Timeout time.Duration
	// Once: probe only in the first round (a channel whose content is set
	// before the VM starts, such as guestinfo), not on every poll.
	Once bool
	// Probe returns the document, or an error wrapping ErrNoEnvironment
	// when the transport has nothing, or another error when it has
	// something it cannot read.
	Probe func(ctx context.Context) (*Source, error)
}

// DefaultProbeTimeout bounds a probe whose Transport sets no Timeout.
const DefaultProbeTimeout = 10 * time.Second

// DefaultPoll is a Prober's Poll when it is not set.
const DefaultPoll = 500 * time.Millisecond

// Attempt is what one transport gave in the last round it was probed.
type Attempt struct {
	Transport string        `json:"transport"`
	Result    string        `json:"result"` // found, absent, error, or "not used" (found, but a transport before it won)
	Reason    string        `json:"reason,omitempty"`
	Location  string        `json:"location,omitempty"`
	Took      time.Duration `json:"tookNs"`
}

// Prober looks for the environment on every transport, in order.
type Prober struct {
	// Transports in precedence order; nil means p.Defaults().
	Transports []Transport
	// Wait is how long to keep looking while every transport is absent;
	// zero or less means a single round.
	Wait time.Duration
	// Poll is the time between rounds; zero or less means DefaultPoll.
	Poll time.Duration
	Log  *slog.Logger
}

// Probe runs every transport in parallel, each under its own timeout, and
// returns the document of the first one in order that has one. It logs
// which won and why each other did not; the same list is in Source.Tried.
// It is the agent's one poller: every wait for the environment, whatever
// the transport, goes through it.
//
// While every transport is absent it polls again until Wait has passed (a
// last round runs at the deadline); then the error wraps ErrNoEnvironment
// and says, transport by transport, why the last round found nothing. When none has a document but one has
// something it cannot read (an ISO labelled OVF ENV that is damaged), it
// returns that error at once: waiting would not mend it.
func (p *Prober) Probe(ctx context.Context) (*Source, error) {
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	poll := p.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	ts := p.Transports
	start := time.Now()
	var deadline time.Time
	if p.Wait > 0 {
		deadline = start.Add(p.Wait)
	}
	// why lists, transport by transport, what the last round found.
	why := func(tried []Attempt) string {
		var reasons []string
		for _, a := range tried {
			reasons = append(reasons, a.Transport+": "+a.Reason)
		}
		return strings.Join(reasons, "; ")
	}
	attempts := make([]Attempt, len(ts))
	sources := make([]*Source, len(ts))
	errs := make([]error, len(ts))
	for round := 1; ; round++ {
		var wg sync.WaitGroup
		for i, t := range ts {
			if round > 1 && t.Once {
				continue
			}
			wg.Go(func() {
				timeout := t.Timeout
				if timeout <= 0 {
					timeout = DefaultProbeTimeout
				}
				pctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				start := time.Now()
				src, err := t.Probe(pctx)
				if err == nil && src == nil {
					err = fmt.Errorf("%w: nothing returned", ErrNoEnvironment)
				}
				if err != nil && pctx.Err() != nil && ctx.Err() == nil {
					err = fmt.Errorf("%w: no answer within %v", ErrNoEnvironment, timeout)
				}
				a := Attempt{Transport: t.Name, Took: time.Since(start)}
				switch {
				case err == nil:
					a.Result, a.Location = "found", src.Location
					src.Transport = t.Name
				case errors.Is(err, ErrNoEnvironment):
					a.Result, a.Reason = "absent", err.Error()
				default:
					a.Result, a.Reason = "error", err.Error()
				}
				attempts[i], sources[i], errs[i] = a, src, err
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("looking for the OVF environment: %w (round %d: %s)", err, round, why(attempts))
		}
		won := -1
		var broken []error
		for i := range ts {
			if sources[i] != nil && won < 0 {
				won = i
			} else if sources[i] != nil {
				attempts[i].Result = "not used"
				attempts[i].Reason = fmt.Sprintf("%s comes first", ts[won].Name)
			} else if attempts[i].Result == "error" {
				broken = append(broken, fmt.Errorf("%s: %w", ts[i].Name, errs[i]))
			}
		}
		tried := append([]Attempt(nil), attempts...)
		if won >= 0 {
			src := sources[won]
			src.Tried = tried
			for _, a := range tried {
				if a.Transport != src.Transport {
					log.Info("transport not used", "transport", a.Transport, "result", a.Result, "reason", a.Reason)
				}
			}
			log.Info("environment transport chosen", "transport", src.Transport, "location", src.Location, "bytes", len(src.Data), "round", round)
			return src, nil
		}
		if len(broken) > 0 {
			return nil, errors.Join(broken...)
		}
		now := time.Now()
		if deadline.IsZero() {
			return nil, fmt.Errorf("%w (%s)", ErrNoEnvironment, why(tried))
		}
		if !now.Before(deadline) {
			return nil, fmt.Errorf("%w within %v (%d rounds over %v; last round: %s)",
				ErrNoEnvironment, p.Wait, round, now.Sub(start).Round(time.Millisecond), why(tried))
		}
		log.Debug("no OVF environment yet", "round", round)
		timer := time.NewTimer(min(poll, deadline.Sub(now)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("looking for the OVF environment: %w (round %d: %s)", ctx.Err(), round, why(tried))
		case <-timer.C:
		}
	}
}
