package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/fleetsim"
)

// TestWatchWebBrowserSystem drives the web view of `watch --web --system`
// in headless chromium: two simulated agents, db (sys-1) and app (sys-2,
// after db). While db is held before ready, app's row says "waiting for
// db" and the header "db 0/1 ready"; once db is ready app waits no more
// and the header says "db 1/1 ready", then "app 1/1 ready".
func TestWatchWebBrowserSystem(t *testing.T) {
	exe := chromium(t)
	const secret = "browser-system-secret"
	agents := fleetsim.Fleet("sys", 2, nil)
	sys, err := parseSystem("system.yaml", []byte("members:\n  db:\n    instances: [sys-1]\n  app:\n    instances: [sys-2]\n    after: [db]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := watchOptions{timeout: 2 * time.Minute, maxSkew: callback.DefaultMaxSkew, limits: defaultServerLimits, secret: secret, system: sys}
	o.instances, o.expect = sys.Patterns()
	ctx, url := openWatchWeb(t, exe, o, `document.getElementById('conn').textContent === 'live'`)

	// db is held before ready, app before its second step.
	dbReady, appGoes := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(agents))
	for _, a := range agents {
		wg.Go(func() {
			errs <- a.Run(t.Context(), fleetsim.Options{URL: url, Secret: []byte(secret), Scale: 1, Pause: func(a fleetsim.Agent, step int) {
				var c chan struct{}
				switch {
				case a.Instance == "sys-1" && step == len(fleetsim.Steps):
					c = dbReady
				case a.Instance == "sys-2" && step == 1:
					c = appGoes
				}
				if c != nil {
					select {
					case <-c:
					case <-t.Context().Done():
					}
				}
			}})
		})
	}
	t.Cleanup(wg.Wait)

	const rowsJS = `JSON.stringify({members: document.getElementById('members').textContent, hidden: document.getElementById('members').hidden,
		rows: Array.from(document.querySelectorAll('.vmrow')).map(r => r.dataset.instance + '|' + r.dataset.state + '|' + r.dataset.waiting + '|' + r.textContent)})`
	row := func(inst string) string {
		return evalJS[string](t, ctx, `(() => { const r = document.querySelector('.vmrow[data-instance="`+inst+`"]'); return r ? r.textContent : ''; })()`)
	}

	// 1. app waits for db.
	waitJS(t, ctx, "app waits for db", `(() => { const r = document.querySelector('.vmrow[data-instance="sys-2"]'); const d = document.querySelector('.vmrow[data-instance="sys-1"]');
		return !!r && !!d && r.dataset.waiting === 'db' && d.dataset.state === 'running' && !document.getElementById('members').hidden
			&& document.getElementById('members').textContent.includes('db 0/1 ready'); })()`, rowsJS)
	if app := row("sys-2"); !strings.Contains(app, "waiting for db") || !strings.Contains(app, "member app") {
		t.Errorf("app's row = %q, want it to say member app and waiting for db", app)
	}
	if db := row("sys-1"); strings.Contains(db, "waiting for") || !strings.Contains(db, "member db") {
		t.Errorf("db's row = %q, want member db and no waiting", db)
	}

	// 2. db ready: app waits no more, though only db's row changed.
	close(dbReady)
	waitJS(t, ctx, "db ready", `(() => { const r = document.querySelector('.vmrow[data-instance="sys-2"]');
		return document.querySelector('.vmrow[data-instance="sys-1"]').dataset.state === 'ready' && r.dataset.waiting === ''
			&& document.getElementById('members').textContent.includes('db 1/1 ready')
			&& document.getElementById('members').textContent.includes('app 0/1 ready'); })()`, rowsJS)
	if app := row("sys-2"); strings.Contains(app, "waiting for") {
		t.Errorf("app's row after db is ready = %q, want no waiting", app)
	}

	// 3. app finishes.
	close(appGoes)
	waitJS(t, ctx, "app ready", `document.getElementById('members').textContent.includes('app 1/1 ready')
		&& document.querySelector('.vmrow[data-instance="sys-2"]').dataset.state === 'ready'`, rowsJS)
	for range agents {
		if err := <-errs; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
}
