package web

import (
	"bufio"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/system"
)

var t0 = time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)

// ev builds an event of inst at t0+atMS.
func ev(inst, boot, typ string, atMS int64, d callback.Data) callback.Event {
	d.InstanceID, d.Boot = inst, boot
	if d.Attempt == 0 {
		d.Attempt = 1
	}
	return callback.Event{ID: boot + "-1", Source: callback.SourcePrefix + inst, Type: typ, Time: t0.Add(time.Duration(atMS) * time.Millisecond), Data: d}
}

func testKey(t testing.TB, seed byte) (gossh.PublicKey, callback.HostKey) {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	pub, err := gossh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub, callback.HostKey{Type: pub.Type(), Fingerprint: gossh.FingerprintSHA256(pub), Key: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pub)))}
}

// TestFleetTimeline folds one boot's events: the timeline's offsets and
// durations come from the events' times and durationMs, and the ready VM
// gets its ssh command and known_hosts line.
func TestFleetTimeline(t *testing.T) {
	f := NewFleet(0, func() time.Time { return t0 })
	_, hk := testKey(t, 1)
	for _, e := range []callback.Event{
		ev("vm-1", "b1", callback.TypeStepStarted, 0, callback.Data{Step: "hostname", Status: "started"}),
		ev("vm-1", "b1", callback.TypeStepFinished, 30, callback.Data{Step: "hostname", Status: "ok", DurationMS: 30, Percent: 33}),
		ev("vm-1", "b1", callback.TypeStepFinished, 35, callback.Data{Step: "network", Status: "skipped", Message: "no network properties", Percent: 66}),
		ev("vm-1", "b1", callback.TypeStepStarted, 40, callback.Data{Step: "user", Status: "started", Percent: 66}),
		ev("vm-1", "b1", callback.TypeStepFinished, 140, callback.Data{Step: "user", Status: "ok", DurationMS: 100, Percent: 100}),
		ev("vm-1", "b1", callback.TypeReady, 150, callback.Data{Result: "ready", Percent: 100, DurationMS: 150, Hostname: "web1.lab",
			Addresses: []string{"10.0.0.5/24", "fe80::1/64"}, SSHPort: 2222, SSHHostKeys: []callback.HostKey{hk}}),
	} {
		f.Add(e)
	}
	vms, rev := f.VMs()
	if rev != 6 || len(vms) != 1 {
		t.Fatalf("VMs() = %d VMs at rev %d, want 1 at rev 6", len(vms), rev)
	}
	vm := vms[0]
	wantSteps := []Step{{"hostname", "ok", 0, 30}, {"network", "skipped", 35, 0}, {"user", "ok", 40, 100}}
	if diff := cmp.Diff(wantSteps, vm.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if vm.State != StateReady || vm.BootMS != 150 || vm.Percent != 100 || vm.Failure != nil {
		t.Errorf("vm = state %q boot %d ms percent %d failure %v, want ready 150 100 none", vm.State, vm.BootMS, vm.Percent, vm.Failure)
	}
	if want := "ssh -p 2222 10.0.0.5"; vm.SSH != want {
		t.Errorf("SSH = %q, want %q", vm.SSH, want)
	}
	if want := "[10.0.0.5]:2222,[fe80::1]:2222,[web1.lab]:2222 " + hk.Key; len(vm.HostKeys) != 1 || vm.HostKeys[0].KnownHosts != want {
		t.Errorf("HostKeys = %+v, want known_hosts %q", vm.HostKeys, want)
	}

	// A reserve command's event, with a boot id of its own, changes
	// neither the timeline nor the state.
	f.Add(ev("vm-1", "r9", callback.TypeReserved, 30000, callback.Data{Step: "reserve", Message: "reserved for alice"}))
	vms, _ = f.VMs()
	if vm := vms[0]; vm.State != StateReady || len(vm.Steps) != 3 || vm.Boot != "b1" {
		t.Errorf("after a reserved event: state %q, %d steps, boot %q; want ready, 3, b1", vm.State, len(vm.Steps), vm.Boot)
	}

	// A new boot of the same instance starts a new timeline.
	f.Add(ev("vm-1", "b2", callback.TypeStepStarted, 60000, callback.Data{Step: "hostname", Status: "started", Attempt: 2}))
	vms, _ = f.VMs()
	if vm := vms[0]; vm.State != StateRunning || len(vm.Steps) != 1 || vm.Steps[0].StartMS != 0 || vm.Attempt != 2 || vm.Boot != "b2" {
		t.Errorf("after a new boot: %+v, want running, attempt 2, one step at 0", vm)
	}
}

// TestFleetFailure: a failed VM keeps the step, the reason and whether a
// retry may help; the failed step ends its timeline.
func TestFleetFailure(t *testing.T) {
	f := NewFleet(0, nil)
	retry := true
	f.Add(ev("vm-2", "b", callback.TypeStepStarted, 0, callback.Data{Step: "script", Status: "started"}))
	f.Add(ev("vm-2", "b", callback.TypeStepFinished, 500, callback.Data{Step: "script", Status: "failed", DurationMS: 500, Message: "timed out"}))
	f.Add(ev("vm-2", "b", callback.TypeFailed, 510, callback.Data{Step: "script", Result: "retry", Retry: &retry, Message: "timed out"}))
	vms, _ := f.VMs()
	vm := vms[0]
	if diff := cmp.Diff(&Failure{Step: "script", Reason: "timed out", Retry: true}, vm.Failure); diff != "" || vm.State != StateFailedRetry {
		t.Errorf("state %q, failure (-want +got):\n%s", vm.State, diff)
	}
	if vm.BootMS != 500 || vm.SSH != "" {
		t.Errorf("BootMS %d SSH %q, want 500 from the timeline and no ssh command", vm.BootMS, vm.SSH)
	}
}

// TestFleetHostileText: what an event says is never made into a shell
// command or a known_hosts line it could bend, and a host key whose
// fingerprint is not its own is not offered.
func TestFleetHostileText(t *testing.T) {
	_, good := testKey(t, 2)
	_, other := testKey(t, 3)
	forged := good
	forged.Key = other.Key // the fingerprint of one key, the key of another
	tests := []struct {
		name    string
		d       callback.Data
		ssh     string
		known   string
		hasLine bool
	}{
		{"shell in host name", callback.Data{Hostname: "x;rm -rf /", Addresses: []string{"$(reboot)/24"}, SSHHostKeys: []callback.HostKey{good}}, "", "", false},
		{"host name only", callback.Data{Hostname: "db.lab", SSHHostKeys: []callback.HostKey{good}}, "ssh db.lab", "db.lab " + good.Key, true},
		{"option as host", callback.Data{Hostname: "-oProxyCommand=x", SSHHostKeys: []callback.HostKey{good}}, "", "", false},
		{"forged key", callback.Data{Addresses: []string{"10.0.0.9/24"}, SSHHostKeys: []callback.HostKey{forged}}, "ssh 10.0.0.9", "", false},
		{"key with options", callback.Data{Addresses: []string{"10.0.0.9/24"}, SSHHostKeys: []callback.HostKey{{Type: good.Type, Fingerprint: good.Fingerprint, Key: good.Key + "\n@revoked * " + other.Key}}}, "ssh 10.0.0.9", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFleet(0, nil)
			tt.d.Result = callback.ResultReady
			f.Add(ev("vm", "b", callback.TypeReady, 0, tt.d))
			vms, _ := f.VMs()
			vm := vms[0]
			if vm.SSH != tt.ssh {
				t.Errorf("SSH = %q, want %q", vm.SSH, tt.ssh)
			}
			var got string
			if len(vm.HostKeys) > 0 {
				got = vm.HostKeys[0].KnownHosts
			}
			if got != tt.known {
				t.Errorf("known_hosts = %q, want %q", got, tt.known)
			}
		})
	}
}

// TestFleetBounds: the fleet keeps at most its VMs (a new one replaces
// the ready VM updated least recently, or is not shown) and steps.
func TestFleetBounds(t *testing.T) {
	f := NewFleet(2, nil)
	f.Add(ev("a", "b", callback.TypeReady, 0, callback.Data{Result: "ready"}))
	f.Add(ev("b", "b", callback.TypeStepStarted, 0, callback.Data{Step: "x"}))
	f.Add(ev("c", "b", callback.TypeStepStarted, 0, callback.Data{Step: "x"})) // replaces a
	f.Add(ev("d", "b", callback.TypeStepStarted, 0, callback.Data{Step: "x"})) // none ready: not shown
	vms, _ := f.VMs()
	var names []string
	for _, vm := range vms {
		names = append(names, vm.Instance)
	}
	if diff := cmp.Diff([]string{"b", "c"}, names); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	// Of two ready VMs, the one updated least recently goes first.
	g := NewFleet(2, nil)
	g.Add(ev("a", "b", callback.TypeReady, 0, callback.Data{Result: "ready"}))
	g.Add(ev("b", "b", callback.TypeReady, 0, callback.Data{Result: "ready"}))
	g.Add(ev("a", "b", callback.TypeLogin, 0, callback.Data{Message: "ovfuser logged in"}))
	g.Add(ev("c", "b", callback.TypeStepStarted, 0, callback.Data{Step: "x"}))
	if got := g.Get([]string{"a", "b", "c"}); len(got) != 2 || got[0].Instance != "a" || got[1].Instance != "c" {
		t.Errorf("after a, b ready, a updated, c new: %v, want a and c", got)
	}
	for i := range MaxStepsPerBoot + 10 {
		f.Add(ev("b", "b", callback.TypeStepStarted, int64(i), callback.Data{Step: fmt.Sprint("s", i)}))
	}
	vms, _ = f.VMs()
	if n, d := len(vms[0].Steps), vms[0].Dropped; n != MaxStepsPerBoot || d != 11 {
		t.Errorf("steps kept %d, dropped %d; want %d and 11", n, d, MaxStepsPerBoot)
	}
}

// TestSummary: counts, the boot-time distribution and per step the
// median and the slowest VM.
func TestSummary(t *testing.T) {
	f := NewFleet(0, nil)
	for i, ms := range []int64{100, 200, 300, 400, 5000} {
		inst := fmt.Sprint("vm-", i)
		f.Add(ev(inst, "b", callback.TypeStepStarted, 0, callback.Data{Step: "network"}))
		f.Add(ev(inst, "b", callback.TypeStepFinished, ms, callback.Data{Step: "network", Status: "ok", DurationMS: ms}))
		f.Add(ev(inst, "b", callback.TypeReady, ms, callback.Data{Result: "ready", DurationMS: ms + 10}))
	}
	retry := false
	f.Add(ev("vm-x", "b", callback.TypeFailed, 0, callback.Data{Step: "validate", Result: "fatal", Retry: &retry, Message: "bad"}))
	f.Add(ev("vm-y", "b", callback.TypeStepStarted, 0, callback.Data{Step: "network"}))
	s := f.Summary()
	if s.Total != 7 || s.Ready != 5 || s.FailedFatal != 1 || s.Running != 1 || s.FailedRetry != 0 {
		t.Errorf("counts = %+v, want 7 total, 5 ready, 1 fatal, 1 running", s)
	}
	want := []StepStat{{Name: "network", Count: 5, MedianMS: 300, MaxMS: 5000, Slowest: "vm-4"}}
	if diff := cmp.Diff(want, s.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if s.Boot.Count != 5 || s.Boot.P50 != 310 || s.Boot.Max != 5010 {
		t.Errorf("boot = %+v, want 5 VMs, median 310, max 5010", s.Boot)
	}
	var n int
	for _, b := range s.Boot.Buckets {
		n += b.Count
		if b.FromMS <= 5010 && 5010 < b.ToMS && b.Count != 1 {
			t.Errorf("bucket %+v holds the 5010 ms VM: want count 1", b)
		}
	}
	if n != 5 || len(s.Boot.Buckets) > histogramBuckets+1 {
		t.Errorf("buckets %+v: %d VMs in %d buckets, want 5 in at most %d", s.Boot.Buckets, n, len(s.Boot.Buckets), histogramBuckets+1)
	}
}

// TestHandlerAccess: read-only, CSP on every answer, loopback names only
// without a token, and a token in the URL, a cookie or a bearer header.
func TestHandlerAccess(t *testing.T) {
	const token = "0123456789abcdef-token"
	open := NewHandler(Config{Fleet: NewFleet(0, nil)})
	locked := NewHandler(Config{Fleet: NewFleet(0, nil), Token: token})
	tests := []struct {
		name     string
		h        http.Handler
		method   string
		target   string
		host     string
		hdr      map[string]string
		wantCode int
	}{
		{"page", open, "GET", "/", "127.0.0.1:8081", nil, 200},
		{"localhost", open, "GET", "/api/vms", "localhost:8081", nil, 200},
		{"ipv6 loopback", open, "GET", "/api/vms", "[::1]:8081", nil, 200},
		{"rebound name", open, "GET", "/api/vms", "attacker.example:8081", nil, 421},
		{"lan address", open, "GET", "/api/vms", "192.168.1.5:8081", nil, 421},
		{"post", open, "POST", "/api/vms", "127.0.0.1", nil, 405},
		{"delete", open, "DELETE", "/", "127.0.0.1", nil, 405},
		{"unknown path", open, "GET", "/etc/passwd", "127.0.0.1", nil, 404},
		{"no token", locked, "GET", "/api/vms", "10.0.0.1:8081", nil, 401},
		{"wrong token", locked, "GET", "/?token=nope", "10.0.0.1:8081", nil, 401},
		{"token in URL", locked, "GET", "/?token=" + token, "10.0.0.1:8081", nil, 303},
		{"cookie", locked, "GET", "/api/vms", "10.0.0.1:8081", map[string]string{"Cookie": TokenCookie + "=" + token}, 200},
		{"wrong cookie", locked, "GET", "/api/vms", "10.0.0.1:8081", map[string]string{"Cookie": TokenCookie + "=x"}, 401},
		{"bearer", locked, "GET", "/api/vms", "10.0.0.1:8081", map[string]string{"Authorization": "Bearer " + token}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			req.Host = tt.host
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Errorf("%s %s (Host %s) = %d, want %d", tt.method, tt.target, tt.host, rec.Code, tt.wantCode)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != csp {
				t.Errorf("Content-Security-Policy = %q, want %q", got, csp)
			}
			if rec.Code == 303 {
				c := rec.Result().Cookies()
				if len(c) != 1 || c[0].Value != token || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
					t.Errorf("cookies %v, want one HttpOnly SameSite=Strict cookie with the token", c)
				}
				if loc := rec.Header().Get("Location"); strings.Contains(loc, token) {
					t.Errorf("redirect to %q keeps the token in the URL", loc)
				}
			}
		})
	}
}

// TestStaticNoHTMLSinks: the page's script never parses text as HTML or
// code, and the page has no inline script or style (the CSP forbids
// them, so they would not run anyway).
func TestStaticNoHTMLSinks(t *testing.T) {
	js, err := os.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(|srcdoc|\.href\s*=`)
	for i, line := range strings.Split(string(js), "\n") {
		if m := sinks.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
			t.Errorf("app.js:%d uses %s: %s", i+1, m, strings.TrimSpace(line))
		}
	}
	page, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`<script>|<style|\sstyle=|\son[a-z]+=`).FindString(string(page)); m != "" {
		t.Errorf("index.html has inline %q", m)
	}
}

// TestEventsMaxClients: live connections past the bound are refused
// with 503, and a closed one frees its place.
func TestEventsMaxClients(t *testing.T) {
	h := NewHandler(Config{Fleet: NewFleet(0, nil), MaxClients: 1})
	srv := httptest.NewServer(h)
	defer srv.Close()
	first, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode != 200 {
		t.Fatalf("first live connection: %d", first.StatusCode)
	}
	bufio.NewReader(first.Body).ReadString('\n') // registered by now
	second, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second live connection with MaxClients 1: %d, want 503", second.StatusCode)
	}
	first.Body.Close()
	for h.Clients() != 0 {
		time.Sleep(time.Millisecond) // the handler sees the close at its next write or ping; the test waits for it
	}
}

// TestClientQueue: changes to one VM coalesce into one entry; more
// distinct VMs than the queue holds turn into one refresh.
func TestClientQueue(t *testing.T) {
	f := NewFleet(0, nil)
	h := NewHandler(Config{Fleet: f, Queue: 8})
	c := &client{dirty: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	h.clients[c] = struct{}{}
	for i := range 1000 {
		f.Add(ev("vm-a", "b", callback.TypeStepStarted, int64(i), callback.Data{Step: fmt.Sprint("s", i%50)}))
	}
	f.Add(ev("vm-b", "b", callback.TypeStepStarted, 0, callback.Data{Step: "x"}))
	insts, overflow := c.take()
	if diff := cmp.Diff([]string{"vm-a", "vm-b"}, insts); diff != "" || overflow {
		t.Errorf("take() = %v, overflow %v; want vm-a, vm-b once each (-want +got):\n%s", insts, overflow, diff)
	}
	for i := range 9 {
		f.Add(ev(fmt.Sprint("vm-", i), "b", callback.TypeStepStarted, 0, callback.Data{Step: "x"}))
	}
	if insts, overflow := c.take(); !overflow || len(insts) != 0 {
		t.Errorf("after 9 distinct VMs with a queue of 8: take() = %v, overflow %v; want a refresh", insts, overflow)
	}
	if insts, overflow := c.take(); overflow || len(insts) != 0 {
		t.Errorf("take() again = %v, %v; want empty", insts, overflow)
	}
}

// TestEventsStream: a live client that applies every "update" and loads
// /api/vms on every "refresh" ends with the fleet's state, having got far
// fewer messages than there were events.
func TestEventsStream(t *testing.T) {
	f := NewFleet(0, nil)
	h := NewHandler(Config{Fleet: f, Queue: 64})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	msgs := make(chan [2]string, 1000)
	go func() {
		defer close(msgs)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 16<<20)
		var event string
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				msgs <- [2]string{event, d}
			}
		}
	}()
	if m := <-msgs; m[0] != "refresh" {
		t.Fatalf("first message %v, want a refresh", m)
	}
	const vms, steps = 200, 20
	for s := range steps {
		for i := range vms {
			f.Add(ev(fmt.Sprint("vm-", i), "b", callback.TypeStepStarted, int64(s), callback.Data{Step: fmt.Sprint("step-", s), Percent: s * 5}))
		}
	}
	have := map[string]VM{}
	load := func() {
		r, err := http.Get(srv.URL + "/api/vms")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var snap Snapshot
		if err := json.NewDecoder(r.Body).Decode(&snap); err != nil {
			t.Fatal(err)
		}
		for _, vm := range snap.VMs {
			have[vm.Instance] = vm
		}
	}
	n := 0
	for complete := func() bool {
		for i := range vms {
			if vm, ok := have[fmt.Sprint("vm-", i)]; !ok || len(vm.Steps) != steps {
				return false
			}
		}
		return true
	}; !complete(); {
		m, ok := <-msgs
		if !ok {
			t.Fatal("stream ended")
		}
		n++
		switch m[0] {
		case "refresh":
			load()
		case "update":
			var u Update
			if err := json.Unmarshal([]byte(m[1]), &u); err != nil {
				t.Fatal(err)
			}
			for _, vm := range u.VMs {
				if vm.Rev > have[vm.Instance].Rev {
					have[vm.Instance] = vm
				}
			}
		}
	}
	t.Logf("%d events reached the client in %d messages", vms*steps, n)
	if n >= vms*steps/10 {
		t.Errorf("%d messages for %d events: not coalesced", n, vms*steps)
	}
}

// benchVMs and benchSteps are the fleet of BenchmarkFleet: 1,000 VMs, 20
// events each.
const benchVMs, benchSteps = 1000, 9

// fillFleet folds benchVMs x 20 events into f, passing each to observe
// first (a system's state, as watch does) when it is not nil; every VM
// ends ready, but with halfRunning the odd ones, which stay running.
func fillFleet(b *testing.B, f *Fleet, observe func(callback.Event), halfRunning bool) {
	_, hk := testKey(b, 7)
	add := func(e callback.Event) {
		if observe != nil {
			observe(e)
		}
		f.Add(e)
	}
	for i := range benchVMs {
		inst := fmt.Sprintf("vm-%04d", i)
		var at int64
		for s := range benchSteps {
			name := fmt.Sprint("step-", s)
			add(ev(inst, "b", callback.TypeStepStarted, at, callback.Data{Step: name, Status: "started", Percent: s * 10}))
			at += int64(10 + (i*s)%90)
			add(ev(inst, "b", callback.TypeStepFinished, at, callback.Data{Step: name, Status: "ok", DurationMS: int64(10 + (i*s)%90), Percent: s*10 + 10,
				SSHHostKeys: []callback.HostKey{hk}}))
		}
		add(ev(inst, "b", callback.TypeProgress, at, callback.Data{Step: "step-8", Message: "50% installing"}))
		if halfRunning && i%2 == 1 { // still running: their waiting is worked out
			continue
		}
		add(ev(inst, "b", callback.TypeReady, at, callback.Data{Result: "ready", DurationMS: at, Hostname: inst + ".lab",
			Addresses: []string{"10.0.0.5/24"}, SSHPort: 22, SSHHostKeys: []callback.HostKey{hk}}))
	}
}

// benchRefresh reports the heap f keeps and times what a refresh costs:
// the summary and the /api/vms snapshot encoded.
func benchRefresh(b *testing.B, fill func() *Fleet) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	var size int
	b.ResetTimer()
	for b.Loop() {
		f.summary = nil // as after an event
		vms, _ := f.VMs()
		body, err := json.Marshal(Snapshot{Summary: f.Summary(), VMs: vms})
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size)/1024, "KiB-json")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-kept")
	runtime.KeepAlive(f)
}

// BenchmarkFleet folds 1,000 VMs x 20 events into a Fleet and reports the
// heap it keeps, then times what a refresh costs: the summary and the
// /api/vms snapshot encoded.
func BenchmarkFleet(b *testing.B) {
	benchRefresh(b, func() *Fleet {
		f := NewFleet(0, nil)
		fillFleet(b, f, nil, false)
		return f
	})
}

// BenchmarkFleetSystem is BenchmarkFleet under watch --system, half the
// VMs still running: every VM gets its member and, while running, what it
// waits for.
func BenchmarkFleetSystem(b *testing.B) {
	sys, err := system.Parse("system.yaml", []byte("members:\n  db:\n    instances: [\"vm-000*\"]\n    count: 10\n  app:\n    instances: [\"vm-*\"]\n    count: 990\n    after: [db]\n"))
	if err != nil {
		b.Fatal(err)
	}
	benchRefresh(b, func() *Fleet {
		st := system.NewState(sys, system.Config{})
		f := NewFleet(0, nil)
		f.SetSystem(st)
		fillFleet(b, f, st.Observe, true)
		return f
	})
}

// FuzzFleet folds arbitrary events: never a panic, and what is kept stays
// within the bounds, with no shell command or known_hosts line built from
// text a shell would act on.
func FuzzFleet(f *testing.F) {
	f.Add("vm-1", "b", callback.TypeStepStarted, "network", "started", "", "10.0.0.5/24", "web1", int64(5), 22)
	f.Add("vm-1", "b", callback.TypeReady, "", "", "ready", "$(x)/24", "a;b", int64(-3), 70000)
	f.Add("<img>", "b2", callback.TypeFailed, "script", "failed", "retry", "::1/128", "-o", int64(1<<62), -1)
	f.Fuzz(func(t *testing.T, inst, boot, typ, step, status, result, addr, host string, dur int64, port int) {
		fl := NewFleet(3, nil)
		for i := range 3 {
			fl.Add(ev(inst+fmt.Sprint(i%2), boot, typ, dur, callback.Data{Step: step, Status: status, Result: result, DurationMS: dur,
				Addresses: []string{addr}, Hostname: host, SSHPort: port, Message: step}))
		}
		vms, _ := fl.VMs()
		if len(vms) > 3 {
			t.Fatalf("%d VMs kept, bound 3", len(vms))
		}
		for _, vm := range vms {
			if strings.ContainsAny(vm.SSH, ";$`|&<>()'\"\\\n") || len(vm.Steps) > MaxStepsPerBoot || len(vm.Message) > callback.MaxMessageLen {
				t.Fatalf("VM %+v: unsafe ssh command or over a bound", vm)
			}
			for _, st := range vm.Steps {
				if st.StartMS < 0 || st.Duration < 0 {
					t.Fatalf("step %+v: negative time", st)
				}
			}
		}
		fl.Summary()
	})
}

// TestFleetSystem: with watch --system, each VM shows its member and,
// while it runs, the members it waits for; the summary counts each
// member's ready instances of its count; /api/vms carries both. db's
// reboot makes app's VMs started after it wait again.
func TestFleetSystem(t *testing.T) {
	sys, err := system.Parse("system.yaml", []byte("members:\n  db:\n    instances: [db-1]\n  app:\n    instances: [\"app-*\"]\n    count: 2\n    after: [db]\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := system.NewState(sys, system.Config{})
	f := NewFleet(0, func() time.Time { return t0 })
	f.SetSystem(st)
	add := func(e callback.Event) { st.Observe(e); f.Add(e) } // as watch feeds both
	srv := httptest.NewServer(NewHandler(Config{Fleet: f}))
	defer srv.Close()
	api := func() Snapshot {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/api/vms")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatalf("decoding /api/vms: %v", err)
		}
		return s
	}
	type row struct {
		Member  string
		State   string
		Waiting []string
	}
	check := func(when string, wantVMs map[string]row, wantMembers []system.MemberStatus) {
		t.Helper()
		s := api()
		got := map[string]row{}
		for _, vm := range s.VMs {
			got[vm.Instance] = row{vm.Member, vm.State, vm.Waiting}
		}
		if d := cmp.Diff(wantVMs, got); d != "" {
			t.Errorf("%s: /api/vms members and waiting (-want +got):\n%s", when, d)
		}
		if d := cmp.Diff(wantMembers, s.Summary.Members); d != "" {
			t.Errorf("%s: /api/vms summary.members (-want +got):\n%s", when, d)
		}
		for _, vm := range f.Get([]string{"app-1"}) { // what an update sends
			if d := cmp.Diff(wantVMs["app-1"].Waiting, vm.Waiting); d != "" {
				t.Errorf("%s: Get(app-1).Waiting (-want +got):\n%s", when, d)
			}
		}
	}
	members := func(db, app int) []system.MemberStatus {
		return []system.MemberStatus{
			{Name: "db", ReadyInstances: db, Count: 1, Ready: db >= 1},
			{Name: "app", After: []string{"db"}, ReadyInstances: app, Count: 2, Ready: app >= 2},
		}
	}
	ready := func(inst, boot string) callback.Event {
		return ev(inst, boot, callback.TypeReady, 100, callback.Data{Result: "ready", DurationMS: 100, Hostname: inst, Addresses: []string{"10.0.0.5/24"}})
	}

	add(ev("app-1", "a1", callback.TypeStepStarted, 0, callback.Data{Step: "system", Status: "started"}))
	add(ev("app-1", "a1", callback.TypeProgress, 10, callback.Data{Step: "system", Message: "waiting for db"}))
	add(ev("db-1", "d1", callback.TypeStepStarted, 0, callback.Data{Step: "network", Status: "started"}))
	check("before db is ready", map[string]row{
		"app-1": {"app", StateRunning, []string{"db"}},
		"db-1":  {"db", StateRunning, nil},
	}, members(0, 0))

	add(ready("db-1", "d1"))
	check("db ready", map[string]row{
		"app-1": {"app", StateRunning, nil},
		"db-1":  {"db", StateReady, nil},
	}, members(1, 0))

	add(ready("app-1", "a1"))
	add(ev("db-1", "d2", callback.TypeStepStarted, 0, callback.Data{Step: "find-environment", Status: "started"}))
	add(ev("app-2", "a2", callback.TypeStepStarted, 0, callback.Data{Step: "system", Status: "started"}))
	check("db rebooting", map[string]row{
		"app-1": {"app", StateReady, nil},
		"app-2": {"app", StateRunning, []string{"db"}},
		"db-1":  {"db", StateRunning, nil},
	}, members(0, 1))

	// Without --system, nothing of it.
	plain := NewFleet(0, nil)
	plain.Add(ready("db-1", "d1"))
	if vms, _ := plain.VMs(); vms[0].Member != "" || vms[0].Waiting != nil || plain.Summary().Members != nil {
		t.Errorf("without a system: VM %+v, summary members %v, want no member, no waiting, no members", vms[0], plain.Summary().Members)
	}
}
