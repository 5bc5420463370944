package scripts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// docEnv is the environment the documentation's examples run in.
func docEnv(t *testing.T, info HostInfo, props map[string]string, entities []ovfenv.Entity) (Env, *DryRun) {
	t.Helper()
	env, d, _ := dryEnv(t, map[string]string{
		"etc/hosts":               "127.0.0.1 localhost\n",
		"etc/myapp/app.conf.tmpl": "listen {{port}}\n{{peers}}\n",
		"etc/os-release":          "ID=debian\nVERSION_ID=12\n",
	})
	d.Base.(*fakeFacts).info = info
	o := envWith(props)
	o.Platform = env.OVF.Platform
	o.Entities = entities
	env.OVF = o
	env.Dialect.HTTP = true
	env.HTTP = &LiveHTTP{Client: &http.Client{Transport: handlerTransport{docServer()}}}
	env.System = &memSystem{}
	return env, d
}

// handlerTransport serves every request from a handler, without a network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// docServer is the web service of the documentation's http examples.
func docServer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET config.example.com/v1/app", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"port": 9000, "peers": ["10.0.0.5", "10.0.0.6"]}`)
	})
	mux.HandleFunc("POST inventory.example.com/v1/vms", func(w http.ResponseWriter, r *http.Request) {
		var vm map[string]any
		if err := json.NewDecoder(r.Body).Decode(&vm); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want JSON", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id": "vm-17", "name": %q}`, vm["name"])
	})
	return mux
}

var starlarkBlock = regexp.MustCompile("(?s)```(?:starlark|python)\n(.*?)```")

// TestDocExamples runs every starlark block of docs/scripting.md against a
// dry-run host, so the documentation can not drift from the builtins.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/scripting.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := starlarkBlock.FindAllSubmatchIndex(doc, -1)
	if len(blocks) < 15 {
		t.Fatalf("found %d starlark blocks in docs/scripting.md, want every builtin's example", len(blocks))
	}
	props := map[string]string{"config.token": "s3cret", "motd": "Hi", "role": "web", "app.port": "9000", "app.name": "shop", "app.config": `{"debug": true}`}
	entities := []ovfenv.Entity{{ID: "db", Properties: []ovfenv.Property{{Key: "ip", Value: "10.0.0.5"}}}}
	covered := map[string]bool{}
	for _, b := range blocks {
		line := 1 + strings.Count(string(doc[:b[0]]), "\n")
		src := string(doc[b[2]:b[3]])
		name := fmt.Sprintf("scripting.md line %d", line)
		t.Run(name, func(t *testing.T) {
			env, _ := docEnv(t, testInfo, props, entities)
			if err := Run(t.Context(), name, []byte(src), env); err != nil {
				t.Errorf("docs/scripting.md example at line %d: Run() = %v\n%s", line, err, src)
			}
		})
		for _, n := range builtinNames() {
			if strings.Contains(src, n) {
				covered[n] = true
			}
		}
	}
	for _, n := range builtinNames() {
		if !covered[n] {
			t.Errorf("builtin %s has no example in docs/scripting.md", n)
		}
	}
}

// builtinNames lists every builtin as a script names it ("file.write").
func builtinNames() []string {
	d := Dialect{HTTP: true}
	mods := newModules(&Env{Dialect: d}, &DryRun{}, HostInfo{})
	var names []string
	for _, n := range d.names() {
		if n == "json" || n == "time" {
			names = append(names, n+".")
			continue
		}
		v := mods[n]
		if m, ok := v.(interface{ AttrNames() []string }); ok {
			for _, a := range m.AttrNames() {
				names = append(names, n+"."+a)
			}
		} else {
			names = append(names, n+"(")
		}
	}
	return names
}

// TestExamples dry-runs the scripts in examples/scripts and compares their
// effects.
func TestExamples(t *testing.T) {
	windows := HostInfo{OS: "windows", Arch: "amd64", Distro: "windows", Version: "10.0.20348", Hostname: "WIN1"}
	db := []ovfenv.Entity{{ID: "db", Properties: []ovfenv.Property{{Key: "ip", Value: "10.0.0.5"}}}}
	tests := []struct {
		name, file string
		info       HostInfo
		props      map[string]string
		entities   []ovfenv.Entity
		effects    []string
		wantErr    string
		retry      bool
	}{
		{name: "install on debian", file: "install-package.star", info: testInfo, props: map[string]string{"app.package": "nginx"}, effects: []string{
			`progress 10% "installing nginx"`,
			"exec apt-get update env DEBIAN_FRONTEND=noninteractive",
			"exec apt-get install -y --no-install-recommends nginx env DEBIAN_FRONTEND=noninteractive",
			`progress 100% "nginx installed"`,
		}},
		{name: "install on windows", file: "install-package.star", info: windows, props: map[string]string{"app.package": "Git.Git"}, effects: []string{
			`progress 10% "installing Git.Git"`,
			"exec winget install --silent --accept-source-agreements --accept-package-agreements --id Git.Git",
			`progress 100% "Git.Git installed"`,
		}},
		{name: "install on unknown", file: "install-package.star", info: HostInfo{OS: "freebsd", Distro: "freebsd", Version: "14.1"},
			wantErr: "install-package.star:19:9: fail: do not know how to install packages on freebsd 14.1 (freebsd)"},
		{name: "app config", file: "app-config.star", info: testInfo, props: map[string]string{"app.name": "shop", "app.port": "9000", "app.peers": "a, b", "app.token": "s3cret"}, effects: []string{
			"mkdir /etc/shop (mode 0755)",
			"write /etc/shop/config.json (89 bytes, mode 0640)",
			"write /etc/shop/token (7 bytes, mode 0600)",
		}},
		{name: "app config bad port", file: "app-config.star", info: testInfo, props: map[string]string{"app.port": "70000"},
			wantErr: "app-config.star:7:9: fail: property app.port: 70000 is not a TCP port"},
		{name: "sibling ready", file: "wait-for-sibling.star", info: testInfo, entities: db, effects: []string{
			"write /etc/web/database.conf (28 bytes, mode 0644)",
			`progress 100% "database at 10.0.0.5"`,
		}},
		{name: "sibling not ready", file: "wait-for-sibling.star", info: testInfo, entities: []ovfenv.Entity{{ID: "db"}},
			wantErr: "fail: database VM db has no ip property yet", retry: true},
		{name: "no sibling", file: "wait-for-sibling.star", info: testInfo,
			wantErr: `fail: this vApp has no entity "db"; siblings: []`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("..", "examples", "scripts", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(tt.file, src, Dialect{}); err != nil {
				t.Fatalf("Check(%s) = %v", tt.file, err)
			}
			env, d := docEnv(t, tt.info, tt.props, tt.entities)
			err = Run(t.Context(), tt.file, src, env)
			if tt.wantErr != "" {
				var se *ScriptError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) || se.Retry != tt.retry {
					t.Fatalf("Run(%s) = %v, want an error containing %q with retry=%v", tt.file, err, tt.wantErr, tt.retry)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run(%s) = %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.effects, d.Effects); diff != "" {
				t.Errorf("Run(%s) effects (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}
