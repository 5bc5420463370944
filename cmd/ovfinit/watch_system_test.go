package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

// TestWatchSystem: watch --system answers the system protocol on its
// event listener: app is told to wait for db until db's ready event
// arrives, then reads what db published; watch waits for both members'
// instances and exits 0 once both are ready.
func TestWatchSystem(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "system.yaml")
	if err := os.WriteFile(file, []byte("members:\n  db:\n    instances: [db-1]\n  app:\n    instances: [app-*]\n    after: [db]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("members:\n  app:\n    instances: [app-1]\n    after: [db]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newWatchCmd()
	cmd.SetArgs([]string{"--system", bad, "--listen", "127.0.0.1:0"})
	cmd.SetOut(&syncBuffer{})
	cmd.SetErr(&syncBuffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), bad+`:4: member "app": after "db", which is no member`) {
		t.Fatalf("watch --system %s = %v, want the line of the unknown member", bad, err)
	}

	o := watchOptions{secret: "s", timeout: 20 * time.Second, systemFile: file}
	src, _ := os.ReadFile(file)
	var err error
	if o.system, err = parseSystem(file, src); err != nil {
		t.Fatal(err)
	}
	o.instances, o.expect = o.system.Patterns()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- watch(context.Background(), ln, o, &out, &errOut, false) }()
	url := fmt.Sprintf("http://%s/events", ln.Addr())
	app := &callback.SystemClient{URL: url, InstanceID: "app-1", Secret: []byte("s")}
	db := &callback.SystemClient{URL: url, InstanceID: "db-1", Secret: []byte("s")}
	ctx := t.Context()

	a, err := app.Query(ctx)
	if err != nil || a.Ready || strings.Join(a.Waiting, ",") != "db" {
		t.Fatalf("app's Query before db = %+v, %v, want waiting for db", a, err)
	}
	if _, err := db.Publish(ctx, "dsn", "postgres://db-1/app"); err != nil {
		t.Fatalf("db's Publish = %v", err)
	}
	agentRun(t, url, "s", "db-1", callback.ResultReady)
	a, err = app.Query(ctx)
	if err != nil || !a.Ready {
		t.Fatalf("app's Query after db ready = %+v, %v, want ready", a, err)
	}
	if m := a.FindMember("db"); m == nil || len(m.Instances) != 1 || m.Instances[0].Values["dsn"] != "postgres://db-1/app" || m.Instances[0].Hostname != "db-1.lab" {
		t.Errorf("member db = %+v, want db-1.lab with dsn", m)
	}
	select {
	case err := <-done:
		t.Fatalf("watch returned %v with app not ready", err)
	default:
	}
	agentRun(t, url, "s", "app-1", callback.ResultReady)
	if err := <-done; err != nil {
		t.Fatalf("watch() = %v, want nil (both ready)\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "2 of 2 VMs ready") {
		t.Errorf("watch's summary = %q, want 2 of 2 VMs ready", errOut.String())
	}
}

// TestWatchSystemCounts: an extra instance of one member does not stand
// in for another member: with app-* counting one instance, app-2's events
// are refused (403) and watch still waits for db, until its timeout.
// (Before, the first two distinct instances counted, whichever member.)
func TestWatchSystemCounts(t *testing.T) {
	sys, err := parseSystem("system.yaml", []byte("members:\n  db:\n    instances: [db-1]\n  app:\n    instances: [app-*]\n    after: [db]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := watchOptions{secret: "s", timeout: 2 * time.Second, system: sys}
	o.instances, o.expect = sys.Patterns()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- watch(context.Background(), ln, o, &out, &errOut, false) }()
	url := fmt.Sprintf("http://%s/events", ln.Addr())
	agentRun(t, url, "s", "app-1", callback.ResultReady)
	agentRun(t, url, "s", "app-2", callback.ResultReady)
	err = <-done
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(errOut.String(), "timed out") {
		t.Errorf("watch() = %v, want exit 2 (timed out waiting for db)\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), `with 403: callback: event from an instance not in the expected list: member full: instance "app-2" would be member "app"'s instance 2, it counts 1`) {
		t.Errorf("watch's errors = %q, want app-2 refused with 403", errOut.String())
	}
}
