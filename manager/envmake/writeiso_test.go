package envmake

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ovfinit/ovfinit/internal/wine"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// trickyEnv has values that need escaping in XML and values with newlines.
func trickyEnv() *ovfenv.Environment {
	return &ovfenv.Environment{
		ID:       "vm-1",
		Platform: &ovfenv.Platform{Kind: "ovfinit", Version: "1", Locale: "en", Timezone: "60"},
		Properties: []ovfenv.Property{
			{Key: "hostname", Value: "web-1"},
			{Key: "password", Value: `p<a&s"s'w>rd`},
			{Key: "public-keys", Value: "ssh-ed25519 AAAA a@b\nssh-ed25519 BBBB c@d\n"},
			{Key: "ovfinit.script", Value: "\tline 1\r\n  line 2  "},
			{Key: "empty", Value: ""},
		},
		Entities: []ovfenv.Entity{{ID: "db", Properties: []ovfenv.Property{{Key: "hostname", Value: "db<1>"}}}},
		Adapters: []ovfenv.Adapter{{MAC: "00:50:56:aa:bb:cc", Network: "VM & Network", UnitNumber: "7"}},
	}
}

func TestWriteISORoundTrip(t *testing.T) {
	want := trickyEnv()
	doc, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "env.iso")
	if err := WriteISO(path, doc); err != nil {
		t.Fatalf("WriteISO: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" {
		wine.CheckPrivate(t, path) // the DACL: no mode bits keep others out there
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("WriteISO wrote mode %v, want 0600 (the document may hold secrets)", fi.Mode().Perm())
	}
	if fi.Size()%sectorSize != 0 {
		t.Errorf("image size %d is not a whole number of sectors", fi.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	label, data, name, err := ovfenv.ReadISO(f)
	if err != nil {
		t.Fatalf("ReadISO(WriteISO output) = %v", err)
	}
	if label != ISOLabel || !ovfenv.IsEnvLabel(label) {
		t.Errorf("ReadISO label = %q, want %q", label, ISOLabel)
	}
	// go-diskfs declares Rock Ridge 1.12 (IEEE_P1282), which
	// kdomanski/iso9660 v0.4.0 does not know: ReadISO reads the NM names.
	if name != EnvFileName {
		t.Errorf("ReadISO file name = %q, want %q (the Rock Ridge name)", name, EnvFileName)
	}
	raw, _ := os.ReadFile(path)
	if got := string(raw[labelOffset : labelOffset+labelLen]); got != "OVF ENV"+strings.Repeat(" ", 25) {
		t.Errorf("volume identifier field = %q, want \"OVF ENV\" padded with spaces to 32", got)
	}
	got, err := ovfenv.Parse(data)
	if err != nil {
		t.Fatalf("Parse(ISO content) = %v", err)
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(ovfenv.Property{}, "Line"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Parse(ReadISO(WriteISO(Marshal(env)))) differs (-want +got):\n%s", d)
	}
}

// TestWriteISOIsoinfo reads the image with isoinfo (genisoimage's), the
// way a non-Go reader would: the Rock Ridge and the Joliet names, and the
// label.
func TestWriteISOIsoinfo(t *testing.T) {
	isoinfo, err := exec.LookPath("isoinfo")
	if err != nil {
		t.Skip("isoinfo is not installed (apt-get install genisoimage)")
	}
	doc, err := trickyEnv().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "env.iso")
	if err := WriteISO(path, doc); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"-R", "-J"} {
		t.Run(mode, func(t *testing.T) {
			out, err := exec.Command(isoinfo, "-i", path, mode, "-x", "/ovf-env.xml").Output()
			if err != nil {
				t.Fatalf("isoinfo %s -x /ovf-env.xml: %v", mode, err)
			}
			if !bytes.Equal(out, doc) {
				t.Errorf("isoinfo %s -x /ovf-env.xml differs:\n%s", mode, cmp.Diff(string(doc), string(out)))
			}
			list, err := exec.Command(isoinfo, "-i", path, mode, "-f").Output()
			if err != nil {
				t.Fatalf("isoinfo %s -f: %v", mode, err)
			}
			if got := strings.TrimSpace(string(list)); got != "/ovf-env.xml" {
				t.Errorf("isoinfo %s -f = %q, want \"/ovf-env.xml\"", mode, got)
			}
		})
	}
	out, err := exec.Command(isoinfo, "-i", path, "-d").Output()
	if err != nil {
		t.Fatalf("isoinfo -d: %v", err)
	}
	if !strings.Contains(string(out), "Volume id: OVF ENV\n") {
		t.Errorf("isoinfo -d has no \"Volume id: OVF ENV\":\n%s", out)
	}
	for _, ext := range []string{"Rock Ridge signatures version", "Joliet with UCS level"} {
		if !strings.Contains(string(out), ext) {
			t.Errorf("isoinfo -d does not report %q:\n%s", ext, out)
		}
	}
}

// sampleDoc is a small environment document.
var sampleDoc = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="vm-1"><PropertySection><Property oe:key="hostname" oe:value="h1"/></PropertySection></Environment>
`)

func TestWriteISOErrors(t *testing.T) {
	dir := t.TempDir()
	if err := WriteISO(filepath.Join(dir, "missing", "env.iso"), sampleDoc); err == nil || !strings.Contains(err.Error(), filepath.Join("missing", "env.iso")) {
		t.Errorf("WriteISO into a missing directory = %v, want an error naming the path", err)
	}
	if err := WriteISO(filepath.Join(dir, "big.iso"), make([]byte, ovfenv.MaxEnvSize+1)); err == nil {
		t.Errorf("WriteISO(%d bytes) = nil, want an error", ovfenv.MaxEnvSize+1)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
		t.Errorf("WriteISO left temporary files behind: %q", m)
	}
}
