package web

import (
	"container/list"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/system"
)

// States of a VM on the page and in /api/vms.
const (
	StateRunning     = "running"      // no ready or failed event yet
	StateReady       = "ready"        // sent ready
	StateFailedFatal = "failed-fatal" // failed; redeploying the same will fail again
	StateFailedRetry = "failed-retry" // failed; redeploying may help
)

// Bounds of what a Fleet keeps. Event text is cut as callback.Receiver
// cuts it; the receiver in front of the Fleet bounds the instances too.
const (
	DefaultMaxVMs   = callback.DefaultMaxInstances
	MaxStepsPerBoot = 64 // timeline entries kept per VM; later steps are counted in Step.Dropped
	MaxHostKeys     = 8
	MaxStepNames    = 64 // distinct step names the fleet statistics follow
	maxKeyLen       = 2048
)

// Step is one step of a VM's timeline. Start is milliseconds from the
// boot's first event (the agent's clock, from the events' time and
// durationMs), Duration the step's durationMs; a step still running has
// Status "started" and Duration as the receiver has seen it so far.
type Step struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	StartMS  int64  `json:"startMs"`
	Duration int64  `json:"durationMs"`
}

// HostKey is one SSH host key of a VM. Key is the public key
// ("ssh-ed25519 AAAA...") when the agent sent it and it matches the
// fingerprint; KnownHosts is then the line to add to ~/.ssh/known_hosts.
type HostKey struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
	Key         string `json:"key,omitempty"`
	KnownHosts  string `json:"knownHosts,omitempty"`
}

// Failure is why a VM failed.
type Failure struct {
	Step   string `json:"step"`
	Reason string `json:"reason"`
	Retry  bool   `json:"retry"` // whether redeploying may help
}

// VM is what the page shows of one instance. Every string in it came
// from the network: the page renders it as text only.
type VM struct {
	N         int       `json:"n"`   // order of first event, from 1
	Rev       uint64    `json:"rev"` // the Fleet's revision at this VM's last change
	Instance  string    `json:"instance"`
	State     string    `json:"state"`
	Attempt   int       `json:"attempt,omitempty"`
	Boot      string    `json:"boot,omitempty"`
	Step      string    `json:"step,omitempty"` // the latest step
	Status    string    `json:"status,omitempty"`
	Percent   int       `json:"percent"`
	Message   string    `json:"message,omitempty"`
	BootMS    int64     `json:"bootMs,omitempty"` // the ready event's durationMs, else the timeline's end
	Steps     []Step    `json:"steps"`
	Dropped   int       `json:"droppedSteps,omitempty"`
	Hostname  string    `json:"hostname,omitempty"`
	Addresses []string  `json:"addresses,omitempty"`
	SSHPort   int       `json:"sshPort,omitempty"`
	SSH       string    `json:"ssh,omitempty"` // the command to log in
	HostKeys  []HostKey `json:"hostKeys,omitempty"`
	Failure   *Failure  `json:"failure,omitempty"`
	Events    int       `json:"events"`
	Updated   time.Time `json:"updated"` // this receiver's clock
	// Member is the system member the VM belongs to (watch --system);
	// Waiting, while it runs, the members it comes after that are not
	// ready yet: what its system step waits for.
	Member  string   `json:"member,omitempty"`
	Waiting []string `json:"waiting,omitempty"`
}

// vmState is a VM with what is needed to build its timeline.
type vmState struct {
	vm      VM
	start   time.Time         // the boot's first moment, agent clock
	running map[int]time.Time // timeline index of a started step -> received at (receiver clock)
	el      *list.Element     // in Fleet.order
	done    *list.Element     // in Fleet.done while ready
}

// Fleet folds the events of many VMs into what the page shows. It is safe
// for concurrent use; Add is called from the receiver's OnEvent, in
// acceptance order.
type Fleet struct {
	now    func() time.Time
	maxVMs int

	mu      sync.Mutex
	vms     map[string]*vmState
	order   list.List // of *vmState, by first event
	done    list.List // of ready *vmState, least recently updated first
	n       int
	rev     uint64
	names   []string // step names in first-seen order, at most MaxStepNames
	changed func(inst string)
	summary *Summary // cached for rev sumRev
	sumRev  uint64
	sys     *system.State // watch --system; nil without
}

// SetSystem makes the Fleet show each VM's system member and what it
// waits for, and the members in the summary, from st (which watch feeds
// the same events).
func (f *Fleet) SetSystem(st *system.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sys = st
}

// members returns the system's members by name, nil without a system.
// f.mu must be held.
func (f *Fleet) members() map[string]system.MemberStatus {
	if f.sys == nil {
		return nil
	}
	ms := f.sys.Members()
	out := make(map[string]system.MemberStatus, len(ms))
	for _, m := range ms {
		out[m.Name] = m
	}
	return out
}

// NewFleet returns an empty Fleet keeping at most maxVMs instances
// (DefaultMaxVMs when 0); now is the clock (time.Now when nil).
func NewFleet(maxVMs int, now func() time.Time) *Fleet {
	if maxVMs <= 0 {
		maxVMs = DefaultMaxVMs
	}
	if now == nil {
		now = time.Now
	}
	return &Fleet{now: now, maxVMs: maxVMs, vms: map[string]*vmState{}}
}

// Add folds one accepted event in. An instance beyond the bound takes the
// place of the ready instance updated least recently; with none ready the
// event is not shown.
func (f *Fleet) Add(ev callback.Event) {
	inst, ok := strings.CutPrefix(ev.Source, callback.SourcePrefix)
	if !ok || inst == "" {
		return
	}
	inst = cut(inst, callback.MaxInstanceIDLen)
	f.mu.Lock()
	s := f.vms[inst]
	if s == nil {
		if len(f.vms) >= f.maxVMs && !f.evict() {
			f.mu.Unlock()
			return
		}
		f.n++
		s = &vmState{vm: VM{N: f.n, Instance: inst, State: StateRunning, Steps: []Step{}}}
		s.el = f.order.PushBack(s)
		f.vms[inst] = s
	}
	f.rev++
	f.apply(s, ev)
	s.vm.Rev = f.rev
	switch {
	case s.vm.State == StateReady && s.done == nil:
		s.done = f.done.PushBack(s)
	case s.vm.State == StateReady:
		f.done.MoveToBack(s.done)
	case s.done != nil:
		f.done.Remove(s.done)
		s.done = nil
	}
	notify := f.changed
	f.mu.Unlock()
	if notify != nil {
		notify(inst)
	}
}

// evict forgets the ready VM updated least recently, in constant time.
// f.mu must be held.
func (f *Fleet) evict() bool {
	el := f.done.Front()
	if el == nil {
		return false
	}
	old := el.Value.(*vmState)
	f.done.Remove(el)
	f.order.Remove(old.el)
	delete(f.vms, old.vm.Instance)
	return true
}

// apply folds ev into s. f.mu must be held.
func (f *Fleet) apply(s *vmState, ev callback.Event) {
	vm, d := &s.vm, ev.Data
	now := f.now()
	vm.Events++
	vm.Updated = now
	switch ev.Type {
	case callback.TypeStepStarted, callback.TypeStepFinished, callback.TypeProgress, callback.TypeReady, callback.TypeFailed:
	default:
		// login, reserved, sanitized and types to come: after the boot,
		// from the agent or a command with a boot id of its own; they
		// change neither the timeline nor the state.
		return
	}
	if d.Boot != "" && d.Boot != vm.Boot {
		if vm.Boot != "" { // a new boot: a new timeline
			vm.Steps, vm.Dropped, vm.BootMS, vm.Failure, vm.Percent = []Step{}, 0, 0, nil, 0
			vm.State = StateRunning
			s.running = nil
		}
		vm.Boot = cut(d.Boot, callback.MaxEventIDLen)
		s.start = time.Time{}
	}
	if d.Attempt != 0 {
		vm.Attempt = d.Attempt
	}
	// The boot's first moment: the earliest start any event shows.
	begin := ev.Time
	if ev.Type == callback.TypeStepFinished && d.DurationMS > 0 {
		begin = ev.Time.Add(-time.Duration(d.DurationMS) * time.Millisecond)
	}
	if !ev.Time.IsZero() && (s.start.IsZero() || begin.Before(s.start)) {
		if !s.start.IsZero() {
			shift := s.start.Sub(begin).Milliseconds()
			for i := range vm.Steps {
				vm.Steps[i].StartMS += shift
			}
		}
		s.start = begin
	}
	if d.Step != "" {
		vm.Step, vm.Status = cut(d.Step, callback.MaxStepLen), cut(d.Status, callback.MaxStepLen)
	}
	if d.Percent > vm.Percent || d.Result != "" {
		vm.Percent = min(max(d.Percent, 0), 100)
	}
	vm.Message = cut(d.Message, callback.MaxMessageLen)
	switch ev.Type {
	case callback.TypeStepStarted:
		f.stepStarted(s, d.Step, ev.Time, now)
	case callback.TypeStepFinished:
		f.stepFinished(s, d, ev.Time)
	case callback.TypeReady:
		vm.State, vm.Failure = StateReady, nil
		if d.DurationMS > 0 {
			vm.BootMS = d.DurationMS
		}
	case callback.TypeFailed:
		retry := d.Result == callback.ResultRetry || (d.Retry != nil && *d.Retry)
		vm.State = StateFailedFatal
		if retry {
			vm.State = StateFailedRetry
		}
		vm.Failure = &Failure{Step: cut(d.Step, callback.MaxStepLen), Reason: cut(d.Message, callback.MaxMessageLen), Retry: retry}
		if d.DurationMS > 0 {
			vm.BootMS = d.DurationMS
		}
	}
	if vm.State != StateRunning && vm.BootMS == 0 {
		for _, st := range vm.Steps {
			vm.BootMS = max(vm.BootMS, st.StartMS+st.Duration)
		}
	}
	if d.Hostname != "" {
		vm.Hostname = cut(d.Hostname, callback.MaxHostnameLen)
	}
	if len(d.Addresses) > 0 {
		vm.Addresses = make([]string, 0, min(len(d.Addresses), callback.MaxAddresses))
		for _, a := range d.Addresses[:min(len(d.Addresses), callback.MaxAddresses)] {
			vm.Addresses = append(vm.Addresses, cut(a, callback.MaxAddressLen))
		}
	}
	if d.SSHPort > 0 && d.SSHPort < 65536 {
		vm.SSHPort = d.SSHPort
	}
	if len(d.SSHHostKeys) > 0 && !sameKeys(vm.HostKeys, d.SSHHostKeys) {
		vm.HostKeys = hostKeys(d.SSHHostKeys)
	}
	vm.SSH, vm.HostKeys = sshCommand(vm), knownHosts(vm)
}

// stepStarted opens a timeline entry. f.mu must be held.
func (f *Fleet) stepStarted(s *vmState, name string, at, now time.Time) {
	vm := &s.vm
	if name == "" {
		return
	}
	if len(vm.Steps) >= MaxStepsPerBoot {
		vm.Dropped++
		return
	}
	f.noteName(name)
	vm.Steps = append(vm.Steps, Step{Name: cut(name, callback.MaxStepLen), Status: callback.StatusStarted, StartMS: s.offset(at)})
	if s.running == nil {
		s.running = map[int]time.Time{}
	}
	s.running[len(vm.Steps)-1] = now
}

// stepFinished closes the step's open entry, or adds a finished one (a
// step skipped without starting). f.mu must be held.
func (f *Fleet) stepFinished(s *vmState, d callback.Data, at time.Time) {
	vm := &s.vm
	if d.Step == "" {
		return
	}
	name := cut(d.Step, callback.MaxStepLen)
	dur := max(d.DurationMS, 0)
	for i := len(vm.Steps) - 1; i >= 0; i-- {
		if vm.Steps[i].Name == name && vm.Steps[i].Status == callback.StatusStarted {
			vm.Steps[i].Status, vm.Steps[i].Duration = cut(d.Status, callback.MaxStepLen), dur
			if !at.IsZero() {
				vm.Steps[i].StartMS = max(s.offset(at)-dur, 0)
			}
			delete(s.running, i)
			return
		}
	}
	if len(vm.Steps) >= MaxStepsPerBoot {
		vm.Dropped++
		return
	}
	f.noteName(name)
	vm.Steps = append(vm.Steps, Step{Name: name, Status: cut(d.Status, callback.MaxStepLen), StartMS: max(s.offset(at)-dur, 0), Duration: dur})
}

// offset is at in milliseconds from the boot's start.
func (s *vmState) offset(at time.Time) int64 {
	if at.IsZero() || s.start.IsZero() {
		return 0
	}
	return max(at.Sub(s.start).Milliseconds(), 0)
}

// noteName remembers a step name for the fleet statistics. f.mu must be held.
func (f *Fleet) noteName(name string) {
	if len(f.names) < MaxStepNames && !slices.Contains(f.names, name) {
		f.names = append(f.names, name)
	}
}

// hostKeys copies the host keys of an event, keeping a key only when it
// parses and its fingerprint is the one sent with it.
func hostKeys(in []callback.HostKey) []HostKey {
	out := make([]HostKey, 0, min(len(in), MaxHostKeys))
	for _, k := range in[:min(len(in), MaxHostKeys)] {
		h := HostKey{Type: cut(k.Type, callback.MaxStepLen), Fingerprint: cut(k.Fingerprint, callback.MaxStepLen*2)}
		if k.Key != "" && len(k.Key) <= maxKeyLen {
			pub, _, _, rest, err := gossh.ParseAuthorizedKey([]byte(k.Key))
			if err == nil && len(strings.TrimSpace(string(rest))) == 0 && pub.Type() == k.Type && gossh.FingerprintSHA256(pub) == k.Fingerprint {
				h.Key = strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pub)))
			}
		}
		out = append(out, h)
	}
	return out
}

// sameKeys reports whether in is what have was made from (every event
// repeats the host keys: parse them once).
func sameKeys(have []HostKey, in []callback.HostKey) bool {
	if len(have) != min(len(in), MaxHostKeys) {
		return false
	}
	for i, h := range have {
		k := in[i]
		if h.Type != k.Type || h.Fingerprint != k.Fingerprint || h.Key != k.Key {
			return false
		}
	}
	return true
}

// sshHost is the address to log in to: the first address without its
// prefix length, else the host name.
func sshHost(vm *VM) string {
	for _, a := range vm.Addresses {
		ip, _, _ := strings.Cut(a, "/")
		if ip != "" && strings.IndexFunc(ip, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF.:", r) }) < 0 {
			return ip
		}
	}
	if validHostname(vm.Hostname) {
		return vm.Hostname
	}
	return ""
}

// validHostname reports whether h is a DNS name that is safe on a shell
// command line: letters, digits, '-' and '.', not starting with '-'.
func validHostname(h string) bool {
	if h == "" || h[0] == '-' || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// sshCommand is "ssh -p PORT HOST", or "" without a safe host. Only
// characters that mean nothing to a shell get in.
func sshCommand(vm *VM) string {
	h := sshHost(vm)
	if h == "" || vm.State != StateReady && vm.SSHPort == 0 {
		return ""
	}
	if vm.SSHPort != 0 && vm.SSHPort != 22 {
		return "ssh -p " + strconv.Itoa(vm.SSHPort) + " " + h
	}
	return "ssh " + h
}

// knownHosts fills each host key's known_hosts line: the names the VM is
// reached by ("[addr]:port" off port 22), then the key.
func knownHosts(vm *VM) []HostKey {
	var names []string
	for _, a := range vm.Addresses {
		ip, _, _ := strings.Cut(a, "/")
		if ip != "" && strings.IndexFunc(ip, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF.:", r) }) < 0 {
			names = append(names, ip)
		}
	}
	if validHostname(vm.Hostname) {
		names = append(names, vm.Hostname)
	}
	if vm.SSHPort != 0 && vm.SSHPort != 22 {
		for i, n := range names {
			names[i] = "[" + n + "]:" + strconv.Itoa(vm.SSHPort)
		}
	}
	for i := range vm.HostKeys {
		vm.HostKeys[i].KnownHosts = ""
		if vm.HostKeys[i].Key != "" && len(names) > 0 {
			vm.HostKeys[i].KnownHosts = strings.Join(names, ",") + " " + vm.HostKeys[i].Key
		}
	}
	return vm.HostKeys
}

// cut returns at most n bytes of s, not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-4 && s[i]&0xC0 == 0x80 {
		i--
	}
	return strings.Clone(s[:i])
}

// snapshot returns a copy of s's VM with running steps' durations as seen
// so far and, in a system (members not nil), its member and what it waits
// for. f.mu must be held.
func (f *Fleet) snapshot(s *vmState, now time.Time, members map[string]system.MemberStatus) VM {
	vm := s.vm
	if members != nil {
		vm.Member = f.sys.MemberOf(vm.Instance)
		if vm.State == StateRunning {
			for _, d := range members[vm.Member].After {
				if !members[d].Ready {
					vm.Waiting = append(vm.Waiting, d)
				}
			}
		}
	}
	vm.Steps = slices.Clone(vm.Steps)
	vm.Addresses = slices.Clone(vm.Addresses)
	vm.HostKeys = slices.Clone(vm.HostKeys)
	if vm.Failure != nil {
		fl := *vm.Failure
		vm.Failure = &fl
	}
	for i, at := range s.running {
		if i < len(vm.Steps) {
			vm.Steps[i].Duration = max(now.Sub(at).Milliseconds(), 0)
		}
	}
	return vm
}

// VMs returns every VM, in the order of their first event, and the
// Fleet's revision.
func (f *Fleet) VMs() ([]VM, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now, members := f.now(), f.members()
	out := make([]VM, 0, len(f.vms))
	for el := f.order.Front(); el != nil; el = el.Next() {
		out = append(out, f.snapshot(el.Value.(*vmState), now, members))
	}
	return out, f.rev
}

// Get returns the VMs named, those still tracked, in the order given.
func (f *Fleet) Get(insts []string) []VM {
	f.mu.Lock()
	defer f.mu.Unlock()
	now, members := f.now(), f.members()
	out := make([]VM, 0, len(insts))
	for _, inst := range insts {
		if s := f.vms[inst]; s != nil {
			out = append(out, f.snapshot(s, now, members))
		}
	}
	return out
}

// Rev returns the Fleet's revision: it grows with every event.
func (f *Fleet) Rev() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rev
}

// onChange sets the function called, outside the lock, after each change.
func (f *Fleet) onChange(fn func(inst string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changed = fn
}
