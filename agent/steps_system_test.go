package agent

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/system"
)

const systemSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fakeManager is the manager's side on 127.0.0.1 (manager/system); it
// calls onQuery (once per query, under a lock) before answering.
func fakeManager(t *testing.T, onQuery func(st *system.State, n int)) *httptest.Server {
	t.Helper()
	sys, err := system.Parse("sys.yaml", []byte("members:\n  db:\n    instances: [db-1]\n  app:\n    instances: [app-1]\n    after: [db]\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := system.NewState(sys, system.Config{Secret: []byte(systemSecret)})
	h := st.Handler(func(remote string, code int, err error) { t.Logf("manager refused %d: %v", code, err) })
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != callback.SystemContentType {
			w.WriteHeader(http.StatusNoContent) // an event: the fake Events sends none
			return
		}
		mu.Lock()
		n++
		if onQuery != nil {
			onQuery(st, n)
		}
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func systemEnv(instance, url string, props ...string) string {
	return envXML(append([]string{"instance-id", instance, "ovfinit.callback.url", url, "ovfinit.callback.secret", systemSecret, "ovfinit.system", "true"}, props...)...)
}

func dbReady(st *system.State) {
	st.Observe(callback.Event{Type: callback.TypeReady, Source: callback.SourcePrefix + "db-1", Data: callback.Data{InstanceID: "db-1",
		Addresses: []string{"10.0.2.15/24"}, SSHHostKeys: []callback.HostKey{{Type: "ssh-ed25519", Key: "ssh-ed25519 AAAA"}}}})
}

// TestSystemWaitsForDependency: app's system step reports "waiting for
// db" once, keeps asking until the manager has db's ready event, and only
// then does the script run, reading db's address.
func TestSystemWaitsForDependency(t *testing.T) {
	srv := fakeManager(t, func(st *system.State, n int) {
		if n == 3 {
			dbReady(st)
		}
	})
	m := newMachine(t)
	_, ev, err := m.boot(systemEnv("app-1", srv.URL+"/events",
		"ovfinit.script", b64(`file.write("/etc/db", system.member("db").addresses[0] + "\n")`)))
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	var got []string
	for _, l := range ev.events {
		if l.Data.Step == "system" || l.Data.Step == "script" {
			got = append(got, strings.TrimPrefix(l.Type, "org.ovfinit.")+" "+l.Data.Step+" "+l.Data.Status+" "+l.Data.Message)
		}
	}
	want := []string{
		"step.started system started ",
		"progress system  waiting for db",
		"step.finished system ok member app: db ready",
		"step.started script started ",
		"step.finished script ok ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("system and script events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := m.read("etc/db"); got != "10.0.2.15\n" {
		t.Errorf("the script wrote %q, want db's address", got)
	}
}

// TestSystemTimeout: a dependency that never gets ready fails the boot at
// the system step after ovfinit.system.timeout, with retry=true and what
// it waited for; the script never runs.
func TestSystemTimeout(t *testing.T) {
	srv := fakeManager(t, nil)
	m := newMachine(t)
	_, ev, err := m.boot(systemEnv("app-1", srv.URL+"/events", "ovfinit.system.timeout", "1",
		"ovfinit.script", b64(`file.write("/etc/ran", "yes")`)))
	if err == nil {
		t.Fatal("Run() = nil, want the system step's failure")
	}
	last := ev.events[len(ev.events)-1]
	if last.Type != callback.TypeFailed || last.Data.Step != "system" || last.Data.Retry == nil || !*last.Data.Retry ||
		!strings.Contains(last.Data.Message, "waiting for db: not ready after 1s (ovfinit.system.timeout)") {
		t.Errorf("last event = %s %+v, want failed at system, retry, waiting for db", last.Type, last.Data)
	}
	if m.exists("etc/ran") {
		t.Error("the script ran although db never got ready")
	}
}

// TestSystemNotMember: an instance the manager's system does not have
// fails at once, fatal: waiting would not change the system file.
func TestSystemNotMember(t *testing.T) {
	srv := fakeManager(t, nil)
	m := newMachine(t)
	_, ev, err := m.boot(systemEnv("web-1", srv.URL+"/events"))
	if err == nil || !errors.Is(err, callback.ErrNotMember) {
		t.Fatalf("Run() = %v, want %v", err, callback.ErrNotMember)
	}
	last := ev.events[len(ev.events)-1]
	if last.Type != callback.TypeFailed || last.Data.Result != callback.ResultFatal || !strings.Contains(last.Data.Message, "instance web-1") {
		t.Errorf("last event = %s %+v, want failed fatal naming web-1", last.Type, last.Data)
	}
}

// TestSystemProperties: the system's properties are applied or refused,
// each error naming its property.
func TestSystemProperties(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props []string
		want  string
	}{
		{"url without system", []string{"instance-id", "i", "ovfinit.callback.url", "http://127.0.0.1:1/", "ovfinit.system.url", "http://127.0.0.1:2/"}, "property ovfinit.system.url (ovf-env.xml line N): set, but ovfinit.system is not true"},
		{"timeout without system", []string{"instance-id", "i", "ovfinit.system.timeout", "5"}, "property ovfinit.system.timeout (ovf-env.xml line N): set, but ovfinit.system is not true"},
		{"no manager", []string{"instance-id", "i", "ovfinit.system", "true"}, "property ovfinit.system (ovf-env.xml line N): true, but neither ovfinit.system.url nor ovfinit.callback.url"},
		{"bad url", []string{"instance-id", "i", "ovfinit.system", "true", "ovfinit.system.url", "ftp://x/"}, "property ovfinit.system.url (ovf-env.xml line N): want an http:// or https:// URL"},
		{"bad timeout", []string{"instance-id", "i", "ovfinit.system", "true", "ovfinit.callback.url", "http://127.0.0.1:1/", "ovfinit.system.timeout", "0"}, "property ovfinit.system.timeout (ovf-env.xml line N)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			_, _, err := m.boot(envXML(tc.props...))
			key, msg, _ := strings.Cut(tc.want, " (ovf-env.xml line N)")
			if err == nil || !strings.Contains(err.Error(), key+" (ovf-env.xml line ") || !strings.Contains(err.Error(), msg) || strings.Count(err.Error(), "property ") != 1 {
				t.Errorf("Run() = %v, want an error with %q", err, tc.want)
			}
		})
	}
	// The system URL wins over the callback URL.
	srv := fakeManager(t, func(st *system.State, n int) { dbReady(st) })
	m := newMachine(t)
	if _, _, err := m.boot(systemEnv("app-1", "http://127.0.0.1:1/events", "ovfinit.system.url", srv.URL+"/system")); err != nil {
		t.Errorf("Run() with ovfinit.system.url = %v, want nil", err)
	}
}
