// Package web is the live web view of `ovfinit watch --web`: a read-only
// page, one row per VM, updated over server-sent events, and the same data
// as JSON at /api/vms. It is manager-side code: no guest package imports
// it.
//
// Everything it shows came from the VMs' events, which whoever holds the
// callback secret can write: the page puts it in the DOM as text only
// (textContent, never innerHTML), and the Content-Security-Policy allows
// only the page's own embedded script and style.
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// Defaults of Config.
const (
	DefaultMaxClients = 32
	DefaultQueue      = 256
	DefaultInterval   = 250 * time.Millisecond
	writeTimeout      = 10 * time.Second
	pingInterval      = 20 * time.Second
)

// TokenCookie is the cookie a token given in the URL is kept in.
const TokenCookie = "ovfinit_web_token"

// Config configures a Handler.
type Config struct {
	Fleet *Fleet
	// Token, when set, is required on every request: as ?token= on the
	// page (then kept in a cookie), the cookie, or "Authorization: Bearer".
	// Without it, only requests whose Host is a loopback address or
	// localhost are answered (a DNS-rebinding page cannot read the view).
	Token string
	// MaxClients bounds the live (server-sent events) connections.
	MaxClients int
	// Queue is how many distinct changed VMs wait for one client; past it
	// the client is told to reload the whole list (a "refresh" event)
	// instead. Interval is the least time between two messages to one
	// client: changes in between are sent together.
	Queue    int
	Interval time.Duration
	Log      *slog.Logger
}

// Handler serves the page, /api/vms and /api/events.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	assets fs.FS

	mu      sync.Mutex
	clients map[*client]struct{}
}

// client is one live connection's queue: the VMs changed since its last
// message, at most Config.Queue of them, or "overflow".
type client struct {
	mu       sync.Mutex
	dirty    map[string]struct{}
	order    []string
	overflow bool
	wake     chan struct{}
}

// NewHandler returns the web view's handler over cfg.Fleet.
func NewHandler(cfg Config) *Handler {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), assets: sub, clients: map[*client]struct{}{}}
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /app.js", h.asset("app.js", "text/javascript; charset=utf-8"))
	h.mux.HandleFunc("GET /app.css", h.asset("app.css", "text/css; charset=utf-8"))
	h.mux.HandleFunc("GET /api/vms", h.apiVMs)
	h.mux.HandleFunc("GET /api/events", h.events)
	cfg.Fleet.onChange(h.mark)
	return h
}

// csp allows the page's own script, style and connections, nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP checks the method, the host and the token, then serves.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Token == "" {
		if !localHost(r.Host) {
			http.Error(w, "this view answers only to 127.0.0.1, [::1] or localhost; start watch with --web-token to serve other names", http.StatusMisdirectedRequest)
			return
		}
	} else if !h.authorized(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// localHost reports whether a Host header names the loopback interface.
func localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authorized checks the token, answering 401 when it is missing or
// wrong. A right token in the page's URL is moved into a cookie and the
// browser sent to the URL without it.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	same := func(s string) bool { return subtle.ConstantTimeCompare([]byte(s), []byte(h.cfg.Token)) == 1 }
	if q := r.URL.Query().Get("token"); q != "" && same(q) {
		http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: h.cfg.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		u := *r.URL
		v := u.Query()
		v.Del("token")
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	if c, err := r.Cookie(TokenCookie); err == nil && same(c.Value) {
		return true
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && same(b) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="ovfinit watch"`)
	http.Error(w, "token required: open the URL ovfinit watch printed (with ?token=)", http.StatusUnauthorized)
	return false
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	h.asset("index.html", "text/html; charset=utf-8")(w, r)
}

func (h *Handler) asset(name, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(h.assets, name)
		if err != nil {
			http.Error(w, "missing asset", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// Snapshot is the body of /api/vms: the summary and every VM.
type Snapshot struct {
	Summary Summary `json:"summary"`
	VMs     []VM    `json:"vms"`
}

// Update is the data of an "update" event: the summary and the VMs
// changed since the last message.
type Update struct {
	Summary Summary `json:"summary"`
	VMs     []VM    `json:"vms"`
}

func (h *Handler) apiVMs(w http.ResponseWriter, r *http.Request) {
	vms, _ := h.cfg.Fleet.VMs()
	snap := Snapshot{Summary: h.cfg.Fleet.Summary(), VMs: vms}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	if err := enc.Encode(snap); err != nil {
		h.cfg.Log.Debug("writing /api/vms", "err", err)
	}
}

// mark queues a changed VM for every live client.
func (h *Handler) mark(inst string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.mu.Lock()
		if !c.overflow {
			if _, ok := c.dirty[inst]; !ok {
				if len(c.order) >= h.cfg.Queue {
					c.overflow, c.dirty, c.order = true, map[string]struct{}{}, nil
				} else {
					c.dirty[inst] = struct{}{}
					c.order = append(c.order, inst)
				}
			}
		}
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// take empties the client's queue.
func (c *client) take() (insts []string, overflow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	insts, overflow = c.order, c.overflow
	c.dirty, c.order, c.overflow = map[string]struct{}{}, nil, false
	return insts, overflow
}

// ErrTooManyClients is why a live connection is refused (503).
var ErrTooManyClients = errors.New("web: too many live connections")

// events streams changes: first a "refresh" (load /api/vms), then at
// most one "update" per Interval with the VMs changed since, or a
// "refresh" again when more changed than the client's queue holds.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	c := &client{dirty: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	if len(h.clients) >= h.cfg.MaxClients {
		h.mu.Unlock()
		http.Error(w, ErrTooManyClients.Error(), http.StatusServiceUnavailable)
		return
	}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.clients, c)
		h.mu.Unlock()
	}()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	send := func(event string, data []byte) error {
		rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		var err error
		if event == "" {
			_, err = w.Write(data)
		} else {
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		}
		if err == nil {
			err = rc.Flush()
		}
		return err
	}
	rev := fmt.Appendf(nil, `{"rev":%d}`, h.cfg.Fleet.Rev())
	if send("", []byte("retry: 2000\n\n")) != nil || send("refresh", rev) != nil {
		return
	}
	ctx := r.Context()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if send("", []byte(": ping\n\n")) != nil {
				return
			}
			continue
		case <-c.wake:
		}
		if wait := h.cfg.Interval - time.Since(last); wait > 0 {
			if sleep(ctx, wait) != nil {
				return
			}
		}
		last = time.Now()
		insts, overflow := c.take()
		var err error
		if overflow {
			err = send("refresh", fmt.Appendf(nil, `{"rev":%d}`, h.cfg.Fleet.Rev()))
		} else if len(insts) > 0 {
			b, merr := json.Marshal(Update{Summary: h.cfg.Fleet.Summary(), VMs: h.cfg.Fleet.Get(insts)})
			if merr != nil {
				h.cfg.Log.Error("encoding an update", "err", merr)
				return
			}
			err = send("update", b)
		}
		if err != nil {
			h.cfg.Log.Debug("live connection ended", "remote", r.RemoteAddr, "err", err)
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Clients returns the number of live connections.
func (h *Handler) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}
