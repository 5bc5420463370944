package web

import (
	"slices"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/system"
)

// Summary is the fleet above the rows: how many VMs are in each state,
// how long the ready ones took to boot, and per step the median and the
// slowest VM ("blame" across VMs).
type Summary struct {
	Rev         uint64       `json:"rev"`
	Total       int          `json:"total"`
	Running     int          `json:"running"`
	Ready       int          `json:"ready"`
	FailedFatal int          `json:"failedFatal"`
	FailedRetry int          `json:"failedRetry"`
	Events      int          `json:"events"`
	Boot        Distribution `json:"boot"`
	Steps       []StepStat   `json:"steps"`
	// Members is each system member's ready instances of its count
	// (watch --system), in the system file's order.
	Members []system.MemberStatus `json:"members,omitempty"`
}

// Distribution is the boot times of the ready VMs (their ready event's
// durationMs): percentiles and a histogram of equal buckets.
type Distribution struct {
	Count   int      `json:"count"`
	P50     int64    `json:"p50Ms"`
	P90     int64    `json:"p90Ms"`
	Max     int64    `json:"maxMs"`
	Buckets []Bucket `json:"buckets"`
}

// Bucket counts the boot times in [FromMS, ToMS).
type Bucket struct {
	FromMS int64 `json:"fromMs"`
	ToMS   int64 `json:"toMs"`
	Count  int   `json:"count"`
}

// StepStat is one step across the VMs that finished it.
type StepStat struct {
	Name     string `json:"name"`
	Count    int    `json:"count"`
	MedianMS int64  `json:"medianMs"`
	MaxMS    int64  `json:"maxMs"`
	Slowest  string `json:"slowest"` // the instance that took MaxMS
}

// histogramBuckets is the number of buckets of Distribution.
const histogramBuckets = 12

// Summary returns the fleet's summary, computed at most once per revision
// but for the system members, which are read fresh.
func (f *Fleet) Summary() Summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.summaryLocked()
	if f.sys != nil {
		// Not cached: the system's state changes with the events, but a
		// request between an event's Add and its Observe must not keep
		// the old one for the revision.
		s.Members = f.sys.Members()
	}
	return s
}

// summaryLocked is the summary without the members, computed at most once
// per revision. f.mu must be held.
func (f *Fleet) summaryLocked() Summary {
	if f.summary != nil && f.sumRev == f.rev {
		return *f.summary
	}
	s := Summary{Rev: f.rev, Steps: []StepStat{}}
	var boots []int64
	type sample struct {
		ms   int64
		inst string
	}
	per := make(map[string][]sample, len(f.names))
	for el := f.order.Front(); el != nil; el = el.Next() {
		vm := &el.Value.(*vmState).vm
		s.Total++
		s.Events += vm.Events
		switch vm.State {
		case StateReady:
			s.Ready++
			boots = append(boots, vm.BootMS)
		case StateFailedFatal:
			s.FailedFatal++
		case StateFailedRetry:
			s.FailedRetry++
		default:
			s.Running++
		}
		for _, st := range vm.Steps {
			if st.Status == callback.StatusStarted {
				continue
			}
			if _, ok := per[st.Name]; ok || slices.Contains(f.names, st.Name) {
				per[st.Name] = append(per[st.Name], sample{st.Duration, vm.Instance})
			}
		}
	}
	s.Boot = distribution(boots)
	for _, name := range f.names {
		xs := per[name]
		if len(xs) == 0 {
			continue
		}
		st := StepStat{Name: name, Count: len(xs)}
		for _, x := range xs {
			if x.ms > st.MaxMS || st.Slowest == "" {
				st.MaxMS, st.Slowest = x.ms, x.inst
			}
		}
		ms := make([]int64, len(xs))
		for i, x := range xs {
			ms[i] = x.ms
		}
		slices.Sort(ms)
		st.MedianMS = ms[len(ms)/2]
		s.Steps = append(s.Steps, st)
	}
	f.summary, f.sumRev = &s, f.rev
	return s
}

// distribution sorts ms and summarizes it.
func distribution(ms []int64) Distribution {
	d := Distribution{Count: len(ms), Buckets: []Bucket{}}
	if len(ms) == 0 {
		return d
	}
	slices.Sort(ms)
	d.P50, d.P90, d.Max = ms[len(ms)/2], ms[(len(ms)*9)/10], ms[len(ms)-1]
	width := niceWidth(d.Max / histogramBuckets)
	n := int(d.Max/width) + 1
	d.Buckets = make([]Bucket, n)
	for i := range d.Buckets {
		d.Buckets[i] = Bucket{FromMS: int64(i) * width, ToMS: int64(i+1) * width}
	}
	for _, x := range ms {
		d.Buckets[min(int(max(x, 0)/width), n-1)].Count++
	}
	return d
}

// niceWidth rounds a bucket width up to 1, 2 or 5 times a power of ten
// milliseconds (at least 1).
func niceWidth(w int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p > w {
				return m * p
			}
		}
	}
}
