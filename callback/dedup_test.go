package callback

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
