package sshd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StartupLimits bound the connections that are not authenticated yet:
// counted from the TCP accept, through the version exchange and the key
// exchange, until a successful login or the close. They are OpenSSH's
// MaxStartups start:rate:full (random early drop) and PerSourceMaxStartups.
// Zero fields take the defaults given.
type StartupLimits struct {
	// Start: up to this many, every connection is accepted; 10.
	Start int
	// Rate: percent of new connections refused at Start, rising linearly
	// to 100 at Full; 30.
	Rate int
	// Full: with this many, every new connection is refused; 100.
	Full int
	// PerSource: from one source (an IPv4 address, an IPv6 /64), this many
	// at most; 10. A single address can not reach Start on its own, so
	// random early drop hits only a distributed flood.
	PerSource int
}

// Defaults for StartupLimits: sshd's "MaxStartups 10:30:100", and 10 per
// source.
const (
	DefaultStartupsStart     = 10
	DefaultStartupsRate      = 30
	DefaultStartupsFull      = 100
	DefaultStartupsPerSource = 10
)

// ParseMaxStartups reads sshd_config's MaxStartups form: "start:rate:full",
// or "n" for "n:100:n" (every connection beyond n refused). PerSource is
// left zero.
func ParseMaxStartups(v string) (StartupLimits, error) {
	bad := fmt.Errorf("want start:rate:full (whole numbers, 1 <= start <= full, rate a percent from 1 to 100) or one whole number, got %q", v)
	parts := strings.Split(v, ":")
	if len(parts) != 1 && len(parts) != 3 {
		return StartupLimits{}, bad
	}
	var n [3]int
	for i, f := range parts {
		x, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || x < 1 || x > 1_000_000 {
			return StartupLimits{}, bad
		}
		n[i] = x
	}
	if len(parts) == 1 {
		return StartupLimits{Start: n[0], Rate: 100, Full: n[0]}, nil
	}
	if n[0] > n[2] || n[1] > 100 {
		return StartupLimits{}, bad
	}
	return StartupLimits{Start: n[0], Rate: n[1], Full: n[2]}, nil
}

func (l *StartupLimits) setDefaults() {
	if l.Full <= 0 {
		l.Full = DefaultStartupsFull
	}
	if l.Start <= 0 {
		l.Start = min(DefaultStartupsStart, l.Full)
	}
	l.Start = min(l.Start, l.Full)
	if l.Rate <= 0 {
		l.Rate = DefaultStartupsRate
	}
	l.Rate = min(l.Rate, 100)
	if l.PerSource <= 0 {
		l.PerSource = DefaultStartupsPerSource
	}
}

var (
	errStartupsFull      = errors.New("too many unauthenticated connections")
	errStartupsPerSource = errors.New("too many unauthenticated connections from this source")
	errStartupsDropped   = errors.New("unauthenticated connections over the start limit: dropped at random")
)

// startups counts unauthenticated connections, in all and per source.
type startups struct {
	lim    StartupLimits
	chance func(n int) int // a random number in [0, n)

	mu        sync.Mutex
	total     int
	perSource map[string]int

	// Refusals are logged at most once per startupLogEvery, with a count.
	dropped int
	lastLog time.Time
}

const startupLogEvery = 10 * time.Second

func newStartups(l StartupLimits) *startups {
	l.setDefaults()
	return &startups{lim: l, chance: rand.IntN, perSource: map[string]int{}}
}

// dropChance is the percent of new connections refused with n
// unauthenticated ones open, as OpenSSH's should_drop_connection.
func (l StartupLimits) dropChance(n int) int {
	switch {
	case n < l.Start:
		return 0
	case n >= l.Full:
		return 100
	}
	return l.Rate + (100-l.Rate)*(n-l.Start)/(l.Full-l.Start)
}

// admit counts a new connection from src (an IP address), or refuses it.
// release, called once the connection authenticated or closed, uncounts
// it; calling it again does nothing.
func (st *startups) admit(src string) (release func(), err error) {
	key := sourceKey(src)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.perSource[key] >= st.lim.PerSource {
		return nil, errStartupsPerSource
	}
	if p := st.lim.dropChance(st.total); p >= 100 {
		return nil, errStartupsFull
	} else if p > 0 && st.chance(100) < p {
		return nil, errStartupsDropped
	}
	st.total++
	st.perSource[key]++
	return sync.OnceFunc(func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.total--
		if st.perSource[key]--; st.perSource[key] <= 0 {
			delete(st.perSource, key)
		}
	}), nil
}

// open is the number of unauthenticated connections.
func (st *startups) open() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.total
}

// refused counts a refusal and reports whether to log it now, and how many
// refusals the log line stands for.
func (st *startups) refused(now time.Time) (log bool, n int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.dropped++
	if !st.lastLog.IsZero() && now.Sub(st.lastLog) < startupLogEvery {
		return false, 0
	}
	n, st.dropped, st.lastLog = st.dropped, 0, now
	return true, n
}

// sourceKey is the source a per-source limit counts: the IPv4 address, or
// the /64 of an IPv6 address (one host usually holds a whole /64).
func sourceKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// admitStartup applies Limits.Startups to a new connection from ip. On
// refusal it logs (rate limited) and returns nil.
func (s *Server) admitStartup(conn net.Conn, ip string) func() {
	release, err := s.startups.admit(ip)
	if err == nil {
		return release
	}
	if log, n := s.startups.refused(time.Now()); log {
		s.log.Warn("ssh connection refused: "+err.Error(), "remote", addrString(conn.RemoteAddr()),
			"refused_since_last_log", n, "start", s.cfg.Limits.Startups.Start, "full", s.cfg.Limits.Startups.Full,
			"per_source", s.cfg.Limits.Startups.PerSource)
	}
	return nil
}

// authenticated marks c logged in: the login grace timer stops and the
// connection no longer counts against Limits.Startups.
func (c *connState) authenticated() {
	c.authed.Store(true)
	c.grace.Stop()
	c.startup()
}
