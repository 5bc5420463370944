package system

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

// maxSeenIDs is how many publish request ids an instance's state keeps to
// apply a repeated (retried or replayed) publish once.
const maxSeenIDs = 64

// State is what the manager knows of a system's instances: which sent
// ready, their facts, the values their scripts published. It is bounded:
// at most Member.Count instances per member, MaxSystemValues values each.
// Its methods are safe for concurrent use.
type State struct {
	sys     *System
	secret  []byte
	maxSkew time.Duration
	now     func() time.Time

	mu    sync.Mutex
	insts map[string]*instance
	count map[*Member]int // instances tracked per member
}

type instance struct {
	id       string
	member   *Member
	ready    bool
	boot     string                  // the boot id of the ready event
	facts    callback.SystemInstance // Hostname, Addresses, SSHPort, HostKeys
	values   map[string]string
	seen     []string // publish request ids applied, oldest first
	lastSeen time.Time
}

// Config configures a State.
type Config struct {
	// Secret is the shared secret (as watch --secret): requests must be
	// signed with it, and answers are. Nil: neither.
	Secret  []byte
	MaxSkew time.Duration    // callback.DefaultMaxSkew when zero
	Now     func() time.Time // time.Now when nil
}

// NewState returns the empty state of sys.
func NewState(sys *System, cfg Config) *State {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &State{sys: sys, secret: cfg.Secret, maxSkew: cfg.MaxSkew, now: cfg.Now, insts: map[string]*instance{}, count: map[*Member]int{}}
}

// errFull: the member has as many instances as it counts.
var errFull = errors.New("member full")

// track returns the instance's state, adding it when its member has room.
// s.mu must be held.
func (s *State) track(id string) (*instance, error) {
	if in := s.insts[id]; in != nil {
		return in, nil
	}
	m := s.sys.MemberOf(id)
	if m == nil {
		return nil, fmt.Errorf("instance %q is in no member of the system", callback.Printable(id))
	}
	if s.count[m] >= m.Count {
		return nil, fmt.Errorf("%w: instance %q would be member %q's instance %d, it counts %d", errFull, callback.Printable(id), m.Name, s.count[m]+1, m.Count)
	}
	in := &instance{id: id, member: m, values: map[string]string{}}
	s.insts[id] = in
	s.count[m]++
	return in, nil
}

// Admit makes the instance one of its member's, or says why not: it is
// in no member, or its member has as many instances as it counts. watch
// asks it for every event's instance (callback.ReceiverConfig.Admit), so
// that an extra instance of one member cannot stand in for another's.
func (s *State) Admit(instance string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.track(instance)
	return err
}

// Observe takes in an accepted event (watch's receiver hands each one on):
// a ready event makes its instance ready with the facts it carries; a
// failed one makes it not ready, and so does the first pipeline event
// (step.started, step.finished, progress) of another boot than the ready
// one's: the instance rebooted, and is not ready until it says so again,
// so that a dependant that asks meanwhile waits. An instance's events
// arrive in order, the rest of an earlier boot's before a new boot's
// (docs/callbacks.md, "Delivery"). Login, reserved and sanitized events
// change nothing: they come after the boot, the last two from a command
// with a boot id of its own.
func (s *State) Observe(ev callback.Event) {
	inst := ev.Data.InstanceID
	if inst == "" {
		inst = ev.Source[min(len(ev.Source), len(callback.SourcePrefix)):]
	}
	switch ev.Type {
	case callback.TypeReady, callback.TypeFailed, callback.TypeStepStarted, callback.TypeStepFinished, callback.TypeProgress:
	default:
		return
	}
	boot := ev.Data.Boot
	if boot == "" { // the id is "<boot id>-<sequence>"
		if i := strings.LastIndexByte(ev.ID, '-'); i > 0 {
			boot = ev.ID[:i]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.track(inst)
	if err != nil {
		return
	}
	in.lastSeen = s.now()
	switch ev.Type {
	case callback.TypeReady:
		in.ready, in.boot = true, boot
		d := ev.Data
		in.facts = callback.SystemInstance{Hostname: d.Hostname, Addresses: slices.Clone(d.Addresses), SSHPort: d.SSHPort, HostKeys: slices.Clone(d.SSHHostKeys)}
	case callback.TypeFailed:
		in.ready = false
	default:
		if in.ready && boot != in.boot {
			in.ready = false
		}
	}
}

// memberReady: as many of its instances ready as it counts. s.mu held.
func (s *State) memberReady(m *Member) bool {
	n := 0
	for _, in := range s.insts {
		if in.member == m && in.ready {
			n++
		}
	}
	return n >= m.Count
}

// answer is what the instance in is told. s.mu held.
func (s *State) answer(id string, in *instance) callback.SystemAnswer {
	a := callback.SystemAnswer{ID: id, Member: in.member.Name, Ready: true}
	ready := map[*Member]bool{}
	for _, m := range s.sys.Members {
		ready[m] = s.memberReady(m)
	}
	for _, d := range in.member.After {
		if m := s.sys.Member(d); m != nil && !ready[m] {
			a.Ready = false
			a.Waiting = append(a.Waiting, d)
		}
	}
	for _, m := range s.sys.Members {
		sm := callback.SystemMember{Name: m.Name, After: m.After, Ready: ready[m]}
		var ids []string
		for iid, x := range s.insts {
			if x.member == m {
				ids = append(ids, iid)
			}
		}
		sort.Strings(ids)
		for _, iid := range ids {
			x := s.insts[iid]
			si := x.facts
			si.Instance, si.Ready = x.id, x.ready
			if len(x.values) > 0 {
				si.Values = make(map[string]string, len(x.values))
				for k, v := range x.values {
					si.Values[k] = v
				}
			}
			sm.Instances = append(sm.Instances, si)
		}
		a.Members = append(a.Members, sm)
	}
	return a
}

// Snapshot returns the state as the given instance would be told it (a
// member's name, for tests and the web view: its first instance's view).
func (s *State) Snapshot(instanceID string) (callback.SystemAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.insts[instanceID]
	if in == nil {
		return callback.SystemAnswer{}, false
	}
	return s.answer("", in), true
}

// RejectError is a refused request: its HTTP status and why.
type RejectError struct {
	Code int
	Err  error
}

func (e *RejectError) Error() string { return fmt.Sprintf("%d: %v", e.Code, e.Err) }
func (e *RejectError) Unwrap() error { return e.Err }

// Handler returns the http.Handler of the system protocol. onReject, when
// not nil, is told of every refused request.
func (s *State) Handler(onReject func(remote string, code int, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a, err := s.serve(w, req)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				re = &RejectError{Code: http.StatusBadRequest, Err: err}
			}
			if onReject != nil {
				onReject(req.RemoteAddr, re.Code, re.Err)
			}
			http.Error(w, http.StatusText(re.Code), re.Code) // no detail: the sender may be hostile
			return
		}
		body, _ := json.Marshal(a)
		w.Header().Set("Content-Type", callback.SystemContentType)
		if s.secret != nil {
			callback.SignRequest(w.Header(), s.secret, a.ID, body, s.now())
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

func reject(code int, format string, args ...any) error {
	return &RejectError{Code: code, Err: fmt.Errorf(format, args...)}
}

func (s *State) serve(w http.ResponseWriter, req *http.Request) (*callback.SystemAnswer, error) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return nil, reject(http.StatusMethodNotAllowed, "method %s", req.Method)
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != callback.SystemContentType {
		return nil, reject(http.StatusUnsupportedMediaType, "Content-Type %q, want %s", callback.Printable(req.Header.Get("Content-Type")), callback.SystemContentType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, callback.MaxSystemRequest))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, reject(http.StatusRequestEntityTooLarge, "body over %d bytes", callback.MaxSystemRequest)
		}
		return nil, reject(http.StatusBadRequest, "reading body: %v", err)
	}
	if s.secret != nil {
		if _, err := callback.Verify(s.secret, req.Header, body, s.now(), s.maxSkew); err != nil {
			return nil, &RejectError{Code: http.StatusUnauthorized, Err: err}
		}
	}
	var r callback.SystemRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, reject(http.StatusBadRequest, "malformed request: %v", err)
	}
	if r.ID == "" || len(r.ID) > callback.MaxEventIDLen || r.Instance == "" || len(r.Instance) > callback.MaxInstanceIDLen {
		return nil, reject(http.StatusBadRequest, "malformed request: id of %d bytes, instance of %d bytes", len(r.ID), len(r.Instance))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.track(r.Instance)
	if err != nil {
		return nil, &RejectError{Code: http.StatusForbidden, Err: err}
	}
	switch r.Op {
	case callback.SystemQuery:
		if r.Name != "" || r.Value != "" {
			return nil, reject(http.StatusBadRequest, "query from %q with a name or value", r.Instance)
		}
	case callback.SystemPublish:
		if err := callback.CheckSystemName(r.Name); err != nil {
			return nil, reject(http.StatusBadRequest, "publish from %q: %v", r.Instance, err)
		}
		if len(r.Value) > callback.MaxSystemValueLen {
			return nil, reject(http.StatusBadRequest, "publish %q from %q: value of %d bytes, at most %d", r.Name, r.Instance, len(r.Value), callback.MaxSystemValueLen)
		}
		if slices.Contains(in.seen, r.ID) {
			break // applied already: a retry or a replay changes nothing
		}
		if _, ok := in.values[r.Name]; !ok && len(in.values) >= callback.MaxSystemValues {
			return nil, reject(http.StatusBadRequest, "publish %q from %q: it has published %d values, at most %d", r.Name, r.Instance, len(in.values), callback.MaxSystemValues)
		}
		in.values[r.Name] = r.Value
		in.seen = append(in.seen, r.ID)
		if len(in.seen) > maxSeenIDs {
			in.seen = slices.Delete(in.seen, 0, len(in.seen)-maxSeenIDs)
		}
	default:
		return nil, reject(http.StatusBadRequest, "op %q from %q: want %s or %s", callback.Printable(r.Op), r.Instance, callback.SystemQuery, callback.SystemPublish)
	}
	in.lastSeen = s.now()
	a := s.answer(r.ID, in)
	return &a, nil
}

// Route returns a handler that sends the system protocol's requests (by
// their Content-Type) to system and everything else, the events, to
// events: one URL serves both, as ovfinit.system.url defaults to the
// callback URL.
func Route(events, system http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err == nil && mt == callback.SystemContentType {
			system.ServeHTTP(w, req)
			return
		}
		events.ServeHTTP(w, req)
	})
}

// MemberStatus is one member as the web view shows it: how many of its
// instances are ready of the count that makes it ready.
type MemberStatus struct {
	Name           string   `json:"name"`
	After          []string `json:"after,omitempty"`
	ReadyInstances int      `json:"readyInstances"`
	Count          int      `json:"count"`
	Ready          bool     `json:"ready"` // ReadyInstances >= Count
}

// Members returns every member's status, in the system file's order.
func (s *State) Members() []MemberStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := make(map[*Member]int, len(s.sys.Members))
	for _, in := range s.insts {
		if in.ready {
			n[in.member]++
		}
	}
	out := make([]MemberStatus, 0, len(s.sys.Members))
	for _, m := range s.sys.Members {
		out = append(out, MemberStatus{Name: m.Name, After: slices.Clone(m.After), ReadyInstances: n[m], Count: m.Count, Ready: n[m] >= m.Count})
	}
	return out
}

// MemberOf returns the name of the member an instance belongs to, "" for
// none.
func (s *State) MemberOf(instance string) string {
	if m := s.sys.MemberOf(instance); m != nil {
		return m.Name
	}
	return ""
}
