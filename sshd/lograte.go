package sshd

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limits of logLimiter: each source address may log logBurstPerSource lines,
// then one more per logRefillPerSource; all sources together logBurstGlobal,
// then one per logRefillGlobal. A flood of junk connections (port scanners,
// HTTP probes, handshake failures) from one address or from many then costs
// a bounded number of log lines, with a "suppressed" summary.
const (
	logBurstPerSource  = 5
	logRefillPerSource = 10 * time.Second
	logBurstGlobal     = 20
	logRefillGlobal    = time.Second
	logSummaryEvery    = time.Minute
	logMaxSources      = 10000
)

// logLimiter rate-limits the WARN lines logged for connections that fail or
// are dropped before authentication. Its zero value is ready to use.
type logLimiter struct {
	now func() time.Time // nil: time.Now

	mu         sync.Mutex
	global     bucket
	sources    map[string]*bucket
	suppressed int
	summary    *time.Timer // pending report of suppressed lines
	log        *slog.Logger
}

// bucket is a token bucket: tokens refill one per interval up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, burst int, every time.Duration) bool {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(burst), b.tokens+float64(d)/float64(every))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// warn logs msg at WARN unless source or all sources together are over
// their rate; suppressed lines are counted and reported once a minute
// (logSummaryEvery) in one line.
func (l *logLimiter) warn(log *slog.Logger, source, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if l.sources == nil {
		l.sources = map[string]*bucket{}
	}
	b := l.sources[source]
	if b == nil {
		if len(l.sources) >= logMaxSources {
			clear(l.sources) // bounded memory; the global bucket still limits
		}
		b = &bucket{}
		l.sources[source] = b
	}
	ok := b.take(now, logBurstPerSource, logRefillPerSource) && l.global.take(now, logBurstGlobal, logRefillGlobal)
	if !ok {
		l.suppressed++
		l.log = log
		if l.summary == nil {
			l.summary = time.AfterFunc(logSummaryEvery, l.report)
		}
	}
	l.mu.Unlock()
	if ok {
		log.Warn(msg, args...)
	}
}

// report logs how many lines were suppressed since the last report.
func (l *logLimiter) report() {
	l.mu.Lock()
	n, log := l.suppressed, l.log
	l.suppressed, l.summary = 0, nil
	l.mu.Unlock()
	if n > 0 && log != nil {
		log.Log(context.Background(), slog.LevelWarn, "similar connection failure messages suppressed (rate limit)", "suppressed", n)
	}
}
