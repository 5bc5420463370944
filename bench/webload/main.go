// Command webload measures the web view of `ovfinit watch --web` in
// headless chromium with many simulated VMs: it starts the given ovfinit
// binary, opens the page, has n simulated agents (real callback.Senders,
// signed, one connection each) send their whole boot (20 events each) as
// fast as they can, and prints how the open page kept up (messages it got,
// when it showed them all), then loads the page afresh several times and
// prints its load time, its JavaScript heap and DOM size, the time to
// re-sort and to scroll the list, and watch's resident memory.
//
//	make build && go run ./bench/webload -ovfinit bin/ovfinit -n 1000
//
// Needs chromium (e2e/prepare.sh installs it); as root it runs it with
// --no-sandbox.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ovfinit/ovfinit/internal/fleetsim"
)

func main() {
	bin := flag.String("ovfinit", "bin/ovfinit", "the ovfinit binary to run watch --web with")
	n := flag.Int("n", 1000, "simulated VMs")
	loads := flag.Int("loads", 5, "fresh page loads to time")
	chrome := flag.String("chromium", "chromium", "the browser")
	open := flag.Bool("open", true, "have the page open while the agents send (false: open it after)")
	flag.Parse()
	if err := run(*bin, *chrome, *n, *loads, *open); err != nil {
		fmt.Fprintln(os.Stderr, "webload:", err)
		os.Exit(1)
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func run(bin, chrome string, n, loads int, open bool) error {
	secret := "webload-secret"
	addr, webAddr := freeAddr(), freeAddr()
	cmd := exec.Command(bin, "watch", "--listen", addr, "--expect", fmt.Sprint(n+1), "--timeout", "1h",
		"--web", webAddr, "--web-linger", "1h")
	cmd.Env = append(os.Environ(), "OVFINIT_CALLBACK_SECRET="+secret)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	page := "http://" + webAddr + "/"
	for i := 0; ; i++ {
		if resp, err := http.Get(page); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("watch does not serve %s", page)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("watch --web, fresh: VmRSS %s\n", rss(cmd.Process.Pid))

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.WindowSize(1500, 940), chromedp.Flag("enable-precise-memory-info", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	navigate := func() error {
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			return err
		}
		return waitJS(ctx, `document.getElementById('conn').textContent === 'live'`)
	}
	if open {
		if err := navigate(); err != nil {
			return err
		}
	} else if err := chromedp.Do(ctx); err != nil {
		return err
	}

	// 1. Live: the page is open while n agents send 20 events each.
	url := "http://" + addr + "/events"
	agents := fleetsim.Fleet("vm", n, nil)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, a := range agents {
		wg.Go(func() {
			errs <- a.Run(context.Background(), fleetsim.Options{URL: url, Secret: []byte(secret), Scale: 0})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	sent := time.Since(start)
	if !open {
		if err := navigate(); err != nil {
			return err
		}
	}
	if err := waitJS(ctx, fmt.Sprintf(`document.getElementById('n-ready').textContent === '%d'`, n)); err != nil {
		return err
	}
	shown := time.Since(start)
	st, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`window.ovfinitStats`))
	if err != nil {
		return err
	}
	fmt.Printf("live: %d VMs x %d events sent in %v; the open page showed all ready after %v, from %.0f update and %.0f refresh messages (%.0f VM records)\n",
		n, fleetsim.EventsPerAgent, sent.Round(time.Millisecond), shown.Round(time.Millisecond), st["updates"], st["refreshes"], st["vmsInUpdates"])
	fmt.Printf("watch --web after %d events: VmRSS %s\n", n*fleetsim.EventsPerAgent, rss(cmd.Process.Pid))

	resp, err := http.Get(page + "api/vms")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("/api/vms: %d KiB\n", len(body)>>10)

	// 2. Fresh loads of the page with n VMs.
	var times []float64
	type mem struct {
		Heap  float64 `json:"heap"`
		Nodes float64 `json:"nodes"`
		Rows  float64 `json:"rows"`
	}
	var m mem
	for range loads {
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			return err
		}
		if err := waitJS(ctx, `!!(window.ovfinitStats && window.ovfinitStats.firstFullDraw)`); err != nil {
			return err
		}
		t, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.ovfinitStats.firstFullDraw`))
		if err != nil {
			return err
		}
		times = append(times, t)
		if m, err = chromedp.Run(ctx, chromedp.Evaluate[mem](`({heap: performance.memory.usedJSHeapSize, nodes: document.getElementsByTagName('*').length,
			rows: document.querySelectorAll('.vmrow').length})`)); err != nil {
			return err
		}
	}
	slices.Sort(times)
	fmt.Printf("page load with %d VMs (navigation to every VM drawn), %d loads: median %.0f ms, min %.0f, max %.0f\n",
		n, loads, times[len(times)/2], times[0], times[len(times)-1])
	fmt.Printf("page after load: JS heap %.1f MiB, %.0f DOM elements, %.0f rows in the DOM\n", m.Heap/(1<<20), m.Nodes, m.Rows)

	// 3. Responsiveness: re-sort all VMs, and scroll to the end.
	resort, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise(ok => { const t = performance.now();
		const s = document.getElementById('sort'); s.value = 'slow'; s.dispatchEvent(new Event('change'));
		requestAnimationFrame(() => requestAnimationFrame(() => ok(performance.now() - t))); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	scroll, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise(ok => { const t = performance.now();
		const v = document.getElementById('viewport'); v.scrollTop = v.scrollHeight;
		requestAnimationFrame(() => requestAnimationFrame(() => ok(performance.now() - t))); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	fmt.Printf("re-sort %d VMs to the next frame: %.0f ms; scroll to the end to the next frame: %.0f ms\n", n, resort, scroll)
	fmt.Printf("watch --web at the end: VmRSS %s\n", rss(cmd.Process.Pid))
	return nil
}

// waitJS polls expr until it is true, for at most a minute.
func waitJS(ctx context.Context, expr string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still false after a minute", expr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
