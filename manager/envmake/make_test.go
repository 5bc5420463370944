package envmake

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestMake: the flags in command-line order (props after --entity are
// its own, a prop file's relative @=FILE is beside it), a usage problem
// is a *UsageError, a failed check writes nothing.
func TestMake(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keys"), []byte("ssh-ed25519 AAAA k\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "props"), []byte("# comment\nhostname=h1\r\npublic-keys@=keys\n"), 0o600)
	var out, warn bytes.Buffer
	err := Make(Options{ID: "vm-1", Out: "-", NoCheck: true, Args: []Arg{
		{"prop-file", filepath.Join(dir, "props")}, {"entity", "db"}, {"prop", "ip=10.0.0.2"},
	}}, &out, &warn)
	if err != nil {
		t.Fatalf("Make() = %v", err)
	}
	env, err := ovfenv.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := env.Property("public-keys"); v != "ssh-ed25519 AAAA k\n" || env.ID != "vm-1" {
		t.Errorf("public-keys = %q, id %q; want the file's content and vm-1", v, env.ID)
	}
	if e := env.Entity("db"); e == nil || len(e.Properties) != 1 || e.Properties[0].Value != "10.0.0.2" {
		t.Errorf("entity db = %+v, want its one ip property", e)
	}

	var ue *UsageError
	if err := Make(Options{Out: "x.txt"}, &out, &warn); !errors.As(err, &ue) {
		t.Errorf("Make(-o x.txt) = %v, want a UsageError", err)
	}
	bad := filepath.Join(dir, "bad.xml")
	if err := Make(Options{Out: bad, Args: []Arg{{"prop", "hostname=bad host!"}}}, &out, &warn); err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "property hostname") {
		t.Errorf("Make(bad hostname) = %v, want a check failure naming hostname", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("Make() with a failed check wrote %s", bad)
	}
}
