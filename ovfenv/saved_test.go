package ovfenv

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const savedDoc = `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="vm1">
  <PropertySection>
    <Property oe:key="hostname" oe:value="web1"/>
    <Property oe:key="password" oe:value="hunter2-s3cret"/>
    <Property oe:key="ovfinit.callback.url" oe:value="https://u:p4ss@mgr.example/events?token=tok-123456"/>
  </PropertySection>
</Environment>
`

// TestSaved: Save writes the clear copy to the runtime directory and the
// redacted one to the state directory (0600); Load prefers the clear one,
// falls back to the redacted one, whose redacted values read as unset;
// ForgetClear removes the clear copy only when the redacted one is there.
func TestSaved(t *testing.T) {
	root := t.TempDir()
	s := Saved{Root: root, RuntimeDir: "/run/ovfinit", StateDir: "/var/lib/ovfinit"}
	if _, err := s.Load(); !errors.Is(err, ErrNoEnvironment) {
		t.Fatalf("Load() with nothing saved = %v, want ErrNoEnvironment", err)
	}
	if note, done, err := s.ForgetClear(); err != nil || done || !strings.Contains(note, "no redacted copy") {
		t.Errorf("ForgetClear() with nothing saved = %q, %v, %v; want nothing done, saying so", note, done, err)
	}
	src := &Source{Transport: TransportISO, Location: "/dev/sr0", Data: []byte(savedDoc)}
	env, err := src.Environment()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(src, env); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	clear := filepath.Join(root, "run/ovfinit", SavedClearName)
	redacted := filepath.Join(root, "var/lib/ovfinit", SavedRedactedName)
	for _, p := range []string{clear, redacted} {
		fi, err := os.Stat(p)
		if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want a 0600 file", p, fi, err)
		}
	}
	if b, _ := os.ReadFile(clear); string(b) != savedDoc {
		t.Errorf("clear copy = %q, want the document as read", b)
	}
	b, _ := os.ReadFile(redacted)
	for _, secret := range []string{"hunter2-s3cret", "p4ss", "tok-123456"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("redacted copy holds %q:\n%s", secret, b)
		}
	}

	got, err := s.Load()
	if err != nil || got.Location != clear || got.Transport != TransportSaved {
		t.Fatalf("Load() = %+v, %v; want the clear copy %s", got, err, clear)
	}
	if env, _ := got.Environment(); env == nil || mustProp(env, "password") != "hunter2-s3cret" {
		t.Errorf("clear copy's password = %q, want the secret", mustProp(env, "password"))
	}

	if note, done, err := s.ForgetClear(); err != nil || !done || !strings.Contains(note, "removed "+SavedClearName) {
		t.Errorf("ForgetClear() = %q, %v, %v; want the clear copy removed", note, done, err)
	}
	if _, err := os.Stat(clear); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("clear copy after ForgetClear: %v, want it gone", err)
	}
	got, err = s.Load()
	if err != nil || got.Location != redacted {
		t.Fatalf("Load() after ForgetClear = %+v, %v; want the redacted copy %s", got, err, redacted)
	}
	env, err = got.Environment()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"password", "ovfinit.callback.url"} {
		if v, ok := env.Property(k); ok {
			t.Errorf("from the redacted copy Property(%s) = %q, want unset", k, v)
		}
	}
	if v := mustProp(env, "hostname"); v != "web1" {
		t.Errorf("from the redacted copy Property(hostname) = %q, want web1", v)
	}
}

func mustProp(env *Environment, key string) string {
	v, _ := env.Property(key)
	return v
}

// TestSecrets: the secret values and the URLs' credentials, entities'
// included; short secrets are named.
func TestSecrets(t *testing.T) {
	env := &Environment{
		Properties: []Property{{Key: "password", Value: "hunter2-s3cret"}, {Key: "url", Value: "https://u:p4ssw0rd@h/x?token=tok-123456"}, {Key: "hostname", Value: "web1"}},
		Entities:   []Entity{{ID: "db", Properties: []Property{{Key: "db_password", Value: "abc"}}}},
	}
	values, short := env.Secrets()
	for _, want := range []string{"hunter2-s3cret", "p4ssw0rd", "tok-123456", "abc"} {
		found := false
		for _, v := range values {
			found = found || v == want
		}
		if !found {
			t.Errorf("Secrets() = %q, want it to hold %q", values, want)
		}
	}
	for _, v := range values {
		if v == "web1" {
			t.Errorf("Secrets() = %q holds a value that is not secret", values)
		}
	}
	if len(short) != 1 || short[0] != "db_password" {
		t.Errorf("Secrets() short = %q, want [db_password]", short)
	}
}
