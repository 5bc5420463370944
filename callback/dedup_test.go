package callback

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestDedup feeds id sequences to one instance's dedup state and checks
// which are passed on as new.
func TestDedup(t *testing.T) {
	tests := []struct {
		name string
		ids  string // space-separated
		want string // the new ones
	}{
		{"in order", "b-1 b-2 b-3", "b-1 b-2 b-3"},
		{"retry of the last", "b-1 b-2 b-2 b-3 b-3", "b-1 b-2 b-3"},
		{"replay of an old one", "b-1 b-2 b-3 b-4 b-2 b-1", "b-1 b-2 b-3 b-4"},
		{"gap (rejected events)", "b-1 b-4 b-5 b-4", "b-1 b-4 b-5"},
		{"spooled boot, then a new boot", "a-1 a-2 b-1 a-2 b-1 b-2", "a-1 a-2 b-1 b-2"},
		{"boot id with dashes", "x-y-1 x-y-1 x-y-2 x-1", "x-y-1 x-y-2 x-1"},
		{"other shapes remembered exactly", "abc abc b-0 b-0 -1 -1 b-x b-x", "abc b-0 -1 b-x"},
		{"leading zeros are the same number", "b-1 b-01 b-002 b-2", "b-1 b-002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dedup
			var got []string
			for _, id := range strings.Fields(tt.ids) {
				if d.add(id) {
					got = append(got, id)
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("add(%s): new = %q, want %q", tt.ids, g, tt.want)
			}
		})
	}
}

// TestDedupBounded: however many events and boots an instance sends, the
// dedup state stays within MaxBootsPerInstance marks and MaxOtherIDs ids.
func TestDedupBounded(t *testing.T) {
	var d dedup
	for boot := range 3 * MaxBootsPerInstance {
		for n := 1; n <= 200; n++ {
			if !d.add(fmt.Sprintf("boot%d-%d", boot, n)) {
				t.Fatalf("boot%d-%d reported as a duplicate", boot, n)
			}
		}
	}
	for i := range 3 * MaxOtherIDs {
		d.add(fmt.Sprintf("id%d", i))
	}
	if len(d.boots) != MaxBootsPerInstance || len(d.other) != MaxOtherIDs || len(d.order) != MaxOtherIDs {
		t.Errorf("after %d boots of 200 events and %d other ids: %d boot marks, %d+%d other ids; want %d and %d",
			3*MaxBootsPerInstance, 3*MaxOtherIDs, len(d.boots), len(d.other), len(d.order), MaxBootsPerInstance, MaxOtherIDs)
	}
	// The latest boots are the ones kept: their events are still duplicates.
	last := fmt.Sprintf("boot%d-200", 3*MaxBootsPerInstance-1)
	if d.add(last) {
		t.Errorf("add(%s) again = new, want duplicate", last)
	}
	// A boot updated recently stays, though it began long ago.
	var e dedup
	e.add("old-1")
	for b := range MaxBootsPerInstance - 1 {
		e.add(fmt.Sprintf("b%d-1", b))
	}
	e.add("old-2") // old is now the most recently updated
	e.add("new-1") // forgets b0, not old
	if e.add("old-1") || e.add("old-2") {
		t.Error("a boot updated recently was forgotten before older ones")
	}
	if !e.add("b0-1") {
		t.Error("the least recently updated boot was kept, want it forgotten")
	}
}

// TestReceiverMemoryFlat: a Receiver's per-instance state does not grow
// with the number of events it accepts.
func TestReceiverMemoryFlat(t *testing.T) {
	r := NewReceiver(ReceiverConfig{})
	post := func(inst, id string, seq int) int {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(testEvent(inst, id, seq, TypeStepFinished, Data{Step: "s", Status: StatusOK}))))
		req.Header.Set("Content-Type", ContentType)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	const n = 5000
	for i := 1; i <= n; i++ {
		for _, inst := range []string{"vm-1", "vm-2"} {
			if code := post(inst, fmt.Sprintf("b-%d", i), i); code != http.StatusNoContent {
				t.Fatalf("POST %s b-%d = %d, want 204", inst, i, code)
			}
		}
	}
	post("vm-1", "b-17", 17) // a replay
	if st := r.Stats(); st.Accepted != 2*n || st.Duplicates != 1 {
		t.Errorf("Stats() = %+v, want %d accepted and 1 duplicate", st, 2*n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for inst, e := range r.vms {
		if d := e.seen; len(d.boots) != 1 || len(d.other) != 0 {
			t.Errorf("after %d events, %s's dedup state holds %d boot marks and %d ids, want 1 and 0", n, inst, len(d.boots), len(d.other))
		}
	}
}

// postEvent sends one unsigned event to r and returns the status.
func postEvent(r *Receiver, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", ContentType)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w.Code
}

// TestReceiverInstancesBounded: however many distinct instances send
// events, a Receiver tracks at most its bound: a new instance replaces the
// ready one updated least recently, is refused with 503 when none is
// ready, and with Expect, any instance beyond the first Expect is refused
// with 403.
func TestReceiverInstancesBounded(t *testing.T) {
	const limit = 50
	step := Data{Step: "network", Status: StatusOK, Percent: 40}
	ready := Data{Result: ResultReady, Percent: 100}

	t.Run("ready ones evicted", func(t *testing.T) {
		r := NewReceiver(ReceiverConfig{MaxInstances: limit})
		for i := range 4 * limit {
			inst := fmt.Sprintf("vm-%d", i)
			if code := postEvent(r, testEvent(inst, "b-1", 1, TypeStepFinished, step)); code != http.StatusNoContent {
				t.Fatalf("POST %s b-1 = %d, want 204", inst, code)
			}
			if code := postEvent(r, testEvent(inst, "b-2", 2, TypeReady, ready)); code != http.StatusNoContent {
				t.Fatalf("POST %s b-2 = %d, want 204", inst, code)
			}
		}
		vms := r.VMs()
		if len(vms) != limit || len(r.vms) != limit || r.order.Len() != limit || r.done.Len() != limit || r.ready != limit {
			t.Fatalf("after %d instances: %d VMs, %d tracked, %d in order, %d ready listed, %d counted; want %d each",
				4*limit, len(vms), len(r.vms), r.order.Len(), r.done.Len(), r.ready, limit)
		}
		if vms[0].Instance != fmt.Sprintf("vm-%d", 3*limit) {
			t.Errorf("oldest instance kept = %s, want vm-%d (the least recently updated evicted first)", vms[0].Instance, 3*limit)
		}
	})
	t.Run("refused when none is ready", func(t *testing.T) {
		r := NewReceiver(ReceiverConfig{MaxInstances: limit})
		for i := range limit + 10 {
			want := http.StatusNoContent
			if i >= limit {
				want = http.StatusServiceUnavailable
			}
			if code := postEvent(r, testEvent(fmt.Sprintf("vm-%d", i), "b-1", 1, TypeStepFinished, step)); code != want {
				t.Errorf("POST from instance %d of %d = %d, want %d", i+1, limit, code, want)
			}
		}
		if n := len(r.VMs()); n != limit {
			t.Errorf("VMs() has %d, want %d", n, limit)
		}
	})
	t.Run("expect", func(t *testing.T) {
		r := NewReceiver(ReceiverConfig{Expect: 3})
		for i := range 6 {
			want := http.StatusNoContent
			if i >= 3 {
				want = http.StatusForbidden
			}
			if code := postEvent(r, testEvent(fmt.Sprintf("vm-%d", i), "b-1", 1, TypeReady, ready)); code != want {
				t.Errorf("POST from instance %d with Expect 3 = %d, want %d", i+1, code, want)
			}
		}
		if n := len(r.VMs()); n != 3 {
			t.Errorf("VMs() has %d, want 3", n)
		}
	})
	t.Run("default", func(t *testing.T) {
		r := NewReceiver(ReceiverConfig{})
		if r.limit != DefaultMaxInstances || !r.evict {
			t.Errorf("NewReceiver(ReceiverConfig{}) tracks up to %d, evicting %v; want %d, true", r.limit, r.evict, DefaultMaxInstances)
		}
	})
}

// retained is the bytes of text a Receiver keeps for one instance: its VM
// and its dedup marks.
func retained(r *Receiver, inst string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.vms[inst]
	vm := e.vm
	n := len(vm.Instance) + len(vm.Step) + len(vm.Status) + len(vm.Result) + len(vm.Message) + len(vm.Hostname)
	for _, a := range vm.Addresses {
		n += len(a)
	}
	for _, b := range e.seen.boots {
		n += len(b.boot)
	}
	for id := range e.seen.other {
		n += 2 * len(id) // the map key and order
	}
	return n
}

// TestReceiverRetainedBytes: an event as large as a request may be (256
// KiB) leaves at most a few KiB behind, and ids too long to be ovfinit's
// are refused: 2,000 such events used to hold 837 MB.
func TestReceiverRetainedBytes(t *testing.T) {
	r := NewReceiver(ReceiverConfig{})
	addrs := make([]string, 2000)
	for i := range addrs {
		addrs[i] = strings.Repeat("a", 60) + fmt.Sprint(i)
	}
	huge := Data{Step: strings.Repeat("s", 20000), Status: strings.Repeat("t", 20000), Result: strings.Repeat("r", 1000),
		Message: strings.Repeat("é", 30000), Hostname: strings.Repeat("h", 20000), Addresses: addrs}
	if code := postEvent(r, testEvent("vm-1", "b-1", 1, TypeStepFinished, huge)); code != http.StatusNoContent {
		t.Fatalf("POST large event = %d, want 204", code)
	}
	for i := range 10 * MaxOtherIDs { // ids of another shape, as long as allowed
		id := fmt.Sprintf("%0*d", MaxEventIDLen, i)
		if code := postEvent(r, testEvent("vm-1", id, i, TypeStepFinished, Data{})); code != http.StatusNoContent {
			t.Fatalf("POST id %s = %d, want 204", id, code)
		}
	}
	for b := range 3 * MaxBootsPerInstance {
		id := fmt.Sprintf("%0*d-1", MaxEventIDLen-2, b)
		if code := postEvent(r, testEvent("vm-1", id, 1, TypeStepFinished, huge)); code != http.StatusNoContent {
			t.Fatalf("POST id %s = %d, want 204", id, code)
		}
	}
	limit := MaxInstanceIDLen + 2*MaxStepLen + len(ResultFatal) + MaxMessageLen + MaxHostnameLen + MaxAddresses*MaxAddressLen +
		MaxBootsPerInstance*MaxEventIDLen + 2*MaxOtherIDs*MaxEventIDLen
	if n := retained(r, "vm-1"); n > limit {
		t.Errorf("one instance keeps %d bytes of text, want at most %d", n, limit)
	}
	vm := r.VMs()[0]
	if !utf8.ValidString(vm.Message) || len(vm.Message) > MaxMessageLen || len(vm.Addresses) != MaxAddresses || vm.Result != "" {
		t.Errorf("kept message of %d bytes (valid UTF-8: %v), %d addresses, result %q; want at most %d bytes, valid, %d addresses, no result",
			len(vm.Message), utf8.ValidString(vm.Message), len(vm.Addresses), vm.Result, MaxMessageLen, MaxAddresses)
	}

	long := strings.Repeat("i", MaxInstanceIDLen+1)
	for _, tt := range []struct{ inst, id string }{{long, "b-1"}, {"vm-2", strings.Repeat("b", MaxEventIDLen) + "-1"}} {
		if code := postEvent(r, testEvent(tt.inst, tt.id, 1, TypeStepFinished, Data{})); code != http.StatusBadRequest {
			t.Errorf("POST instance of %d bytes, id of %d bytes = %d, want 400", len(tt.inst), len(tt.id), code)
		}
	}
	if n := len(r.VMs()); n != 1 {
		t.Errorf("VMs() has %d, want 1: events with ids too long are not tracked", n)
	}
}

// TestOutcomeIndexed: Outcome answers from counters kept as events arrive,
// without reading the instances (which made watch O(n^2) in events): with
// the instance table taken away, it still knows 1,000 of 1,000 are ready.
func TestOutcomeIndexed(t *testing.T) {
	const n = 1000
	r := NewReceiver(ReceiverConfig{Expect: n})
	for i := range n {
		if code := postEvent(r, testEvent(fmt.Sprintf("vm-%d", i), "b-1", 1, TypeReady, Data{Result: ResultReady, Percent: 100})); code != http.StatusNoContent {
			t.Fatalf("POST = %d", code)
		}
	}
	r.mu.Lock()
	r.vms = nil // Outcome must not need it
	r.mu.Unlock()
	if done, code, why := r.Outcome(); !done || code != OutcomeReady || why != "1000 of 1000 VMs ready" {
		t.Errorf("Outcome() = %v, %d, %q; want true, %d, %q", done, code, why, OutcomeReady, "1000 of 1000 VMs ready")
	}
}

// TestOutcomeTransitions: results that change (a retry, then a new boot
// that is ready) keep Outcome's counters right.
func TestOutcomeTransitions(t *testing.T) {
	r := NewReceiver(ReceiverConfig{Instances: []string{"a", "b"}})
	postEvent(r, testEvent("a", "x-1", 1, TypeFailed, Data{Result: ResultRetry, Step: "network", Message: "dhcp"}))
	if done, code, why := r.Outcome(); !done || code != OutcomeRetry || why != "a failed (retry may help) at step network: dhcp" {
		t.Errorf("after a's retry: Outcome() = %v, %d, %q", done, code, why)
	}
	postEvent(r, testEvent("a", "y-1", 1, TypeReady, Data{Result: ResultReady}))
	if done, _, why := r.Outcome(); done || why != "1 of 2 VMs ready" {
		t.Errorf("after a's new boot is ready: Outcome() = %v, %q; want not done, 1 of 2", done, why)
	}
	postEvent(r, testEvent("b", "z-1", 1, TypeFailed, Data{Result: ResultFatal, Step: "user", Message: "\x1b]0;pwned\x07"}))
	if done, code, why := r.Outcome(); !done || code != OutcomeFatal || why != `b failed (fatal) at step user: \x1b]0;pwned\a` {
		t.Errorf("after b's fatal: Outcome() = %v, %d, %q", done, code, why)
	}
}

// TestPrintable: whatever an event holds, the printed text has no byte a
// terminal acts on: no C0 or C1 control, DEL, invalid UTF-8, bidi override
// or line separator; ordinary text is unchanged.
func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"vm-1 network ok 40%", "vm-1 network ok 40%"},
		{"héllo wörld, 日本", "héllo wörld, 日本"},
		{"\x1b]0;owned\x07", `\x1b]0;owned\a`},                          // window title
		{"\x1b]52;c;cm0gLXJmIH4K\x1b\\", `\x1b]52;c;cm0gLXJmIH4K\x1b\`}, // clipboard
		{"ok\rvm-9 ready", `ok\rvm-9 ready`},                            // overwritten line
		{"ok\nvm-9 ready", `ok\nvm-9 ready`},                            // forged line
		{"\u009b31m red", `\u009b31m red`},                              // C1 CSI
		{"x\x7fy\xffz", `x\x7fy\xffz`},
		{"abc\u202edcba\u2066\u2028", `abc\u202edcba\u2066\u2028`},
	}
	for _, tt := range tests {
		got := Printable(tt.in)
		if got != tt.want {
			t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0x2000 && !unicode.IsPrint(r)) }) {
			t.Errorf("Printable(%q) = %q: holds a control or format character", tt.in, got)
		}
	}
	ev := Event{Source: SourcePrefix + "vm-\x1b[2J", Type: TypeFailed, Data: Data{Step: "a\rb", Result: ResultFatal, Hostname: "\u202eh", Addresses: []string{"\n1"}, Message: "\x1b]52;c;eA==\x07"}}
	if got := FormatEvent(ev); strings.ContainsAny(got, "\x1b\r\n\a\u202e") {
		t.Errorf("FormatEvent(hostile) = %q, holds a control character", got)
	}
}
