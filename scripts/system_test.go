package scripts

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/manager/system"
)

// memSystem is a manager in memory, for the documentation's examples.
type memSystem struct{ published map[string]string }

func (m *memSystem) Query(context.Context) (*callback.SystemAnswer, error) {
	return &callback.SystemAnswer{Member: "app", Ready: true, Members: []callback.SystemMember{
		{Name: "db", Ready: true, Instances: []callback.SystemInstance{{Instance: "db-1", Ready: true, Hostname: "db", Addresses: []string{"10.0.2.15/24"}, SSHPort: 22,
			HostKeys: []callback.HostKey{{Type: "ssh-ed25519", Key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk"}},
			Values:   map[string]string{"dsn": "postgres://app@db/app"}}}},
		{Name: "app", After: []string{"db"}},
	}}, nil
}

func (m *memSystem) Publish(_ context.Context, name, value string) (*callback.SystemAnswer, error) {
	if m.published == nil {
		m.published = map[string]string{}
	}
	m.published[name] = value
	return m.Query(context.Background())
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// manager serves the system protocol of a db/app system on 127.0.0.1.
func manager(t *testing.T) (*system.State, *httptest.Server) {
	t.Helper()
	sys, err := system.Parse("sys.yaml", []byte("members:\n  db:\n    instances: [db-1]\n  app:\n    instances: [app-1]\n    after: [db]\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := system.NewState(sys, system.Config{Secret: []byte(secret)})
	srv := httptest.NewServer(st.Handler(nil))
	t.Cleanup(srv.Close)
	return st, srv
}

// TestSystemModule: db's script publishes its dsn through the manager on
// 127.0.0.1; once db is ready, app's script reads db's address, host key
// and dsn and writes them to a file.
func TestSystemModule(t *testing.T) {
	st, srv := manager(t)
	client := func(inst string) *callback.SystemClient {
		return &callback.SystemClient{URL: srv.URL, InstanceID: inst, Secret: []byte(secret), HTTPClient: srv.Client()}
	}
	dbEnv, _ := testEnv(t, nil)
	dbEnv.System = client("db-1")
	if err := Run(t.Context(), "db.star", []byte(`system.publish("dsn", "postgres://app@" + "db" + "/app")`), dbEnv); err != nil {
		t.Fatalf("db's script: Run() = %v", err)
	}
	st.Observe(callback.Event{Type: callback.TypeReady, Source: callback.SourcePrefix + "db-1", Data: callback.Data{InstanceID: "db-1",
		Addresses: []string{"10.0.2.15/24", "fd00::15/64"}, SSHHostKeys: []callback.HostKey{{Type: "ssh-ed25519", Key: "ssh-ed25519 AAAA"}}}})

	appEnv, _ := testEnv(t, nil)
	appEnv.System = client("app-1")
	src := `db = system.member("db")
if not db.ready: fail("db not ready")
if system.members() != ["db", "app"]: fail("members %r" % system.members())
file.write("/etc/db", "%s %s %s %s\n" % (db.addresses[0], db.host_keys[0], db.values["dsn"], db.instances[0].instance))
`
	if err := Run(t.Context(), "app.star", []byte(src), appEnv); err != nil {
		t.Fatalf("app's script: Run() = %v", err)
	}
	got, err := os.ReadFile(filepath.Join(appEnv.Root, "etc/db"))
	if want := "10.0.2.15 ssh-ed25519 AAAA postgres://app@db/app db-1\n"; err != nil || string(got) != want {
		t.Errorf("app's script wrote %q, %v, want %q", got, err, want)
	}
}

// TestSystemPublishRefused: a secret, in any form the redactor knows, is
// never published; neither is a value too long or under a bad name; a VM
// in no system, or not in the manager's, gets an error naming why.
func TestSystemPublishRefused(t *testing.T) {
	_, srv := manager(t)
	for _, tc := range []struct {
		name, src, inst, want string
		noSystem              bool
	}{
		{"secret", `system.publish("pw", "hunter2-secret")`, "db-1", "holds a secret", false},
		{"derived secret", `system.publish("pw", "x" + "HUNTER2-SECRET".lower() + "y")`, "db-1", "holds a secret", false},
		{"base64 secret", `system.publish("pw", "aHVudGVyMi1zZWNyZXQ=")`, "db-1", "holds a secret", false},
		{"long", `system.publish("v", "x" * 5000)`, "db-1", "5000 bytes, at most 4096", false},
		{"bad name", `system.publish("a b", "v")`, "db-1", `name "a b"`, false},
		{"unknown member", `system.member("cache")`, "app-1", `no member "cache" in the system (members: db, app)`, false},
		{"not a member", `system.member("db")`, "web-1", "no member for this instance", false},
		{"no system", `system.member("db")`, "db-1", "in no system", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, lb := testEnv(t, nil)
			env.Secrets = []string{"hunter2-secret"}
			if !tc.noSystem {
				env.System = &callback.SystemClient{URL: srv.URL, InstanceID: tc.inst, Secret: []byte(secret), HTTPClient: srv.Client()}
			}
			err := Run(t.Context(), "s.star", []byte(tc.src), env)
			var se *ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, tc.want) {
				t.Fatalf("Run(%q) = %v, want a script error with %q", tc.src, err, tc.want)
			}
			if strings.Contains(err.Error()+lb.String(), "hunter2") {
				t.Errorf("the secret leaked: %v\n%s", err, lb.String())
			}
		})
	}
}
