package callback

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// standardWebhooksDir is where e2e/prepare.sh installs the npm
// standardwebhooks package (its node_modules inside).
func standardWebhooksDir() string {
	if d := os.Getenv("OVFINIT_NPM_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("OVFINIT_E2E_CACHE")
	if cache == "" {
		cache = "/var/cache/ovfinit-e2e"
	}
	return filepath.Join(cache, "npm")
}

// needNode returns the node binary and the node_modules directory holding
// standardwebhooks, or skips the test (fails it under OVFINIT_E2E=require,
// as make test sets).
func needNode(t *testing.T) (node, modules string) {
	t.Helper()
	modules = filepath.Join(standardWebhooksDir(), "node_modules")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(modules, "standardwebhooks", "package.json"))
	}
	if err != nil {
		why := "node and the npm standardwebhooks package are needed (run e2e/prepare.sh): " + err.Error()
		if os.Getenv("OVFINIT_E2E") == "require" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return node, modules
}

// TestStandardWebhooksLibrary: the events a real Sender sends, retries
// included, verify with the off-the-shelf standardwebhooks library (npm,
// under node) and with Verify, for a whsec_ secret and for a plain one
// (used as the raw key); a tampered copy of each is refused by both, so
// the library's check is not vacuous.
func TestStandardWebhooksLibrary(t *testing.T) {
	node, modules := needNode(t)
	type captured struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
		id      string
		tamper  bool
	}
	var all []captured
	for _, secret := range []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"correct horse battery staple, ünïcode",
	} {
		rec := newRecorder(t, func(n int, _ Event) int {
			if n%3 == 1 {
				return 503 // retried: the retry is signed anew
			}
			return 204
		})
		s := NewSender(testLogger(t), "b")
		cfg := fastConfig(rec.srv.URL)
		cfg.Secret = []byte(secret)
		if err := s.Start(cfg); err != nil {
			t.Fatal(err)
		}
		emitSteps(s, 1, 4)
		s.Emit(TypeProgress, Data{Step: "script", Message: "waiting for db"})
		s.Emit(TypeReady, Data{Result: ResultReady, Hostname: "vm-1", Addresses: []string{"10.0.0.5"}})
		s.Emit(TypeReserved, Data{Message: "reserved for alice"})
		s.Emit(TypeSanitized, Data{})
		if err := s.Wait(waitCtx(t)); err != nil {
			t.Fatalf("Wait() = %v, want nil", err)
		}
		s.Close()
		reqs := rec.requests()
		if len(reqs) < 8 {
			t.Fatalf("server got %d requests, want at least 8", len(reqs))
		}
		for _, q := range reqs {
			if q.header.Get("X-Ovfinit-Signature") != "" {
				t.Errorf("request %d still carries X-Ovfinit-Signature", q.n)
			}
			h := map[string]string{}
			for _, k := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
				h[k] = q.header.Get(k)
			}
			if id, err := Verify([]byte(secret), q.header, q.body, time.Now(), 0); err != nil || id != q.event.ID {
				t.Errorf("request %d: Verify = %q, %v, want %q, nil", q.n, id, err, q.event.ID)
			}
			all = append(all, captured{Secret: secret, Headers: h, Body: string(q.body), id: q.event.ID})
			bad := bytes.Replace(q.body, []byte(`"id"`), []byte(`"id" `), 1)
			if _, err := Verify([]byte(secret), q.header, bad, time.Now(), 0); !errors.Is(err, ErrBadSignature) {
				t.Errorf("request %d tampered: Verify = %v, want %v", q.n, err, ErrBadSignature)
			}
			all = append(all, captured{Secret: secret, Headers: h, Body: string(bad), id: q.event.ID, tamper: true})
		}
	}

	file := filepath.Join(t.TempDir(), "requests.json")
	js, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, js, 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "verify-standardwebhooks.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, script, file)
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
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil || res.N < 0 || res.N >= len(all) {
			t.Fatalf("node printed %q: %v", sc.Text(), err)
		}
		seen++
		c := all[res.N]
		switch {
		case c.tamper && res.OK:
			t.Errorf("standardwebhooks verified a tampered event %s (secret form %.6s)", c.id, c.Secret)
		case !c.tamper && !res.OK:
			t.Errorf("standardwebhooks refused event %s (secret form %.6s): %s\nheaders %v", c.id, c.Secret, res.Error, c.Headers)
		case !c.tamper && res.ID != c.id:
			t.Errorf("standardwebhooks returned payload id %q, want %q", res.ID, c.id)
		}
	}
	if seen != len(all) {
		t.Errorf("node answered for %d requests, want %d:\n%s%s", seen, len(all), out, stderr.Bytes())
	}
	t.Logf("standardwebhooks (npm, %s) checked %d requests", modules, len(all))
}
