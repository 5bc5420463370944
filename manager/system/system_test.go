package system

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/callback"
)

const twoTier = `members:
  db:
    instances: [db-1]
  app:
    instances: ["app-*"]
    count: 2
    after: [db]
`

func TestParse(t *testing.T) {
	s, err := Parse("sys.yaml", []byte(twoTier))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	got := []Member{*s.Members[0], *s.Members[1]}
	want := []Member{
		{Name: "db", Instances: []string{"db-1"}, Count: 1, Line: 2},
		{Name: "app", Instances: []string{"app-*"}, Count: 2, After: []string{"db"}, Line: 4},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse members (-want +got):\n%s", d)
	}
	for inst, want := range map[string]string{"db-1": "db", "app-7": "app", "web-1": ""} {
		got := ""
		if m := s.MemberOf(inst); m != nil {
			got = m.Name
		}
		if got != want {
			t.Errorf("MemberOf(%q) = %q, want %q", inst, got, want)
		}
	}
	if list, n := s.Patterns(); n != 3 || len(list) != 2 {
		t.Errorf("Patterns() = %v, %d, want 2 entries, 3", list, n)
	}
}

// TestParseErrors: every problem is reported at once, each at its line.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown top key", "members:\n  db: {instances: [db]}\nmember: x\n", []string{"sys.yaml:3: unknown key \"member\""}},
		{"unknown member key", "members:\n  db:\n    instances: [db]\n    afer: [x]\n", []string{"sys.yaml:4: member \"db\": unknown key \"afer\""}},
		{"unknown dependency", "members:\n  db:\n    instances: [db]\n  app:\n    instances: [app]\n    after:\n      - db\n      - cache\n", []string{"sys.yaml:8: member \"app\": after \"cache\", which is no member"}},
		{"cycle", "members:\n  a:\n    instances: [a]\n    after: [b]\n  b:\n    instances: [b]\n    after: [c]\n  c:\n    instances: [c]\n    after: [a]\n", []string{"sys.yaml:2: dependency cycle: a waits for itself (a after b after c after a)"}},
		{"self", "members:\n  a:\n    instances: [a]\n    after: [a]\n", []string{"sys.yaml:4: member \"a\": after itself"}},
		{"no instances and bad count", "members:\n  a:\n    count: 0\n  b:\n    instances: [b1]\n    count: 2\n", []string{
			"sys.yaml:3: member \"a\": count \"0\"", "sys.yaml:2: member \"a\": no instances", "sys.yaml:4: member \"b\": count 2, more than the 1 ids"}},
		{"instance twice", "members:\n  a:\n    instances: [x]\n  b:\n    instances: [x]\n", []string{"sys.yaml:4: member \"b\": instance \"x\" is member \"a\"'s already (line 2)"}},
		{"bad pattern", "members:\n  a:\n    instances: [\"x[\"]\n", []string{"sys.yaml:3: member \"a\": instance pattern"}},
		{"bad name", "members:\n  \"a b\":\n    instances: [x]\n", []string{"sys.yaml:2: member name \"a b\""}},
		{"not yaml", "members: [\n", []string{"sys.yaml: "}},
		{"empty", "", []string{"sys.yaml: empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("sys.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse(%q) = nil, want errors %q", tc.src, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) = %v, want it to hold %q", tc.src, err, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(twoTier))
	f.Add([]byte("members:\n  a: {instances: [a], after: [b]}\n  b: {instances: [b], after: [a]}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("f.yaml", src)
		if err == nil && len(s.Members) == 0 {
			t.Errorf("Parse(%q) = no members, no error", src)
		}
	})
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newServer(t *testing.T, cfg Config) (*State, *httptest.Server) {
	t.Helper()
	sys, err := Parse("sys.yaml", []byte(twoTier))
	if err != nil {
		t.Fatal(err)
	}
	st := NewState(sys, cfg)
	srv := httptest.NewServer(Route(http.NotFoundHandler(), st.Handler(nil)))
	t.Cleanup(srv.Close)
	return st, srv
}

func client(srv *httptest.Server, inst string) *callback.SystemClient {
	return &callback.SystemClient{URL: srv.URL + "/events", InstanceID: inst, Secret: []byte(secret), HTTPClient: srv.Client()}
}

// TestProtocol: app waits for db until db's ready event; then it sees db's
// addresses, host keys and published value; every answer is signed and
// checked by the client.
func TestProtocol(t *testing.T) {
	st, srv := newServer(t, Config{Secret: []byte(secret)})
	ctx := t.Context()
	app, db := client(srv, "app-1"), client(srv, "db-1")

	a, err := app.Query(ctx)
	if err != nil {
		t.Fatalf("Query() = %v", err)
	}
	if a.Ready || !slices_equal(a.Waiting, []string{"db"}) || a.Member != "app" {
		t.Errorf("Query before db = member %q ready %v waiting %v, want app, false, [db]", a.Member, a.Ready, a.Waiting)
	}
	if _, err := db.Publish(ctx, "dsn", "postgres://db/app"); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
	st.Observe(callback.Event{Type: callback.TypeReady, Source: callback.SourcePrefix + "db-1", Data: callback.Data{
		InstanceID: "db-1", Hostname: "db", Addresses: []string{"10.0.2.15/24"}, SSHPort: 22,
		SSHHostKeys: []callback.HostKey{{Type: "ssh-ed25519", Key: "ssh-ed25519 AAAA"}}}})
	a, err = app.Query(ctx)
	if err != nil {
		t.Fatalf("Query() = %v", err)
	}
	if !a.Ready || len(a.Waiting) != 0 {
		t.Errorf("Query after db ready = ready %v waiting %v, want true, none", a.Ready, a.Waiting)
	}
	m := a.FindMember("db")
	if m == nil || !m.Ready || len(m.Instances) != 1 {
		t.Fatalf("member db = %+v, want ready with one instance", m)
	}
	want := callback.SystemInstance{Instance: "db-1", Ready: true, Hostname: "db", Addresses: []string{"10.0.2.15/24"}, SSHPort: 22,
		HostKeys: []callback.HostKey{{Type: "ssh-ed25519", Key: "ssh-ed25519 AAAA"}}, Values: map[string]string{"dsn": "postgres://db/app"}}
	if d := cmp.Diff(want, m.Instances[0]); d != "" {
		t.Errorf("db's instance (-want +got):\n%s", d)
	}
}

func slices_equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// post sends a raw request, signed with key at now, and returns the status.
func post(t *testing.T, srv *httptest.Server, key string, r callback.SystemRequest, now time.Time) (int, http.Header, []byte) {
	t.Helper()
	body, _ := json.Marshal(r)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", callback.SystemContentType)
	if key != "" {
		callback.SignRequest(req.Header, []byte(key), r.ID, body, now)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.Bytes()
}

// TestRefusals: what an attacker on the network can send is refused or
// bounded: unsigned, wrongly signed, stale, an instance outside the
// system, one more instance than a member counts, a value too long, too
// many values; a replayed publish is applied once, so it cannot put back
// an older value.
func TestRefusals(t *testing.T) {
	st, srv := newServer(t, Config{Secret: []byte(secret)})
	now := time.Now()
	q := func(inst string) callback.SystemRequest {
		return callback.SystemRequest{ID: callback.NewSystemRequestID(), Instance: inst, Op: callback.SystemQuery}
	}
	for _, tc := range []struct {
		name string
		key  string
		r    callback.SystemRequest
		at   time.Time
		want int
	}{
		{"unsigned", "", q("app-1"), now, 401},
		{"wrong secret", "whsec_AAAA", q("app-1"), now, 401},
		{"stale", secret, q("app-1"), now.Add(-10 * time.Minute), 401},
		{"not a member", secret, q("web-1"), now, 403},
		{"bad op", secret, callback.SystemRequest{ID: "x1", Instance: "db-1", Op: "delete"}, now, 400},
		{"long value", secret, callback.SystemRequest{ID: "x2", Instance: "db-1", Op: callback.SystemPublish, Name: "v", Value: strings.Repeat("x", callback.MaxSystemValueLen+1)}, now, 400},
		{"bad name", secret, callback.SystemRequest{ID: "x3", Instance: "db-1", Op: callback.SystemPublish, Name: "../x", Value: "v"}, now, 400},
		{"app-1", secret, q("app-1"), now, 200},
		{"app-2", secret, q("app-2"), now, 200},
		{"app-3: over count", secret, q("app-3"), now, 403},
	} {
		if code, _, _ := post(t, srv, tc.key, tc.r, tc.at); code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.want)
		}
	}
	// Too many values.
	for i := range callback.MaxSystemValues + 1 {
		r := callback.SystemRequest{ID: callback.NewSystemRequestID(), Instance: "db-1", Op: callback.SystemPublish, Name: "v" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Value: "x"}
		want := 200
		if i == callback.MaxSystemValues {
			want = 400
		}
		if code, _, _ := post(t, srv, secret, r, now); code != want {
			t.Errorf("publish %d: status %d, want %d", i, code, want)
		}
	}
	// A replayed publish does not put the old value back.
	old := callback.SystemRequest{ID: "pub-old", Instance: "db-1", Op: callback.SystemPublish, Name: "vaa", Value: "old"}
	post(t, srv, secret, old, now)
	post(t, srv, secret, callback.SystemRequest{ID: "pub-new", Instance: "db-1", Op: callback.SystemPublish, Name: "vaa", Value: "new"}, now)
	post(t, srv, secret, old, now)
	a, _ := st.Snapshot("db-1")
	if v := a.FindMember("db").Instances[0].Values["vaa"]; v != "new" {
		t.Errorf("after a replayed publish vaa = %q, want new", v)
	}
	// Body bound.
	big := callback.SystemRequest{ID: "big", Instance: "db-1", Op: callback.SystemQuery, Name: strings.Repeat("x", callback.MaxSystemRequest)}
	if code, _, _ := post(t, srv, secret, big, now); code != 413 {
		t.Errorf("oversized request: status %d, want 413", code)
	}
}

// TestAnswerSigned: the client refuses an answer that is unsigned, or
// signed for another request (a recorded answer replayed).
func TestAnswerSigned(t *testing.T) {
	var replay []byte
	var replayHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range replayHeader {
			w.Header()[k] = v
		}
		w.Write(replay)
	}))
	defer srv.Close()
	// A genuine answer to another request.
	_, real := newServer(t, Config{Secret: []byte(secret)})
	code, h, body := post(t, real, secret, callback.SystemRequest{ID: "other", Instance: "app-1", Op: callback.SystemQuery}, time.Now())
	if code != 200 {
		t.Fatalf("genuine query: %d", code)
	}
	c := &callback.SystemClient{URL: srv.URL, InstanceID: "app-1", Secret: []byte(secret)}
	replay, replayHeader = body, h
	if _, err := c.Query(context.Background()); !errors.Is(err, callback.ErrSystemAnswer) {
		t.Errorf("Query with another request's answer = %v, want %v", err, callback.ErrSystemAnswer)
	}
	replayHeader = http.Header{"Content-Type": {callback.SystemContentType}}
	if _, err := c.Query(context.Background()); !errors.Is(err, callback.ErrSystemAnswer) {
		t.Errorf("Query with an unsigned answer = %v, want %v", err, callback.ErrSystemAnswer)
	}
	c.URL = real.URL
	c.InstanceID = "web-9"
	if _, err := c.Query(context.Background()); !errors.Is(err, callback.ErrNotMember) {
		t.Errorf("Query from outside the system = %v, want %v", err, callback.ErrNotMember)
	}
}

// TestRebootClearsReady: a ready db that starts a new boot is not ready
// until that boot's ready, so an app that asks meanwhile waits; the
// events that come after a boot (login; reserved and sanitized, sent by a
// command with a boot id of its own) and the rest of the ready boot's
// events leave it ready.
func TestRebootClearsReady(t *testing.T) {
	st, srv := newServer(t, Config{Secret: []byte(secret)})
	app := client(srv, "app-1")
	ev := func(typ, boot string, seq int, d callback.Data) callback.Event {
		d.InstanceID, d.Boot = "db-1", boot
		return callback.Event{Type: typ, ID: boot + "-" + strconv.Itoa(seq), Source: callback.SourcePrefix + "db-1", Data: d}
	}
	ready := func(boot string, seq int, addr string) callback.Event {
		return ev(callback.TypeReady, boot, seq, callback.Data{Result: callback.ResultReady, Hostname: "db", Addresses: []string{addr}})
	}
	for _, tc := range []struct {
		name      string
		ev        callback.Event
		wantReady bool
		wantAddr  string
	}{
		{"first boot's step", ev(callback.TypeStepStarted, "b1", 1, callback.Data{Step: "find-environment", Status: "started"}), false, ""},
		{"first boot's ready", ready("b1", 2, "10.0.0.1/24"), true, "10.0.0.1/24"},
		{"login after the boot", ev(callback.TypeLogin, "b1", 3, callback.Data{Message: "alice logged in"}), true, "10.0.0.1/24"},
		{"progress of the ready boot", ev(callback.TypeProgress, "b1", 4, callback.Data{Step: "script"}), true, "10.0.0.1/24"},
		{"reserved, from a command", ev(callback.TypeReserved, "c9", 1, callback.Data{Message: "reserved for alice"}), true, "10.0.0.1/24"},
		{"a new boot starts", ev(callback.TypeStepStarted, "b2", 1, callback.Data{Step: "find-environment", Status: "started"}), false, "10.0.0.1/24"},
		{"a per-instance step skipped", ev(callback.TypeStepFinished, "b2", 2, callback.Data{Step: "hostname", Status: "skipped"}), false, "10.0.0.1/24"},
		{"the new boot's ready", ready("b2", 3, "10.0.0.2/24"), true, "10.0.0.2/24"},
		{"a boot id only in the event id", callback.Event{Type: callback.TypeStepStarted, ID: "b3-1", Source: callback.SourcePrefix + "db-1",
			Data: callback.Data{InstanceID: "db-1", Step: "find-environment", Status: "started"}}, false, "10.0.0.2/24"},
	} {
		st.Observe(tc.ev)
		a, err := app.Query(t.Context())
		if err != nil {
			t.Fatalf("%s: Query() = %v", tc.name, err)
		}
		waiting := []string{"db"}
		if tc.wantReady {
			waiting = nil
		}
		if a.Ready != tc.wantReady || !slices_equal(a.Waiting, waiting) {
			t.Errorf("after %s: app's Query = ready %v waiting %v, want %v, %v", tc.name, a.Ready, a.Waiting, tc.wantReady, waiting)
		}
		db := a.FindMember("db")
		if db == nil || len(db.Instances) != 1 {
			t.Errorf("after %s: member db = %+v, want one instance", tc.name, db)
			continue
		}
		var addr string
		if len(db.Instances[0].Addresses) > 0 {
			addr = db.Instances[0].Addresses[0]
		}
		if db.Ready != tc.wantReady || db.Instances[0].Ready != tc.wantReady || addr != tc.wantAddr {
			t.Errorf("after %s: db = ready %v, instance ready %v, address %q, want %v, %v, %q", tc.name, db.Ready, db.Instances[0].Ready, addr, tc.wantReady, tc.wantReady, tc.wantAddr)
		}
	}
}
