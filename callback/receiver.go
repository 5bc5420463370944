package callback

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SourcePrefix starts every event's source; the instance id follows.
const SourcePrefix = "urn:ovfinit:instance:"

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// Secret is the shared HMAC key. When set, every request must carry a
	// valid signature (Verify); when nil, signatures are not checked.
	Secret []byte
	// MaxSkew is the replay window of Verify; DefaultMaxSkew when zero.
	MaxSkew time.Duration
	// Instances, when not empty, are the only instance ids accepted; an
	// event from any other is refused with 403.
	Instances []string
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
// missing signature or a timestamp outside the window, 403 for an unknown
// instance, 400/413/415 for a malformed request, and keeps each instance's
// progress. It deduplicates by source and id, so at-least-once delivery
// becomes exactly-once for OnEvent.
//
// Its memory does not grow with the number of events: since an instance's
// events arrive in order, it keeps per instance only the highest sequence
// number accepted for each of its last MaxBootsPerInstance boots (ids
// "<boot>-<n>"); an id at or below that mark is a duplicate. Ids of another
// shape are remembered exactly, the last MaxOtherIDs of them per instance.
type Receiver struct {
	cfg   ReceiverConfig
	allow map[string]bool

	mu      sync.Mutex
	seen    map[string]*dedup // by source
	vms     map[string]*VM
	order   []string // instances in order of their first event
	stats   Stats
	changed chan struct{}
	emit    sync.Mutex // serializes OnEvent
}

// maxEventBody bounds a request body.
const maxEventBody = 256 << 10

// NewReceiver returns a Receiver.
func NewReceiver(cfg ReceiverConfig) *Receiver {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Receiver{cfg: cfg, seen: map[string]*dedup{}, vms: map[string]*VM{}, changed: make(chan struct{})}
	if len(cfg.Instances) > 0 {
		r.allow = map[string]bool{}
		for _, id := range cfg.Instances {
			r.allow[id] = true
		}
	}
	return r
}

// Errors a Receiver refuses requests with, besides Verify's.
var (
	ErrUnknownInstance = errors.New("callback: event from an instance not in the expected list")
	ErrMalformed       = errors.New("callback: malformed event")
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
	body, err := io.ReadAll(io.LimitReader(req.Body, maxEventBody+1))
	if err != nil {
		r.reject(w, req, http.StatusBadRequest, fmt.Errorf("%w: reading body: %v", ErrMalformed, err))
		return
	}
	if len(body) > maxEventBody {
		r.reject(w, req, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: body over %d bytes", ErrMalformed, maxEventBody))
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
	if r.allow != nil && !r.allow[inst] {
		r.reject(w, req, http.StatusForbidden, fmt.Errorf("%w: %q", ErrUnknownInstance, inst))
		return
	}

	// Accept and record under one lock, then hand on under the emit lock
	// taken before the first is released: OnEvent sees acceptance order.
	r.mu.Lock()
	d := r.seen[ev.Source]
	if d == nil {
		d = &dedup{}
		r.seen[ev.Source] = d
	}
	if !d.add(ev.ID) {
		r.stats.Duplicates++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	r.stats.Accepted++
	r.update(inst, ev)
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

// Bounds of a Receiver's deduplication state, per instance.
const (
	// MaxBootsPerInstance is how many boots of one instance the Receiver
	// keeps a sequence mark for; the boot updated least recently is
	// forgotten first. A boot's events are all sent before the next boot's
	// (the spool is sent first), so only a replay of an event more than
	// this many boots old could pass as new.
	MaxBootsPerInstance = 16
	// MaxOtherIDs is how many ids not of the form "<boot>-<n>" the
	// Receiver remembers per instance, the oldest forgotten first.
	MaxOtherIDs = 1024
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

// update folds ev into its instance's state. r.mu must be held.
func (r *Receiver) update(inst string, ev Event) {
	vm := r.vms[inst]
	if vm == nil {
		vm = &VM{Instance: inst, First: r.cfg.Now()}
		r.vms[inst] = vm
		r.order = append(r.order, inst)
	}
	d := ev.Data
	vm.Events++
	vm.Last = r.cfg.Now()
	if d.Attempt != 0 {
		vm.Attempt = d.Attempt
	}
	if d.Step != "" {
		vm.Step, vm.Status = d.Step, d.Status
	}
	if d.Percent > vm.Percent || d.Result != "" {
		vm.Percent = d.Percent
	}
	vm.Message = d.Message
	if d.Result != "" {
		vm.Result = d.Result
	}
	if d.Hostname != "" {
		vm.Hostname = d.Hostname
	}
	if len(d.Addresses) > 0 {
		vm.Addresses = slices.Clone(d.Addresses)
	}
	if d.SSHPort != 0 {
		vm.SSHPort = d.SSHPort
	}
}

// VMs returns every instance seen, in the order of their first event.
func (r *Receiver) VMs() []VM {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]VM, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, *r.vms[id])
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
// with retry, else OutcomeReady once every instance of
// ReceiverConfig.Instances (or, without that list, expect instances) is
// ready. done is false while neither holds; why explains the code.
func (r *Receiver) Outcome(expect int) (done bool, code int, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ready := 0
	var retry string
	for _, id := range r.order {
		vm := r.vms[id]
		switch vm.Result {
		case ResultFatal:
			return true, OutcomeFatal, fmt.Sprintf("%s failed (fatal) at step %s: %s", id, vm.Step, vm.Message)
		case ResultRetry:
			if retry == "" {
				retry = fmt.Sprintf("%s failed (retry may help) at step %s: %s", id, vm.Step, vm.Message)
			}
		case ResultReady:
			ready++
		}
	}
	if retry != "" {
		return true, OutcomeRetry, retry
	}
	if len(r.cfg.Instances) > 0 {
		expect = len(r.allow)
	}
	if expect > 0 && ready >= expect {
		return true, OutcomeReady, fmt.Sprintf("%d of %d VMs ready", ready, expect)
	}
	return false, 0, fmt.Sprintf("%d of %d VMs ready", ready, expect)
}

// FormatEvent renders an event as one line for people:
// "vm-42 step.finished network ok 40% (35ms)".
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
	return b.String()
}
