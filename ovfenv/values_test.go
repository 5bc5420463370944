package ovfenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseBool(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{"true", true, false}, {"True", true, false}, {"TRUE", true, false}, {"yes", true, false}, {"1", true, false}, {" true ", true, false},
		{"false", false, false}, {"False", false, false}, {"no", false, false}, {"No", false, false}, {"0", false, false},
		{"", false, true}, {"2", false, true}, {"on", false, true}, {"t", false, true}, {"null", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBool(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseBool(%q) = %v, %v, want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPropertySemantics(t *testing.T) {
	env := &Environment{Properties: []Property{
		{Key: "hostname", Value: "a", Line: 1},
		{Key: "guestinfo.hostname", Value: "b", Line: 2},
		{Key: "guestinfo.ovfinit.user", Value: "bob", Line: 3},
		{Key: "ovfinit.net.dns", Value: "null", Line: 4},
		{Key: "ovfinit.net.gateway", Value: "  ", Line: 5},
		{Key: "instance-id", Value: "x", Line: 6},
		{Key: "instance-id", Value: "", Line: 7},
	}}
	tests := []struct {
		key    string
		want   string
		wantOK bool
		line   int
	}{
		{"hostname", "b", true, 2},
		{"guestinfo.hostname", "b", true, 2},
		{"ovfinit.user", "bob", true, 3},
		{"guestinfo.ovfinit.user", "bob", true, 3},
		{"ovfinit.net.dns", "", false, 4},
		{"ovfinit.net.gateway", "", false, 5},
		{"instance-id", "", false, 7}, // the last one wins, and it is unset
		{"missing", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := env.Property(tt.key)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Property(%q) = %q, %v, want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
			}
			if l := env.PropertyLine(tt.key); l != tt.line {
				t.Errorf("PropertyLine(%q) = %d, want %d", tt.key, l, tt.line)
			}
		})
	}
}

func TestIsSecret(t *testing.T) {
	for key, want := range map[string]bool{
		"guestinfo.root_password": true, "ADMIN_PASSWD": true, "api.token": true, "hostname": false, "public-keys": false,
	} {
		if got := IsSecret(key); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedacted(t *testing.T) {
	env := &Environment{
		ID:       "vm1",
		Platform: &Platform{Kind: "KVM"},
		Properties: []Property{
			{Key: "hostname", Value: "h"},
			{Key: "password", Value: "hunter2"},
			{Key: "guestinfo.root_password", Value: "s3cret"},
			{Key: "db.password", Value: "null"},
		},
		Entities: []Entity{{ID: "db", Properties: []Property{{Key: "db_password", Value: "pw"}, {Key: "ip", Value: "10.0.0.2"}}}},
	}
	got := env.Redacted()
	want := &Environment{
		ID:       "vm1",
		Platform: &Platform{Kind: "KVM"},
		Properties: []Property{
			{Key: "hostname", Value: "h"},
			{Key: "password", Value: Redaction},
			{Key: "guestinfo.root_password", Value: Redaction},
			{Key: "db.password", Value: "null"},
		},
		Entities: []Entity{{ID: "db", Properties: []Property{{Key: "db_password", Value: Redaction}, {Key: "ip", Value: "10.0.0.2"}}}},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Redacted() mismatch (-want +got):\n%s", diff)
	}
	if v, _ := env.Property("password"); v != "hunter2" {
		t.Errorf("Redacted() changed the original: Property(password) = %q", v)
	}
	if !env.HasSecrets() || got.HasSecrets() {
		t.Errorf("HasSecrets() = %v before, %v after redaction, want true, false", env.HasSecrets(), got.HasSecrets())
	}
	data, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2", "s3cret", ">pw<", `"pw"`} {
		if strings.Contains(string(data), s) {
			t.Errorf("Redacted().Marshal() contains %q:\n%s", s, data)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	env := &Environment{
		ID:        "web",
		VCenterID: "vm-12",
		Platform:  &Platform{Kind: "VMware ESXi", Version: "8.0", Vendor: "VMware, Inc.", Locale: "en", Timezone: "60"},
		Properties: []Property{
			{Key: "hostname", Value: "web1"},
			{Key: "public-keys", Value: "ssh-ed25519 AAAA a@b\nssh-ed25519 BBBB c@d\n"},
			{Key: "odd", Value: `<&>"' 	tab`},
			{Key: "empty", Value: ""},
		},
		Adapters: []Adapter{{MAC: "00:50:56:00:00:01", Network: "VM Network", UnitNumber: "7"}},
		Entities: []Entity{{ID: "db", Properties: []Property{{Key: "ip", Value: "10.0.0.2"}}}},
	}
	data, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal()) error: %v\n%s", err, data)
	}
	if diff := cmp.Diff(env, got, cmpopts.IgnoreFields(Property{}, "Line")); diff != "" {
		t.Errorf("Parse(Marshal()) mismatch (-want +got):\n%s\n%s", diff, data)
	}
}

// TestMarshalSamples writes every sample back and reads it again: the same
// environment, entities and their adapters included (lines and the names of
// unknown sections aside, which Marshal does not write).
func TestMarshalSamples(t *testing.T) {
	for _, file := range samples(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := want.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal()) error: %v\n%s", err, out)
			}
			want.Unknown = nil
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Property{}, "Line"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(Marshal(Parse(%s))) mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}

// TestMarshalWhitespaceReferences checks that tabs, CRs and newlines in
// values are written as character references (a conforming parser would
// normalize literal ones to spaces), and that a value holding the
// private-use runes Marshal uses internally survives.
func TestMarshalWhitespaceReferences(t *testing.T) {
	env := &Environment{Properties: []Property{
		{Key: "k", Value: "a\tb\r\nc\n"},
		{Key: "pua", Value: "\ue000\ue001\ue002\ue003"},
	}}
	out, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `oe:value="a&#x9;b&#xD;&#xA;c&#xA;"`) {
		t.Errorf("Marshal() does not write the whitespace as references:\n%s", out)
	}
	got, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env.Properties, got.Properties, cmpopts.IgnoreFields(Property{}, "Line")); diff != "" {
		t.Errorf("Parse(Marshal()) mismatch (-want +got):\n%s\n%s", diff, out)
	}
}
