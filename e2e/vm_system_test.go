package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/e2e/vm"
	"github.com/ovfinit/ovfinit/manager/system"
)

// systemBootTimeout is qemu start to ready for two guests at once under
// TCG on a shared 2-core machine, the second waiting for the first.
const systemBootTimeout = 8 * time.Minute

// TestSystemOfTwoVMs boots a system of two guests, db and app, against
// the recorder serving the system protocol (manager/system, as `ovfinit
// watch --system` does). app boots first and its system step waits for db
// ("waiting for db"); db boots while app waits, and its script publishes
// a dsn. Once db is ready, app's script writes db's address, dsn and host
// key into a file, which the test reads over SSH. It checks the order of
// the events (db's ready before app's script step) and, through the
// harness, every signed message (events, system requests and answers)
// with the npm standardwebhooks library.
func TestSystemOfTwoVMs(t *testing.T) {
	requireVM(t)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	h := newHarness(t, setup{secret: secret})
	sys, err := system.Parse("system.yaml", []byte("members:\n  db:\n    instances: [e2e-db]\n  app:\n    instances: [e2e-app]\n    after: [db]\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := system.NewState(sys, system.Config{Secret: []byte(secret)})
	h.rec.SetSystem(st.Handler(func(remote string, code int, err error) { t.Errorf("system refused a request with %d: %v", code, err) }), st.Observe)

	guest := func(id, hostname, script string) string {
		env := h.env(id)
		env.Hostname = hostname
		env.Script = script
		return h.isoOf(t, id, append(env.Properties(), vm.Property{Key: "ovfinit.system", Value: "true"}, vm.Property{Key: "ovfinit.system.timeout", Value: "600"}))
	}
	appISO := guest("e2e-app", "app", `db = system.member("db")
file.write("/etc/ovfinit-e2e-db", "%s %s %s\n" % (db.addresses[0], db.values["dsn"], db.host_keys[0]))
`)
	dbISO := guest("e2e-db", "db", `system.publish("dsn", "postgres://app@" + host.hostname + "/app")
`)
	appDisk := filepath.Join(h.dir, "app.img")
	if err := vm.NewDisk(appDisk); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), systemBootTimeout)
	defer cancel()
	app := h.start(t, vm.Options{Assets: h.assets, ISO: appISO, Disk: appDisk, SerialLog: filepath.Join(h.dir, "app.serial")})
	appCtx, stop := app.Context(ctx)
	defer stop()
	if _, err := waitEvent(appCtx, h.rec, func(e vm.Event) bool {
		return e.Data.InstanceID == "e2e-app" && e.Type == vm.TypeProgress && e.Data.Step == "system"
	}); err != nil {
		t.Fatalf("app: no progress event of the system step: %v", err)
	}
	db := h.start(t, vm.Options{Assets: h.assets, ISO: dbISO, Disk: h.disk, SerialLog: filepath.Join(h.dir, "db.serial")})
	dbCtx, stopDB := db.Context(appCtx)
	defer stopDB()
	for _, id := range []string{"e2e-db", "e2e-app"} {
		end, err := waitEvent(dbCtx, h.rec, func(e vm.Event) bool {
			return e.Data.InstanceID == id && (e.Type == vm.TypeReady || e.Type == vm.TypeFailed)
		})
		if err != nil {
			t.Fatalf("%s: no ready or failed event within %v: %v", id, systemBootTimeout, err)
		}
		if end.Type != vm.TypeReady {
			t.Fatalf("%s failed: %s", id, end.Raw)
		}
	}

	// The timeline, and the order: db's ready before app's script.
	var timeline []string
	at := map[string]int{}
	events := h.rec.Events()
	for i, e := range events {
		who := strings.TrimPrefix(e.Data.InstanceID, "e2e-")
		timeline = append(timeline, fmt.Sprintf("%7.1fs %-3s %s", e.Received.Sub(app.Started).Seconds(), who, strings.TrimPrefix(e.String(), e.Received.Format("15:04:05.000 "))))
		key := who + " " + e.Type + " " + e.Data.Step
		if _, ok := at[key]; !ok {
			at[key] = i
		}
	}
	t.Logf("timeline (seconds after app's qemu start):\n%s", strings.Join(timeline, "\n"))
	order := []string{
		"app " + vm.TypeStepStarted + " system",
		"app " + vm.TypeProgress + " system",
		"db " + vm.TypeStepStarted + " script",
		"db " + vm.TypeReady + " ",
		"app " + vm.TypeStepFinished + " system",
		"app " + vm.TypeStepStarted + " script",
		"app " + vm.TypeReady + " ",
	}
	for i := 1; i < len(order); i++ {
		a, okA := at[order[i-1]]
		b, okB := at[order[i]]
		if !okA || !okB || a >= b {
			t.Errorf("event %q (at %d, %v) not before %q (at %d, %v)", order[i-1], a, okA, order[i], b, okB)
		}
	}
	for _, e := range events {
		if e.Data.InstanceID == "e2e-app" && e.Type == vm.TypeProgress && e.Data.Step == "system" && e.Data.Message != "waiting for db" {
			t.Errorf("app's progress message = %q, want waiting for db", e.Data.Message)
		}
	}

	// What app's script wrote: db's address, its dsn, its host key.
	dbReady, _ := waitEvent(ctx, h.rec, func(e vm.Event) bool { return e.Data.InstanceID == "e2e-db" && e.Type == vm.TypeReady })
	if len(dbReady.Data.SSHHostKeys) == 0 || len(dbReady.Data.Addresses) == 0 {
		t.Fatalf("db's ready event has no host key or address: %s", dbReady.Raw)
	}
	addr, _, _ := strings.Cut(dbReady.Data.Addresses[0], "/")
	want := fmt.Sprintf("%s postgres://app@db/app %s\n", addr, dbReady.Data.SSHHostKeys[0].Key)
	c, _ := h.dial(t, app, h.signer)
	if got := mustSSH(t, c, "cat /etc/ovfinit-e2e-db"); got != want {
		t.Errorf("app's /etc/ovfinit-e2e-db = %q, want %q", got, want)
	}
	c.Close()
	poweroff(t, db)
	poweroff(t, app)
}

// waitEvent returns the first recorded event (since Reset) that match
// accepts, waiting until ctx ends.
func waitEvent(ctx context.Context, rec *vm.Recorder, match func(vm.Event) bool) (vm.Event, error) {
	for {
		for _, e := range rec.Events() {
			if match(e) {
				return e, nil
			}
		}
		select {
		case <-ctx.Done():
			return vm.Event{}, context.Cause(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
