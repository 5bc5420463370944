// Package webhooktest checks signed callback requests with the npm
// standardwebhooks package under node, the off-the-shelf library a manager
// would use, for the tests of every package that produces events.
package webhooktest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks headers (callback.HeaderID and the others; not
// imported, so that callback's own tests can use this package).
var headers = []string{"webhook-id", "webhook-timestamp", "webhook-signature"}

//go:embed verify-standardwebhooks.js
var script []byte

// Version is the standardwebhooks release e2e/prepare.sh installs
// (STANDARDWEBHOOKS_VERSION there); another one is not used.
const Version = "1.3.0"

// Dir is where e2e/prepare.sh installs the package ($OVFINIT_NPM_DIR, or
// npm/ in $OVFINIT_E2E_CACHE, default /var/cache/ovfinit-e2e).
func Dir() string {
	if d := os.Getenv("OVFINIT_NPM_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("OVFINIT_E2E_CACHE")
	if cache == "" {
		cache = "/var/cache/ovfinit-e2e"
	}
	return filepath.Join(cache, "npm")
}

// Request is one captured request: the secret it should verify with, its
// headers and body exactly as received, and whether the library must
// accept it (false for a copy the test tampered with).
type Request struct {
	Secret string
	Header http.Header
	Body   []byte
	WantOK bool
	ID     string // the event id, for messages
	// Received, when set, is when the receiver got the request: the
	// library checks the timestamp against it rather than the clock of
	// the check (a VM test checks its first events minutes later).
	Received time.Time
}

// Verify runs the library on every request and fails t for each it
// accepts or refuses against WantOK. Without node or the package it skips
// t, or fails it under OVFINIT_E2E=require (as make test sets).
func Verify(t testing.TB, reqs []Request) {
	t.Helper()
	modules := filepath.Join(Dir(), "node_modules")
	node, err := exec.LookPath("node")
	if err == nil {
		var b []byte
		if b, err = os.ReadFile(filepath.Join(modules, "standardwebhooks", "package.json")); err == nil {
			var pkg struct{ Version string }
			json.Unmarshal(b, &pkg)
			if pkg.Version != Version {
				err = fmt.Errorf("standardwebhooks %q installed, want %s", pkg.Version, Version)
			}
		}
	}
	if err != nil {
		why := "node and the npm standardwebhooks package are needed (run e2e/prepare.sh): " + err.Error()
		if os.Getenv("OVFINIT_E2E") == "require" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	type input struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
		Now     int64             `json:"now,omitempty"` // Unix ms; 0: Date.now
	}
	in := make([]input, len(reqs))
	for i, r := range reqs {
		h := map[string]string{}
		for _, k := range headers {
			h[k] = r.Header.Get(k)
		}
		in[i] = input{Secret: r.Secret, Headers: h, Body: string(r.Body)}
		if !r.Received.IsZero() {
			in[i].Now = r.Received.UnixMilli()
		}
	}
	dir := t.TempDir()
	file, js := filepath.Join(dir, "requests.json"), filepath.Join(dir, "verify.js")
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(js, script, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, js, file)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var res struct {
			N     int    `json:"n"`
			OK    bool   `json:"ok"`
			ID    string `json:"id"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil || res.N < 0 || res.N >= len(reqs) {
			t.Fatalf("node printed %q: %v", sc.Text(), err)
		}
		seen++
		r := reqs[res.N]
		switch {
		case !r.WantOK && res.OK:
			t.Errorf("standardwebhooks verified tampered request %d (event %s)", res.N, r.ID)
		case r.WantOK && !res.OK:
			t.Errorf("standardwebhooks refused request %d (event %s): %s\nheaders %v", res.N, r.ID, res.Error, in[res.N].Headers)
		case r.WantOK && r.ID != "" && res.ID != r.ID:
			t.Errorf("standardwebhooks returned the payload of event %q for request %d, want %q", res.ID, res.N, r.ID)
		}
	}
	if seen != len(reqs) {
		t.Errorf("node answered for %d requests, want %d:\n%s%s", seen, len(reqs), out, stderr.Bytes())
	}
	t.Logf("standardwebhooks (npm, %s) checked %d requests", modules, len(reqs))
}
