package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/fleetsim"
)

// openWatchWeb runs watch with o and its web view (o.web, o.webLn and
// o.webLinger are set here), each on its own 127.0.0.1 port, until the
// test ends; opens the page in headless chromium (exe) and waits for the
// JavaScript condition loaded. It returns the browser's context and the
// URL the agents post their events to. watch's standard error is logged
// when the test failed.
func openWatchWeb(t *testing.T, exe string, o watchOptions, loaded string) (context.Context, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.web, o.webLn, o.webLinger = wln.Addr().String(), wln, 2*time.Minute
	var out, errOut syncBuffer
	wctx, stopWatch := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- watch(wctx, ln, o, &out, &errOut, false) }()
	t.Cleanup(func() {
		stopWatch()
		<-done
		if t.Failed() {
			t.Logf("watch's standard error:\n%s", errOut.String())
		}
	})
	page := fmt.Sprintf("http://%s/", wln.Addr())
	ctx := browser(t, exe)
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("opening %s: %v", page, err)
	}
	waitJS(t, ctx, "page loaded", loaded, summaryJS)
	return ctx, fmt.Sprintf("http://%s/events", ln.Addr())
}

// webScreenshot, when set, is where TestWatchWebBrowser saves a PNG of
// its 20-VM page (make docs-screenshot writes docs/watch-web.png so).
var webScreenshot = flag.String("web-screenshot", "", "save the browser test's page as this PNG")

// chromium finds Debian's chromium (e2e/prepare.sh installs it). Without
// it the test skips, or fails under OVFINIT_E2E=require (make test).
func chromium(t *testing.T) string {
	t.Helper()
	if q := os.Getenv("OVFINIT_QEMU_USER"); q != "" {
		t.Skipf("under %s: the browser test runs natively in make test", q)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("OVFINIT_E2E") == "require" {
		t.Fatal("chromium is not installed and OVFINIT_E2E=require: run e2e/prepare.sh (it installs chromium)")
	}
	t.Skip("chromium is not installed (e2e/prepare.sh installs it)")
	return ""
}

// browser starts a headless chromium and returns a context of one tab.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // as root; the tab only reads 127.0.0.1
		chromedp.Headless,
		chromedp.WindowSize(1500, 940),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// waitJS evaluates expr until it returns true, or fails the test after
// 45 s (a loaded machine; a passing run takes a fraction) showing what
// describe returns then.
func waitJS(t *testing.T, ctx context.Context, what, expr, describe string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: evaluating %s: %v", what, expr, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[any](describe))
			t.Fatalf("%s: %s still false after 45 s; page: %v", what, expr, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// evalJS evaluates expr and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// showJS runs expr for its effect.
func showJS(t *testing.T, ctx context.Context, expr string) { evalJS[bool](t, ctx, "("+expr+", true)") }

// gate holds the agents before chosen steps until the test opens them.
type gate map[int]chan struct{} // step index -> closed when open

func newGate(steps ...int) gate {
	g := gate{}
	for _, s := range steps {
		g[s] = make(chan struct{})
	}
	return g
}

// wait blocks before step until it is open (or ctx ends).
func (g gate) wait(ctx context.Context, step int) {
	if c := g[step]; c != nil {
		select {
		case <-c:
		case <-ctx.Done():
		}
	}
}

func (g gate) open(step int) { close(g[step]) }

const summaryJS = `JSON.stringify({total: document.getElementById('n-total').textContent, running: document.getElementById('n-running').textContent,
	ready: document.getElementById('n-ready').textContent, fatal: document.getElementById('n-fatal').textContent,
	retry: document.getElementById('n-retry').textContent, rows: Array.from(document.querySelectorAll('.vmrow')).map(r => r.textContent).slice(0, 3)})`

// TestWatchWebBrowser drives the web view of a real `watch --web` in
// headless chromium while 20 simulated agents (real callback.Senders
// posting signed events) boot: the VMs appear as running, progress with
// their timelines, and finish ready or failed; a failed VM shows its
// step and reason, a ready one its ssh command; text from an event is
// shown as text, never run as HTML.
func TestWatchWebBrowser(t *testing.T) {
	exe := chromium(t)
	const secret = "browser-test-secret"
	const n = 20
	reasons := map[int]fleetsim.Agent{
		6:  {Result: callback.ResultFatal, FailStep: "validate", Reason: "ovfinit.net.mac: no network interface has MAC 52:54:00:12:34:99 (ovf-env.xml line 14)"},
		13: {Result: callback.ResultRetry, FailStep: "script", Reason: "script line 12: http.get https://db.lab.example/ready: timed out after 30s"},
	}
	agents := fleetsim.Fleet("web", n, reasons)

	o := watchOptions{expect: n + 1, timeout: 2 * time.Minute, maxSkew: callback.DefaultMaxSkew, limits: defaultServerLimits, secret: secret}
	ctx, url := openWatchWeb(t, exe, o, `document.body.dataset.rev === '0' && document.getElementById('conn').textContent === 'live'`)

	// Agents stop before step 1 (after the first step started and
	// finished), before step 5, and two of them before ready.
	g := newGate(1, 5, len(fleetsim.Steps))
	late := func(a fleetsim.Agent) bool { return a.Index == 2 || a.Index == 17 }
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for _, a := range agents {
		wg.Go(func() {
			errs <- a.Run(t.Context(), fleetsim.Options{URL: url, Secret: []byte(secret), Scale: 1, Pause: func(a fleetsim.Agent, step int) {
				if step == len(fleetsim.Steps) && !late(a) {
					return
				}
				g.wait(t.Context(), step)
			}})
		})
	}
	t.Cleanup(func() {
		wg.Wait() // the agents end with the test's context at the latest
	})

	// 1. They appear, running.
	waitJS(t, ctx, "20 VMs appear", `document.getElementById('n-total').textContent === '20' && document.getElementById('n-running').textContent === '20'`, summaryJS)
	type row struct {
		State string `json:"state"`
		Segs  int    `json:"segs"`
	}
	first := evalJS[row](t, ctx, `(() => { const r = document.querySelector('.vmrow[data-instance="web-01"]');
		return {state: r.dataset.state, segs: r.querySelectorAll('.seg').length}; })()`)
	if first.State != "running" || first.Segs != 1 {
		t.Errorf("web-01 after its first step: state %q, %d timeline segments; want running, 1", first.State, first.Segs)
	}

	// 2. They progress: five steps on the timeline, the percent up.
	g.open(1)
	waitJS(t, ctx, "progress to step 5", `Array.from(document.querySelectorAll('.vmrow[data-state="running"]')).every(r => r.querySelectorAll('.seg').length === 5)
		&& document.querySelector('.vmrow[data-instance="web-01"] .badge').textContent === 'running 55%'`,
		`Array.from(document.querySelectorAll('.vmrow')).map(r => r.dataset.instance + ':' + r.querySelectorAll('.seg').length + ':' + r.querySelector('.badge').textContent)`)

	// 3. They finish, but for two held before ready.
	g.open(5)
	waitJS(t, ctx, "18 finish", `document.getElementById('n-ready').textContent === '16' && document.getElementById('n-fatal').textContent === '1'
		&& document.getElementById('n-retry').textContent === '1' && document.getElementById('n-running').textContent === '2'`, summaryJS)
	type readyRow struct {
		Text  string `json:"text"`
		Known string `json:"known"`
		Steps int    `json:"steps"`
	}
	ready := evalJS[readyRow](t, ctx, `(() => { const r = document.querySelector('.vmrow[data-instance="web-01"]');
		const b = Array.from(r.querySelectorAll('button.copy')).find(b => b.textContent === 'known_hosts');
		return {text: r.textContent, known: b ? b.title : '', steps: r.querySelectorAll('.seg').length}; })()`)
	if !strings.Contains(ready.Text, "ssh 10.0.0.10") || !strings.Contains(ready.Text, "web-01.lab.example") || ready.Steps != len(fleetsim.Steps) {
		t.Errorf("ready row web-01 = %q with %d steps; want the ssh command, host name and %d steps", ready.Text, ready.Steps, len(fleetsim.Steps))
	}
	if !strings.HasPrefix(ready.Known, "10.0.0.10,web-01.lab.example ssh-ed25519 AAAA") {
		t.Errorf("known_hosts line of web-01 = %q, want 10.0.0.10,web-01.lab.example ssh-ed25519 AAAA...", ready.Known)
	}
	blame := evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll('#blame tbody tr')).map(r => r.textContent)`)
	if len(blame) < 5 {
		t.Errorf("blame table = %q, want a row per step", blame)
	}
	if *webScreenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*webScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot in %s", *webScreenshot)
	}

	// 4. A failed VM shows its step and reason, among the failed.
	showJS(t, ctx, `(() => { const s = document.getElementById('filter'); s.value = 'failed'; s.dispatchEvent(new Event('change')); })()`)
	waitJS(t, ctx, "filter failed", `document.querySelectorAll('.vmrow').length === 2`, `Array.from(document.querySelectorAll('.vmrow')).map(r => r.dataset.instance)`)
	failed := evalJS[map[string]string](t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll('.vmrow')).map(r => [r.dataset.instance, r.dataset.state + ' ' + r.textContent]))`)
	for i, a := range reasons {
		inst := agents[i].Instance
		got := failed[inst]
		want := "failed-" + a.Result
		if !strings.HasPrefix(got, want) || !strings.Contains(got, a.FailStep+": "+a.Reason) {
			t.Errorf("row of %s = %q, want %s with %q", inst, got, want, a.FailStep+": "+a.Reason)
		}
	}

	// 5. The held two finish.
	showJS(t, ctx, `(() => { const s = document.getElementById('filter'); s.value = 'all'; s.dispatchEvent(new Event('change')); })()`)
	g.open(len(fleetsim.Steps))
	waitJS(t, ctx, "all finished", `document.getElementById('n-ready').textContent === '18' && document.getElementById('n-running').textContent === '0'`, summaryJS)

	// 6. Hostile text from an event is text: an instance id and a reason
	// made of HTML neither add elements nor run script.
	hostile := `<img src=x id=pwn onerror="document.body.dataset.pwned=1">`
	if code := postSigned(t, url, secret, hostile, "b00-1", callback.TypeFailed,
		callback.Data{Step: "<script>document.body.dataset.pwned=1</script>", Result: callback.ResultFatal, Message: hostile}); code != 204 {
		t.Fatalf("posting the hostile event: HTTP %d", code)
	}
	waitJS(t, ctx, "hostile VM shown", `document.getElementById('n-total').textContent === '21'`, summaryJS)
	showJS(t, ctx, `(() => { const q = document.getElementById('query'); q.value = '<img'; q.dispatchEvent(new Event('input')); })()`)
	type hostileRow struct {
		Text  string `json:"text"`
		Pwn   bool   `json:"pwn"`
		Pwned string `json:"pwned"`
	}
	waitJS(t, ctx, "hostile row found", `document.querySelectorAll('.vmrow').length === 1 && document.querySelector('.vmrow').dataset.instance.startsWith('<img')`,
		`Array.from(document.querySelectorAll('.vmrow')).map(r => r.dataset.instance)`)
	hr := evalJS[hostileRow](t, ctx, `(() => { const r = Array.from(document.querySelectorAll('.vmrow')).find(r => r.dataset.instance.startsWith('<img'));
		return {text: r.textContent, pwn: document.getElementById('pwn') !== null, pwned: document.body.dataset.pwned || ''}; })()`)
	if hr.Pwn || hr.Pwned != "" || !strings.Contains(hr.Text, hostile) {
		t.Errorf("hostile row = %+v; want the markup shown as text, no #pwn element, nothing run", hr)
	}

	for range agents {
		if err := <-errs; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
	st := evalJS[map[string]any](t, ctx, `window.ovfinitStats`)
	b, _ := json.Marshal(st)
	t.Logf("page: %s", b)
}
