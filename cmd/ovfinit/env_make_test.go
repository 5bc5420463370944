package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ovfinit/ovfinit/internal/wine"
	"github.com/ovfinit/ovfinit/ovfenv"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDXr9WyCY3AZ6M7lIf1xuGBV6Q0O4Q8w2s5Vq2Ff9Ef7 alice@example"

func TestEnvMake(t *testing.T) {
	dir := t.TempDir()
	keys := testKey + "\n" + strings.Replace(testKey, "alice", "bob", 1) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "keys.pub"), []byte(keys), 0o644); err != nil {
		t.Fatal(err)
	}
	propFile := filepath.Join(dir, "db.props")
	if err := os.WriteFile(propFile, []byte("# the database VM\r\n\n  hostname=db-1\r\npublic-keys@=keys.pub\nnote= spaced <&\"'> value \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantProps := []ovfenv.Property{
		{Key: "hostname", Value: "web-1"},
		{Key: "ovfinit.user", Value: "alice"},
		{Key: "public-keys", Value: keys},
		{Key: "guestinfo.x", Value: `a<b&c"d'e>f=g`},
	}
	want := &ovfenv.Environment{
		ID:         "vm-web",
		Properties: wantProps,
		Entities: []ovfenv.Entity{
			{ID: "db", Properties: []ovfenv.Property{
				{Key: "hostname", Value: "db-1"},
				{Key: "public-keys", Value: keys},
				{Key: "note", Value: ` spaced <&"'> value `},
				{Key: "port", Value: "5432"},
			}},
			{ID: "cache", Properties: []ovfenv.Property{}},
		},
	}
	// The flags are read in order: the props after --entity are its own.
	args := []string{
		"env", "make", "--id", "vm-web",
		"--prop", "hostname=web-1",
		"--prop", "ovfinit.user=alice",
		"--prop", "public-keys@=" + filepath.Join(dir, "keys.pub"),
		"--prop", `guestinfo.x=a<b&c"d'e>f=g`,
		"--entity", "db", "--prop-file", propFile, "--prop", "port=5432",
		"--entity", "cache",
	}
	for _, tc := range []struct{ name, out string }{
		{"xml", "env.xml"},
		{"iso", "env.iso"},
		{"xml by --format", "env.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.out)
			a := append(append([]string(nil), args...), "-o", out)
			if tc.out == "env.bin" {
				a = append(a, "--format", "xml")
			}
			msg, code := execute(t, a...)
			if code != exitOK {
				t.Fatalf("ovfinit %q: exit %d:\n%s", a, code, msg)
			}
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS == "windows" {
				wine.CheckPrivate(t, out) // the DACL: no mode bits keep others out there
			} else if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", out, fi.Mode().Perm())
			}
			var doc []byte
			if tc.name == "iso" {
				f, err := os.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				label, data, name, err := ovfenv.ReadISO(f)
				if err != nil {
					t.Fatalf("ReadISO(%s) = %v", out, err)
				}
				if label != "OVF ENV" || name != "ovf-env.xml" {
					t.Errorf("ReadISO(%s) label, name = %q, %q; want \"OVF ENV\", \"ovf-env.xml\"", out, label, name)
				}
				doc = data
			} else {
				doc, _ = os.ReadFile(out)
			}
			got, err := ovfenv.Parse(doc)
			if err != nil {
				t.Fatalf("Parse(env make output) = %v\n%s", err, doc)
			}
			if d := cmp.Diff(want, got, cmpopts.IgnoreFields(ovfenv.Property{}, "Line")); d != "" {
				t.Errorf("env make output parses to a different environment (-want +got):\n%s", d)
			}
		})
	}
}

func TestEnvMakeStdout(t *testing.T) {
	out, code := execute(t, "env", "make", "--prop", "hostname=h1", "-o", "-")
	if code != exitOK {
		t.Fatalf("env make -o -: exit %d:\n%s", code, out)
	}
	env, err := ovfenv.Parse([]byte(out))
	if err != nil {
		t.Fatalf("Parse(env make -o - output) = %v\n%s", err, out)
	}
	if v, _ := env.Property("hostname"); v != "h1" {
		t.Errorf("hostname = %q, want h1", v)
	}
}

func TestEnvMakeErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.props")
	if err := os.WriteFile(bad, []byte("hostname=ok\n# fine\nno equals sign\n=empty key\nkey@=missing.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // substrings of the message
	}{
		{"no -o", []string{"--prop", "a=b"}, exitUsage, []string{"-o"}},
		{"unknown extension", []string{"--prop", "a=b", "-o", filepath.Join(dir, "env.txt")}, exitUsage, []string{"env.txt", "--format"}},
		{"bad --format", []string{"--prop", "a=b", "--format", "vmdk", "-o", filepath.Join(dir, "e.xml")}, exitUsage, []string{`--format "vmdk"`}},
		{"iso to stdout", []string{"--prop", "a=b", "--format", "iso", "-o", "-"}, exitUsage, []string{"standard output"}},
		{"prop without =", []string{"--prop", "hostname", "-o", filepath.Join(dir, "e.xml")}, exitUsage, []string{`--prop "hostname"`, "KEY=VALUE"}},
		{"empty entity", []string{"--entity", " ", "-o", filepath.Join(dir, "e.xml")}, exitUsage, []string{"--entity"}},
		{"entity twice", []string{"--entity", "a", "--entity", "a", "-o", filepath.Join(dir, "e.xml")}, exitUsage, []string{`--entity "a": given twice`}},
		{"prop file lines", []string{"--prop-file", bad, "-o", filepath.Join(dir, "e.xml")}, exitUsage, []string{
			bad + ":3: want KEY=VALUE", bad + ":4: the key is empty", bad + ":5: property key", "missing.txt",
		}},
		{"missing prop file", []string{"--prop-file", filepath.Join(dir, "nope"), "-o", filepath.Join(dir, "e.xml")}, exitUsage, []string{"--prop-file", "nope"}},
		{"check fails", []string{"--prop", "hostname=bad host!", "--prop", "ovfinit.ssh.port=x", "-o", filepath.Join(dir, "e.xml")}, exitFailed, []string{
			"nothing written", "property hostname", "property ovfinit.ssh.port",
		}},
		{"system-account policy", []string{"--prop", "ovfinit.user=root", "--prop", "ovfinit.user.home=/etc", "-o", filepath.Join(dir, "e.xml")}, exitFailed, []string{
			"nothing written", "property ovfinit.user: root is the superuser", "property ovfinit.user.home: /etc is a system directory", "ovfinit.user.allow-system=true",
		}},
		{"unwritable", []string{"--prop", "hostname=h", "-o", filepath.Join(dir, "no", "such", "dir", "e.iso")}, exitFailed, []string{"-o " + filepath.Join(dir, "no")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := execute(t, append([]string{"env", "make"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("env make %q: exit %d, want %d:\n%s", tc.args, code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("env make %q: output lacks %q:\n%s", tc.args, w, out)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "e.xml")); err == nil {
		t.Errorf("env make wrote e.xml although every run failed")
	}
}

// TestEnvMakeAllowSystem: what ovfinit.user.allow-system accepts is
// written, with a warning.
func TestEnvMakeAllowSystem(t *testing.T) {
	out := filepath.Join(t.TempDir(), "e.xml")
	msg, code := execute(t, "env", "make", "--prop", "ovfinit.user=root", "--prop", "ovfinit.user.allow-system=true", "-o", out)
	if code != exitOK || !strings.Contains(msg, "warning: property ovfinit.user: root is the superuser") {
		t.Errorf("env make (root, allowed): exit %d, want %d and a warning:\n%s", code, exitOK, msg)
	}
}

func TestEnvMakeNoCheck(t *testing.T) {
	out := filepath.Join(t.TempDir(), "e.xml")
	msg, code := execute(t, "env", "make", "--no-check", "--prop", "hostname=bad host!", "-o", out)
	if code != exitOK {
		t.Fatalf("env make --no-check: exit %d:\n%s", code, msg)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("env make --no-check wrote nothing: %v", err)
	}
}
