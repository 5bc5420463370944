package sshd

import (
	"errors"
	"sync"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// What one logged-in connection may hold. OpenSSH has the same limits:
// MaxSessions (10 per connection) and, in session.c, at most 128
// environment variables per session. The byte limit on a session's
// variables is this server's own: OpenSSH bounds them only by its 256 KiB
// packet size.
const (
	DefaultMaxSessionsPerConn = 10
	DefaultMaxChannelsPerConn = 64
	maxEnvVars                = 128
	maxEnvBytes               = 64 << 10
	// maxQueuedSignals: signals a session holds for its process; more are
	// refused until the handler takes them.
	maxQueuedSignals = 16
)

var (
	errTooManySessions     = errors.New("too many open sessions")
	errTooManyConnSessions = errors.New("too many open sessions on this connection")
	errTooManyChannels     = errors.New("too many open channels on this connection")
)

// connCounts are one connection's open sessions and channels.
type connCounts struct {
	mu       sync.Mutex
	sessions int  // session channels whose session has not ended
	channels int  // channels of any type not yet closed by both sides
	refused  bool // a refusal was logged for this connection
}

// ctxKeyCounts holds a connection's *connCounts.
var ctxKeyCounts = &ctxKey{"ovfinit-counts"}

func countsOf(ctx gliderssh.Context) *connCounts {
	ctx.Lock()
	defer ctx.Unlock()
	c, _ := ctx.Value(ctxKeyCounts).(*connCounts)
	if c == nil {
		c = &connCounts{}
		ctx.SetValue(ctxKeyCounts, c)
	}
	return c
}

// openChannel counts a new channel of any type against the connection's
// limit; the caller calls closeChannel once both sides closed it.
func (s *Server) openChannel(c *connCounts) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.channels >= s.cfg.Limits.MaxChannelsPerConn {
		return errTooManyChannels
	}
	c.channels++
	return nil
}

func (c *connCounts) closeChannel() {
	c.mu.Lock()
	c.channels--
	c.mu.Unlock()
}

// logChannelRefused logs a channel refused for one of these limits, once
// per connection: a client opening channels in a loop does not flood the
// log.
func (s *Server) logChannelRefused(ctx gliderssh.Context, conn *gossh.ServerConn, msg string, err error) {
	c := countsOf(ctx)
	c.mu.Lock()
	first := !c.refused
	c.refused = true
	c.mu.Unlock()
	if !first {
		return
	}
	limit := s.cfg.Limits.MaxSessions
	switch {
	case errors.Is(err, errTooManyConnSessions):
		limit = s.cfg.Limits.MaxSessionsPerConn
	case errors.Is(err, errTooManyChannels):
		limit = s.cfg.Limits.MaxChannelsPerConn
	}
	s.log.Warn(msg+": "+err.Error(), "user", conn.User(), "remote", addrString(conn.RemoteAddr()), "max", limit,
		"note", "logged once per connection")
}

// chanState is what the server keeps about one session channel. The
// request filter (filteredChannel) takes "signal" and "window-change"
// requests itself and leaves them here, so that gliderssh's request loop,
// which would block on a channel only the running handler reads, never
// sees them.
type chanState struct {
	s      *Server
	counts *connCounts
	ended  sync.Once

	signals chan gliderssh.Signal // queued for the process; full: refused
	windows chan gliderssh.Window // the latest window size; closed with the requests

	// Touched only by the filter goroutine.
	envVars, envBytes int
	envFull           bool // the refusal was logged
}

// openSession takes a session slot on the server and on the connection,
// and a channel slot on the connection.
func (s *Server) openSession(ctx gliderssh.Context) (*chanState, error) {
	c := countsOf(ctx)
	if err := s.openChannel(c); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.sessions >= s.cfg.Limits.MaxSessionsPerConn {
		c.mu.Unlock()
		c.closeChannel()
		return nil, errTooManyConnSessions
	}
	if n := s.sessions.Add(1); n > int64(s.cfg.Limits.MaxSessions) {
		s.sessions.Add(-1)
		c.mu.Unlock()
		c.closeChannel()
		return nil, errTooManySessions
	}
	c.sessions++
	c.mu.Unlock()
	s.reportSessions()
	return &chanState{
		s:       s,
		counts:  c,
		signals: make(chan gliderssh.Signal, maxQueuedSignals),
		windows: make(chan gliderssh.Window, 1),
	}, nil
}

// endSession frees the session's slots. It runs when the server closes the
// channel (the session is over: its process ended or never started) or,
// at the latest, when the channel is gone; a client that never answers the
// close keeps only a channel slot of its own connection.
func (st *chanState) endSession() {
	st.ended.Do(func() {
		st.counts.mu.Lock()
		st.counts.sessions--
		st.counts.mu.Unlock()
		st.s.sessions.Add(-1)
		st.s.reportSessions()
	})
}

// closed runs once both sides closed the channel.
func (st *chanState) closed() {
	st.endSession()
	st.counts.closeChannel()
}

// setWindow keeps w as the latest window size, replacing one not yet taken.
// Only the filter goroutine calls it.
func (st *chanState) setWindow(w gliderssh.Window) {
	select {
	case <-st.windows:
	default:
	}
	st.windows <- w
}

// queueSignal queues sig for the session's process; false when the queue
// is full.
func (st *chanState) queueSignal(sig gliderssh.Signal) bool {
	select {
	case st.signals <- sig:
		return true
	default:
		return false
	}
}

// envVerdict is what becomes of an "env" request.
type envVerdict int

const (
	envPass   envVerdict = iota // passed on to gliderssh, which keeps it
	envIgnore                   // a name AcceptEnv does not allow: answered yes, dropped
	envRefuse                   // over the session's limits, malformed, or after the start: answered no, dropped
)

// envRequest decides an "env" request: a name AcceptEnv allows is kept
// while the session is under maxEnvVars variables and maxEnvBytes bytes.
// Others are answered and dropped here, before gliderssh sees them, so
// they keep nothing. (Names AcceptEnv does not allow are answered yes, as
// they always were, for clients that treat a refusal as fatal.)
func (st *chanState) envRequest(payload []byte, started bool) envVerdict {
	var kv struct{ Name, Value string }
	if started || gossh.Unmarshal(payload, &kv) != nil {
		return envRefuse
	}
	if !acceptEnv(st.s.cfg.AcceptEnv, kv.Name) {
		return envIgnore
	}
	size := len(kv.Name) + len(kv.Value)
	if st.envVars >= maxEnvVars || st.envBytes+size > maxEnvBytes {
		return envRefuse
	}
	st.envVars++
	st.envBytes += size
	return envPass
}

// ctxKeyChan holds a session's *chanState in its chanContext.
var ctxKeyChan = &ctxKey{"ovfinit-chan"}

// chanContext is the connection's context as one session channel sees it:
// it adds the channel's state, found by the handler with chanStateOf.
type chanContext struct {
	gliderssh.Context
	st *chanState
}

func (c *chanContext) Value(key any) any {
	if key == ctxKeyChan {
		return c.st
	}
	return c.Context.Value(key)
}

func chanStateOf(ctx gliderssh.Context) *chanState {
	st, _ := ctx.Value(ctxKeyChan).(*chanState)
	return st
}

// sessionChan is an accepted session channel: when the server closes it,
// the session's slots are freed.
type sessionChan struct {
	gossh.Channel
	st *chanState
}

func (c *sessionChan) Close() error {
	err := c.Channel.Close()
	c.st.endSession()
	return err
}

// parseWindow reads a "window-change" request (RFC 4254 6.7).
func parseWindow(payload []byte) (gliderssh.Window, bool) {
	var m struct{ Cols, Rows, Width, Height uint32 }
	if gossh.Unmarshal(payload, &m) != nil || m.Cols < 1 || m.Rows < 1 {
		return gliderssh.Window{}, false
	}
	return gliderssh.Window{Width: int(m.Cols), Height: int(m.Rows)}, true
}

// countedNewChannel counts a forwarding channel against its connection's
// channel limit until both sides closed it (its requests channel closes).
type countedNewChannel struct {
	gossh.NewChannel
	release  func()
	accepted bool
}

func (c *countedNewChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	c.accepted = true
	out := make(chan *gossh.Request)
	go func() {
		defer c.release()
		defer close(out)
		for r := range reqs {
			out <- r
		}
	}()
	return ch, out, nil
}

// requestsOf returns the signals and window changes a session's client sent,
// as its request filter keeps them; the window channel closes with the
// channel's requests.
func requestsOf(ctx gliderssh.Context) (<-chan gliderssh.Signal, <-chan gliderssh.Window) {
	if st := chanStateOf(ctx); st != nil {
		return st.signals, st.windows
	}
	w := make(chan gliderssh.Window) // not a session of sessionChannel's
	close(w)
	return nil, w
}
