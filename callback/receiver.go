package callback

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// SourcePrefix starts every event's source; the instance id follows.
const SourcePrefix = "urn:ovfinit:instance:"

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// Secret is the shared secret, as given (Key makes the HMAC key of
	// it). When set, every request must carry a valid Standard Webhooks
	// signature (Verify); when nil, signatures are not checked.
	Secret []byte
	// MaxSkew is the replay window of Verify; DefaultMaxSkew when zero.
	MaxSkew time.Duration
	// Instances, when not empty, are the only instance ids accepted: each
	// is an id or a pattern of path.Match ("web-*", "vm-[0-9]*"); an event
	// from any other instance is refused with 403.
	Instances []string
	// Expect, when above zero, is the number of instances waited for: the
	// first Expect distinct instances with an accepted event (and allowed
	// by Instances) are the only ones; an event from any further instance
	// is refused with 403, so that it cannot count towards Outcome. When
	// zero, the ids of Instances are the ones waited for, if they are all
	// ids rather than patterns.
	Expect int
	// MaxInstances bounds the instances tracked when neither Expect nor a
	// list of ids in Instances does: DefaultMaxInstances when zero. When
	// the table is full, a new instance takes the place of the ready
	// instance updated least recently (forgotten, duplicates detection
	// included: its later events are a new instance's); with none ready,
	// it is refused with 503 (ErrTooManyInstances).
	MaxInstances int
	// Admit, when set, is asked about every accepted event's instance
	// after the checks above (signature, Instances) and before the event
	// counts: an error refuses it with 403. A system of VMs admits only
	// as many instances per member as the member counts.
	Admit func(instance string) error
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnEvent is called once per new event (duplicates are not passed on),
	// one call at a time, in the order the events were accepted. raw is
	// the request body.
	OnEvent func(ev Event, raw []byte)
	// OnReject is called for every refused request, with the HTTP status
	// sent and why. It may be called concurrently.
	OnReject func(remote string, code int, err error)
}

// DefaultMaxInstances is ReceiverConfig.MaxInstances when zero.
const DefaultMaxInstances = 10000

// Bounds of what a Receiver accepts and keeps of one instance. Longer ids
// are refused (400); longer text is cut where it is kept (VM), while
// OnEvent still gets the whole event.
const (
	MaxInstanceIDLen = 128 // bytes of an instance id
	MaxEventIDLen    = 64  // bytes of an event id ("<boot>-<n>")
	MaxStepLen       = 64  // bytes of VM.Step and VM.Status kept
	MaxMessageLen    = 1024
	MaxHostnameLen   = 255
	MaxAddresses     = 16 // addresses kept, each cut to MaxAddressLen
	MaxAddressLen    = 64
)

// VM is what a Receiver knows of one instance, from its latest event.
type VM struct {
	Instance  string
	Attempt   int
	Step      string
	Status    string
	Percent   int
	Result    string // ResultReady, ResultRetry, ResultFatal once known
	Message   string
	Hostname  string
	Addresses []string
	SSHPort   int
	Events    int // distinct events received
	First     time.Time
	Last      time.Time
}

// Stats counts a Receiver's requests.
type Stats struct {
	Accepted   int // new events
	Duplicates int // events already received (retries, replays)
	Rejected   int // refused requests
}

// Receiver is the manager's side of the protocol, an http.Handler: it
// checks each POSTed event (content type, signature, replay window, known
// instance), answers 204 for a new or already seen event, 401 for a bad or
// missing signature or a timestamp outside the window, 403 for an instance
// that is not allowed or one more than expected, 503 when it tracks as many
// instances as it may, 400/413/415 for a malformed request, and keeps each
// instance's progress. It deduplicates by source and id, so at-least-once
// delivery becomes exactly-once for OnEvent.
//
// Its memory is bounded: it tracks at most Expect, len(Instances) or
// MaxInstances instances, keeps at most the bounds above of each one's
// text, and, since an instance's events arrive in order, keeps per
// instance only the highest sequence number accepted for each of its last
// MaxBootsPerInstance boots (ids "<boot>-<n>"); an id at or below that
// mark is a duplicate. Ids of another shape are remembered exactly, the
// last MaxOtherIDs of them per instance. Every request is handled in time
// independent of the number of instances (maps and lists, no scans).
type Receiver struct {
	cfg      ReceiverConfig
	exact    map[string]bool // Instances that are ids
	patterns []string        // Instances that are patterns
	expect   int             // instances Outcome waits for; 0: none
	limit    int             // most instances tracked
	evict    bool            // beyond limit, replace a ready instance; else refuse

	mu      sync.Mutex
	vms     map[string]*entry // by instance id
	order   list.List         // of *entry, by first event
	done    list.List         // of ready *entry, least recently updated first
	seq     uint64            // numbers entries in order of first event
	ready   int               // entries whose Result is ResultReady
	fatal   map[*entry]struct{}
	retry   map[*entry]struct{}
	stats   Stats
	changed chan struct{}
	emit    sync.Mutex // serializes OnEvent
}

// entry is one tracked instance.
type entry struct {
	vm    VM
	seen  dedup
	seq   uint64
	order *list.Element // in Receiver.order
	done  *list.Element // in Receiver.done while ready
}

// maxEventBody bounds a request body.
const maxEventBody = 256 << 10

// NewReceiver returns a Receiver.
func NewReceiver(cfg ReceiverConfig) *Receiver {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Receiver{cfg: cfg, vms: map[string]*entry{}, fatal: map[*entry]struct{}{}, retry: map[*entry]struct{}{}, changed: make(chan struct{})}
	for _, id := range cfg.Instances {
		if isPattern(id) {
			r.patterns = append(r.patterns, id)
			continue
		}
		if r.exact == nil {
			r.exact = map[string]bool{}
		}
		r.exact[id] = true
	}
	switch {
	case cfg.Expect > 0:
		r.expect, r.limit = cfg.Expect, cfg.Expect
	case len(r.exact) > 0 && len(r.patterns) == 0:
		r.expect, r.limit = len(r.exact), len(r.exact)
	default:
		r.limit, r.evict = cfg.MaxInstances, true
		if r.limit <= 0 {
			r.limit = DefaultMaxInstances
		}
	}
	return r
}

// isPattern reports whether an Instances entry is a path.Match pattern.
func isPattern(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// CheckInstances returns an error naming the first entry of Instances
// that is neither an id nor a valid pattern.
func CheckInstances(instances []string) error {
	for _, s := range instances {
		if s == "" || len(s) > MaxInstanceIDLen {
			return fmt.Errorf("instance %q: want an id or pattern of 1 to %d bytes", s, MaxInstanceIDLen)
		}
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Errorf("instance pattern %q: %w", s, err)
		}
	}
	return nil
}

// allowed reports whether inst passes the Instances list.
func (r *Receiver) allowed(inst string) bool {
	if len(r.cfg.Instances) == 0 || r.exact[inst] {
		return true
	}
	for _, p := range r.patterns {
		if ok, _ := path.Match(p, inst); ok {
			return true
		}
	}
	return false
}

// Errors a Receiver refuses requests with, besides Verify's.
var (
	ErrUnknownInstance  = errors.New("callback: event from an instance not in the expected list")
	ErrTooManyInstances = errors.New("callback: too many instances tracked")
	ErrMalformed        = errors.New("callback: malformed event")
)

func (r *Receiver) reject(w http.ResponseWriter, req *http.Request, code int, err error) {
	r.mu.Lock()
	r.stats.Rejected++
	r.mu.Unlock()
	if r.cfg.OnReject != nil {
		r.cfg.OnReject(req.RemoteAddr, code, err)
	}
	http.Error(w, http.StatusText(code), code) // no detail: the sender may be hostile
}

// ServeHTTP handles one POSTed event.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		r.reject(w, req, http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s", ErrMalformed, req.Method))
		return
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != ContentType {
		r.reject(w, req, http.StatusUnsupportedMediaType, fmt.Errorf("%w: Content-Type %q, want %s", ErrMalformed, req.Header.Get("Content-Type"), ContentType))
		return
	}
	// MaxBytesReader, unlike a LimitReader, also has the server close the
	// connection rather than read on what is left of a long body.
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxEventBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			r.reject(w, req, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: body over %d bytes", ErrMalformed, maxEventBody))
			return
		}
		r.reject(w, req, http.StatusBadRequest, fmt.Errorf("%w: reading body: %v", ErrMalformed, err))
		return
	}
	if r.cfg.Secret != nil {
		if _, err := Verify(r.cfg.Secret, req.Header, body, r.cfg.Now(), r.cfg.MaxSkew); err != nil {
			r.reject(w, req, http.StatusUnauthorized, err)
			return
		}
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.reject(w, req, http.StatusBadRequest, fmt.Errorf("%w: %v", ErrMalformed, err))
		return
	}
	inst, ok := strings.CutPrefix(ev.Source, SourcePrefix)
	if !ok || inst == "" || ev.ID == "" || ev.Type == "" {
		r.reject(w, req, http.StatusBadRequest, fmt.Errorf("%w: id %q, source %q, type %q", ErrMalformed, ev.ID, ev.Source, ev.Type))
		return
	}
	if len(inst) > MaxInstanceIDLen || len(ev.ID) > MaxEventIDLen {
		r.reject(w, req, http.StatusBadRequest, fmt.Errorf("%w: instance id of %d bytes or event id of %d bytes, over %d or %d",
			ErrMalformed, len(inst), len(ev.ID), MaxInstanceIDLen, MaxEventIDLen))
		return
	}
	if !r.allowed(inst) {
		r.reject(w, req, http.StatusForbidden, fmt.Errorf("%w: %q", ErrUnknownInstance, inst))
		return
	}
	if r.cfg.Admit != nil {
		if err := r.cfg.Admit(inst); err != nil {
			r.reject(w, req, http.StatusForbidden, fmt.Errorf("%w: %v", ErrUnknownInstance, err))
			return
		}
	}

	// Accept and record under one lock, then hand on under the emit lock
	// taken before the first is released: OnEvent sees acceptance order.
	r.mu.Lock()
	e := r.vms[inst]
	if e == nil {
		var code int
		if e, code, err = r.track(inst); e == nil {
			r.mu.Unlock()
			r.reject(w, req, code, err)
			return
		}
	}
	if !e.seen.add(ev.ID) {
		r.stats.Duplicates++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	r.stats.Accepted++
	r.update(e, ev)
	r.emit.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(ev, body)
	}
	r.emit.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// track adds a new instance, or says why not with an HTTP status. r.mu
// must be held.
func (r *Receiver) track(inst string) (*entry, int, error) {
	if len(r.vms) >= r.limit {
		if !r.evict {
			return nil, http.StatusForbidden, fmt.Errorf("%w: %q would be instance %d, %d expected", ErrUnknownInstance, inst, len(r.vms)+1, r.limit)
		}
		old := r.done.Front()
		if old == nil {
			return nil, http.StatusServiceUnavailable, fmt.Errorf("%w: %q would be instance %d, and none of the %d is ready", ErrTooManyInstances, inst, len(r.vms)+1, r.limit)
		}
		r.forget(old.Value.(*entry))
	}
	r.seq++
	e := &entry{vm: VM{Instance: inst, First: r.cfg.Now()}, seq: r.seq}
	e.order = r.order.PushBack(e)
	r.vms[inst] = e
	return e, 0, nil
}

// forget drops a tracked instance. r.mu must be held.
func (r *Receiver) forget(e *entry) {
	r.setResult(e, "")
	r.order.Remove(e.order)
	delete(r.vms, e.vm.Instance)
}

// setResult changes e's result and the indexes Outcome reads. r.mu must
// be held.
func (r *Receiver) setResult(e *entry, result string) {
	switch e.vm.Result {
	case ResultReady:
		r.ready--
		r.done.Remove(e.done)
		e.done = nil
	case ResultFatal:
		delete(r.fatal, e)
	case ResultRetry:
		delete(r.retry, e)
	}
	e.vm.Result = result
	switch result {
	case ResultReady:
		r.ready++
		e.done = r.done.PushBack(e)
	case ResultFatal:
		r.fatal[e] = struct{}{}
	case ResultRetry:
		r.retry[e] = struct{}{}
	}
}

// Bounds of a Receiver's deduplication state, per instance.
const (
	// MaxBootsPerInstance is how many boots of one instance the Receiver
	// keeps a sequence mark for; the boot updated least recently is
	// forgotten first. A boot's events are all sent before the next boot's
	// (the spool is sent first), so only a replay of an event more than
	// this many boots old could pass as new.
	MaxBootsPerInstance = 16
	// MaxOtherIDs is how many ids not of the form "<boot>-<n>" the
	// Receiver remembers per instance, the oldest forgotten first. ovfinit
	// sends none; they are kept for other senders, few so that an
	// instance's state stays small.
	MaxOtherIDs = 16
)

// dedup is what a Receiver remembers of one instance's event ids.
type dedup struct {
	boots []bootMark          // most recently updated last
	other map[string]struct{} // ids of another shape
	order []string            // other's keys, oldest first
}

// bootMark is the highest sequence number accepted from one boot.
type bootMark struct {
	boot string
	high uint64
}

// splitID splits "<boot>-<n>" with n a positive decimal number.
func splitID(id string) (boot string, n uint64, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return id[:i], n, true
}

// add records id and reports whether it is new.
func (d *dedup) add(id string) bool {
	boot, n, ok := splitID(id)
	if !ok {
		if _, dup := d.other[id]; dup {
			return false
		}
		if d.other == nil {
			d.other = map[string]struct{}{}
		}
		if len(d.order) >= MaxOtherIDs {
			delete(d.other, d.order[0])
			d.order = d.order[1:]
		}
		d.other[id] = struct{}{}
		d.order = append(d.order, id)
		return true
	}
	for i, m := range d.boots {
		if m.boot != boot {
			continue
		}
		if n <= m.high {
			return false
		}
		m.high = n
		copy(d.boots[i:], d.boots[i+1:]) // most recently updated last
		d.boots[len(d.boots)-1] = m
		return true
	}
	if len(d.boots) >= MaxBootsPerInstance {
		d.boots = d.boots[1:]
	}
	d.boots = append(d.boots, bootMark{boot: boot, high: n})
	return true
}

// update folds ev into its instance's state, keeping at most the bounds
// above of its text. r.mu must be held.
func (r *Receiver) update(e *entry, ev Event) {
	vm, d := &e.vm, ev.Data
	vm.Events++
	vm.Last = r.cfg.Now()
	if d.Attempt != 0 {
		vm.Attempt = d.Attempt
	}
	if d.Step != "" {
		vm.Step, vm.Status = cut(d.Step, MaxStepLen), cut(d.Status, MaxStepLen)
	}
	if d.Percent > vm.Percent || d.Result != "" {
		vm.Percent = min(max(d.Percent, 0), 100)
	}
	vm.Message = cut(d.Message, MaxMessageLen)
	if d.Hostname != "" {
		vm.Hostname = cut(d.Hostname, MaxHostnameLen)
	}
	if len(d.Addresses) > 0 {
		vm.Addresses = make([]string, 0, min(len(d.Addresses), MaxAddresses))
		for _, a := range d.Addresses[:min(len(d.Addresses), MaxAddresses)] {
			vm.Addresses = append(vm.Addresses, cut(a, MaxAddressLen))
		}
	}
	if d.SSHPort != 0 {
		vm.SSHPort = d.SSHPort
	}
	switch d.Result {
	case ResultReady, ResultRetry, ResultFatal:
		r.setResult(e, d.Result)
	}
	if e.done != nil {
		r.done.MoveToBack(e.done) // the least recently updated is evicted first
	}
}

// cut returns at most n bytes of s, not splitting a UTF-8 sequence, as a
// copy: a substring would keep the whole decoded string alive.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.Clone(s[:i])
}

// VMs returns every instance tracked, in the order of their first event.
func (r *Receiver) VMs() []VM {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]VM, 0, len(r.vms))
	for el := r.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entry).vm)
	}
	return out
}

// Stats returns the request counts so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Changed returns a channel closed at the next accepted event.
func (r *Receiver) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Exit codes of Outcome, which `ovfinit watch` exits with.
const (
	OutcomeReady = 0 // every expected VM is ready
	OutcomeFatal = 1 // a VM failed and retrying will not help
	OutcomeRetry = 2 // a VM failed and redeploying may help; also: timeout
)

// Outcome says whether watching can stop and with which code: OutcomeFatal
// as soon as one VM failed fatally, else OutcomeRetry as soon as one failed
// with retry, else OutcomeReady once the instances waited for
// (ReceiverConfig.Expect, or the ids of ReceiverConfig.Instances) are
// ready. done is false while neither holds; why explains the code, its
// instance text made safe to print (Printable).
//
// It reads counters the Receiver keeps as events arrive: its cost does not
// grow with the number of instances, only with the number failed.
func (r *Receiver) Outcome() (done bool, code int, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := earliest(r.fatal); e != nil {
		return true, OutcomeFatal, Printable(fmt.Sprintf("%s failed (fatal) at step %s: %s", e.vm.Instance, e.vm.Step, e.vm.Message))
	}
	if e := earliest(r.retry); e != nil {
		return true, OutcomeRetry, Printable(fmt.Sprintf("%s failed (retry may help) at step %s: %s", e.vm.Instance, e.vm.Step, e.vm.Message))
	}
	if r.expect > 0 && r.ready >= r.expect {
		return true, OutcomeReady, fmt.Sprintf("%d of %d VMs ready", r.ready, r.expect)
	}
	return false, 0, fmt.Sprintf("%d of %d VMs ready", r.ready, r.expect)
}

// earliest returns the entry of set whose first event came first.
func earliest(set map[*entry]struct{}) *entry {
	var first *entry
	for e := range set {
		if first == nil || e.seq < first.seq {
			first = e
		}
	}
	return first
}

// Printable returns s with everything a terminal could act on escaped as
// Go does in a quoted string: C0 and C1 control characters (ESC, CR, LF,
// BEL, ...), DEL, invalid UTF-8, and the format characters that reorder or
// hide text (bidi overrides and isolates, zero-width characters, line and
// paragraph separators). Event text comes from the VMs, or from whoever
// holds the secret: printed raw, it could set the terminal's title, write
// its clipboard (OSC 52) or forge lines.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (r != ' ' && !unicode.IsPrint(r)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || (r != utf8.RuneError && unicode.IsPrint(r)):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// FormatEvent renders an event as one line for people:
// "vm-42 step.finished network ok 40% (35ms)". The line is Printable: no
// text of the event can act on a terminal or start another line.
func FormatEvent(ev Event) string {
	inst := strings.TrimPrefix(ev.Source, SourcePrefix)
	typ := strings.TrimPrefix(ev.Type, "org.ovfinit.")
	d := ev.Data
	var b strings.Builder
	b.WriteString(inst + " " + typ)
	if d.Step != "" {
		b.WriteString(" " + d.Step)
	}
	if d.Status != "" && d.Status != StatusStarted {
		b.WriteString(" " + d.Status)
	}
	if d.Result != "" && d.Result != typ {
		b.WriteString(" " + d.Result)
	}
	if d.Percent > 0 {
		fmt.Fprintf(&b, " %d%%", d.Percent)
	}
	if ev.Type != TypeStepStarted && d.DurationMS > 0 {
		fmt.Fprintf(&b, " (%dms)", d.DurationMS)
	}
	if d.Hostname != "" {
		b.WriteString(" host " + d.Hostname)
	}
	if len(d.Addresses) > 0 {
		b.WriteString(" " + strings.Join(d.Addresses, ","))
	}
	if d.Message != "" {
		b.WriteString(": " + d.Message)
	}
	return Printable(b.String())
}
