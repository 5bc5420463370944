package ovfenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func samples(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 11 {
		t.Fatalf("testdata has %d samples, want 11 (9 real, 2 synthetic)", len(files))
	}
	return files
}

func TestParseGolden(t *testing.T) {
	for _, file := range samples(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".xml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			env, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", file, err)
			}
			got, err := json.MarshalIndent(env, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./ovfenv -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Parse(%s) JSON mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}

// TestParseSamples checks, independently of the goldens, the facts the
// goldens must show.
func TestParseSamples(t *testing.T) {
	parse := func(t *testing.T, name string) *Environment {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		env, err := Parse(data)
		if err != nil {
			t.Fatalf("Parse(%s): %v", name, err)
		}
		return env
	}
	t.Run("01 prefixed PlatformSection and CRLF lines", func(t *testing.T) {
		env := parse(t, "01-cloud-init-doc-example.xml")
		wantPl := &Platform{Kind: "ESX Server", Version: "3.0.1", Vendor: "VMware, Inc.", Locale: "en_US"}
		if diff := cmp.Diff(wantPl, env.Platform); diff != "" {
			t.Errorf("Platform mismatch (-want +got):\n%s", diff)
		}
		if env.ID != "WebTier" {
			t.Errorf("ID = %q, want %q", env.ID, "WebTier")
		}
		for key, line := range map[string]int{"instance-id": 23, "hostname": 35, "network-config": 51} {
			if got := env.PropertyLine(key); got != line {
				t.Errorf("PropertyLine(%q) = %d, want %d", key, got, line)
			}
		}
	})
	t.Run("04 escaped quote", func(t *testing.T) {
		env := parse(t, "04-vsphere703-veba-capture-escaped-quote.xml")
		if v, _ := env.Property("guestinfo.root_password"); v != `VM"ware1` {
			t.Errorf("Property(guestinfo.root_password) = %q, want %q", v, `VM"ware1`)
		}
		if env.VCenterID != "vm-1157271" {
			t.Errorf("VCenterID = %q, want vm-1157271", env.VCenterID)
		}
		want := []Adapter{{MAC: "00:50:56:ba:b4:f6", Network: "management-101", UnitNumber: "7"}}
		if diff := cmp.Diff(want, env.Adapters); diff != "" {
			t.Errorf("Adapters mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("08 namespace edge cases", func(t *testing.T) {
		env := parse(t, "08-ignition-namespace-edgecases-fixture.xml")
		want := []Property{
			{Key: "guestinfo.ignition.config.data", Value: "remove", Line: 15},
			{Key: "guestinfo.ignition.config.data.encoding", Value: "remove", Line: 16},
			{Key: "bar", Value: "0", Line: 17},
		}
		if diff := cmp.Diff(want, env.Properties); diff != "" {
			t.Errorf("Properties mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("10 synthetic vApp entities", func(t *testing.T) {
		env := parse(t, "10-synthetic-vapp-entities.xml")
		if env.ID != "web" || env.VCenterID != "vm-2001" || env.Platform.Timezone != "-300" {
			t.Errorf("ID, VCenterID, Timezone = %q, %q, %q; want web, vm-2001, -300", env.ID, env.VCenterID, env.Platform.Timezone)
		}
		if len(env.Adapters) != 2 {
			t.Errorf("Adapters = %v, want this VM's 2 (not db's)", env.Adapters)
		}
		var ids []string
		for _, en := range env.Entities {
			ids = append(ids, en.ID)
		}
		if diff := cmp.Diff([]string{"db", "cache", "lb"}, ids); diff != "" {
			t.Errorf("entity ids (-want +got):\n%s", diff)
		}
		db := env.Entity("db")
		if v, _ := db.Property("password"); v != "db&s3cret<" {
			t.Errorf("db Property(password) = %q, want %q", v, "db&s3cret<")
		}
		if diff := cmp.Diff([]Adapter{{MAC: "00:50:56:9a:01:12", Network: "vapp-7-back", UnitNumber: "7"}}, db.Adapters); diff != "" {
			t.Errorf("db adapters (-want +got):\n%s", diff)
		}
		cache := env.Entity("cache")
		if v, ok := cache.Property("ovfinit.ssh.port"); v != "2222" || !ok {
			t.Errorf("cache Property(ovfinit.ssh.port) = %q, %v; want 2222 through the guestinfo. prefix", v, ok)
		}
		if _, ok := cache.Property("ovfinit.net.dns"); ok {
			t.Errorf("cache Property(ovfinit.net.dns) is set, want unset (empty value)")
		}
		if lb := env.Entity("lb"); lb == nil || len(lb.Properties) != 0 {
			t.Errorf("Entity(lb) = %+v, want an entity with no properties", lb)
		}
		if v, _ := env.Property("hostname"); v != "web-1" {
			t.Errorf("Property(hostname) = %q, want this VM's web-1, not an entity's", v)
		}
		if r := env.Redacted().Entity("db"); r.Properties[2].Value != Redaction || len(r.Adapters) != 1 {
			t.Errorf("Redacted().Entity(db) = %+v, want the password redacted and the adapter kept", r)
		}
	})
	t.Run("11 synthetic prefixes", func(t *testing.T) {
		env := parse(t, "11-synthetic-entity-prefixes.xml")
		n1 := env.Entity("node-1")
		want := []Property{{Key: "hostname", Value: "node-1", Line: 21}, {Key: "role", Value: "replica", Line: 24}}
		if diff := cmp.Diff(want, n1.Properties); diff != "" {
			t.Errorf("node-1 properties, from two sections (-want +got):\n%s", diff)
		}
		if len(n1.Adapters) != 2 || n1.Adapters[0].Network != "cluster" {
			t.Errorf("node-1 adapters = %v, want 2 read through the vmw: prefix", n1.Adapters)
		}
		if _, ok := env.Entity("node-2").Property("role"); ok {
			t.Errorf("node-2 Property(role) is set, want unset (null)")
		}
		if diff := cmp.Diff([]Section{{Namespace: "urn:example:acme:ovf", Name: "LicenseSection", Line: 17}}, env.Unknown); diff != "" {
			t.Errorf("Unknown (-want +got):\n%s", diff)
		}
		if env.Platform != nil {
			t.Errorf("Platform = %+v, want nil: node-1's PlatformSection is not this VM's", env.Platform)
		}
	})
	t.Run("09 azure has no properties", func(t *testing.T) {
		env := parse(t, "09-azure-waagent-provisioning.xml")
		if len(env.Properties) != 0 || env.Platform != nil || env.ID != "" {
			t.Errorf("Parse(09) = %+v, want an empty environment", env)
		}
	})
}

const envHead = `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:ve="http://www.vmware.com/schema/ovfenv">
`

func TestParseVariants(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *Environment
	}{
		{
			name: "prefix x for env, no default namespace",
			doc: `<x:Environment xmlns:x="http://schemas.dmtf.org/ovf/environment/1" x:id="vs1">
  <x:PlatformSection><x:Kind>KVM</x:Kind><x:TimeZone>60</x:TimeZone></x:PlatformSection>
  <x:PropertySection>
    <x:Property x:key="hostname" x:value="h1"/>
  </x:PropertySection>
</x:Environment>`,
			want: &Environment{ID: "vs1", Platform: &Platform{Kind: "KVM", Timezone: "60"},
				Properties: []Property{{Key: "hostname", Value: "h1", Line: 4}}},
		},
		{
			name: "oe prefix bound to another namespace is not ours",
			doc: `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="urn:other" xmlns:e="http://schemas.dmtf.org/ovf/environment/1">
<PropertySection>
<Property oe:key="a" oe:value="1"/>
<Property e:key="b" e:value="2"/>
</PropertySection>
</Environment>`,
			want: &Environment{Properties: []Property{{Key: "b", Value: "2", Line: 4}}},
		},
		{
			name: "unprefixed id key and value",
			doc: `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" id="i1"><PropertySection>
<Property key="k" value="v"/><Property key="novalue"/></PropertySection></Environment>`,
			want: &Environment{ID: "i1", Properties: []Property{{Key: "k", Value: "v", Line: 2}, {Key: "novalue", Line: 2}}},
		},
		{
			name: "entities adapters and unknown sections",
			doc: envHead + `<Unknown><Property oe:key="no" oe:value="no"/></Unknown>
<PropertySection><Property oe:key="a" oe:value="1"/></PropertySection>
<Entity oe:id="db">
  <PropertySection>
    <Property oe:key="ip" oe:value="10.0.0.2"/>
  </PropertySection>
</Entity>
<ve:EthernetAdapterSection>
  <ve:Adapter ve:mac="52:54:00:00:00:01" ve:network="n1" ve:unitNumber="7"/>
  <ve:Adapter ve:mac="52:54:00:00:00:02"/>
  <Adapter ve:mac="ignored"/>
</ve:EthernetAdapterSection>
<PropertySection><Property oe:key="a" oe:value="2"/></PropertySection>
</Environment>`,
			want: &Environment{
				Properties: []Property{{Key: "a", Value: "1", Line: 4}, {Key: "a", Value: "2", Line: 15}},
				Entities:   []Entity{{ID: "db", Properties: []Property{{Key: "ip", Value: "10.0.0.2", Line: 7}}}},
				Adapters:   []Adapter{{MAC: "52:54:00:00:00:01", Network: "n1", UnitNumber: "7"}, {MAC: "52:54:00:00:00:02"}},
				Unknown:    []Section{{Namespace: NamespaceEnv, Name: "Unknown", Line: 3}},
			},
		},
		{
			name: "multi-line start tag reports the line it starts on; entities decoded",
			doc: envHead + `<PropertySection>

<Property
   oe:key="k"
   oe:value="a&lt;b&amp;&#10;c"/>
</PropertySection></Environment>`,
			want: &Environment{Properties: []Property{{Key: "k", Value: "a<b&\nc", Line: 5}}},
		},
		{
			name: "byte order mark",
			doc:  "\xef\xbb\xbf" + `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"/>`,
			want: &Environment{Properties: []Property{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.doc, err)
			}
			if tt.want.Properties == nil {
				tt.want.Properties = []Property{}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.doc, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []ParseError // Line, Column (0: don't check), Path, and a Msg substring
	}{
		{"empty", "", []ParseError{{Line: 1, Msg: "no root element"}}},
		{"not XML", "hostname=foo\n", []ParseError{{Line: 1, Msg: "text outside the root element"}}},
		{"binary", "\x00\x01\x02", []ParseError{{Line: 1, Msg: "XML syntax error"}}},
		{"truncated", envHead + "<PropertySection>\n<Property oe:key=\"a\" oe:val", []ParseError{{Line: 4, Msg: "XML syntax error: unexpected EOF"}}},
		{"unclosed", envHead + "<PropertySection>\n", []ParseError{{Line: 4, Msg: "unexpected EOF"}}},
		{"mismatched end tag", envHead + "<PropertySection>\n</Property></Environment>", []ParseError{{Line: 4, Msg: "element <PropertySection> closed by </Property>"}}},
		{"column", envHead + "  <Property oe:key=\"a\" oe:key=\"b\" <", []ParseError{{Line: 3, Column: 35, Msg: "XML syntax error"}}},
		{"UTF-16", "\xff\xfe<\x00", []ParseError{{Line: 1, Msg: "UTF-16"}}},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><Environment/>`, []ParseError{{Line: 1, Msg: `unsupported encoding "ISO-8859-1"`}}},
		{"two roots", "<Environment xmlns=\"" + NamespaceEnv + "\"/>\n<Environment/>", []ParseError{{Line: 2, Column: 1, Msg: "after the root element"}}},
		{"too deep", strings.Repeat("<a>", maxDepth+1), []ParseError{{Line: 1, Msg: "nested more than"}}},
		{"wrong root name", `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>`,
			[]ParseError{{Line: 1, Path: "/Envelope", Msg: `root element is <Envelope> (namespace "http://schemas.dmtf.org/ovf/envelope/1"), want Environment`}}},
		{"root without namespace", "\n<Environment/>", []ParseError{{Line: 2, Path: "/Environment", Msg: "root element is <Environment> (no namespace)"}}},
		{"root in another namespace with prefix", `<oe:Environment xmlns:oe="urn:x"/>`, []ParseError{{Line: 1, Path: "/oe:Environment", Msg: `(namespace "urn:x")`}}},
		{
			"every bad property at once",
			envHead + `<PropertySection>
<Property oe:key="ok" oe:value="1"/>
<Property oe:value="2"/>
<Property oe:key="" oe:value="3"/>
</PropertySection>
<Entity><PropertySection><Property value="x"/></PropertySection></Entity>
<ve:EthernetAdapterSection><ve:Adapter ve:network="n"/></ve:EthernetAdapterSection>
</Environment>`,
			[]ParseError{
				{Line: 5, Path: "/Environment/PropertySection/Property[2]", Msg: "Property has no key attribute"},
				{Line: 6, Path: "/Environment/PropertySection/Property[3]", Msg: "Property has an empty key"},
				{Line: 8, Path: "/Environment/Entity", Msg: "Entity has no id attribute"},
				{Line: 8, Path: "/Environment/Entity/PropertySection/Property", Msg: "Property has no key attribute"},
				{Line: 9, Path: "/Environment/ve:EthernetAdapterSection/ve:Adapter", Msg: "Adapter has no ve:mac"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, nil; want an error", tt.doc, env)
			}
			if env != nil {
				t.Errorf("Parse(%q) returned an environment with error %v; want nil", tt.doc, err)
			}
			got := parseErrors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) returned %d errors, want %d: %v", tt.doc, len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Line != w.Line || (w.Column != 0 && g.Column != w.Column) || g.Path != w.Path || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("Parse(%q) error %d = %+v, want %+v (Msg containing)", tt.doc, i, *g, w)
				}
			}
		})
	}
}

// parseErrors flattens Parse's error into its *ParseErrors.
func parseErrors(err error) []*ParseError {
	var out []*ParseError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, parseErrors(e)...)
		}
		return out
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		out = append(out, pe)
	}
	return out
}

func TestParseErrorString(t *testing.T) {
	tests := []struct {
		err  ParseError
		want string
	}{
		{ParseError{Line: 12, Column: 3, Path: "/Environment/PropertySection/Property[3]", Msg: "Property has no key attribute"},
			"ovf-env line 12 column 3 /Environment/PropertySection/Property[3]: Property has no key attribute"},
		{ParseError{Line: 1, Msg: "XML syntax error: unexpected EOF"}, "ovf-env line 1: XML syntax error: unexpected EOF"},
		{ParseError{Msg: "no root element"}, "ovf-env: no root element"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("(%+v).Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestParseLinesAgainstText checks every property line of every sample by
// looking for the key on that line of the file.
func TestParseLinesAgainstText(t *testing.T) {
	for _, file := range samples(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		env, err := Parse(data)
		if err != nil {
			t.Fatalf("Parse(%s): %v", file, err)
		}
		lines := bytes.Split(data, []byte("\n"))
		for _, p := range env.Properties {
			if p.Line < 1 || p.Line > len(lines) {
				t.Errorf("%s: property %q has line %d, outside the file", file, p.Key, p.Line)
				continue
			}
			if l := lines[p.Line-1]; !bytes.Contains(l, []byte(`key="`+p.Key+`"`)) {
				t.Errorf("%s: property %q has line %d, which is %q", file, p.Key, p.Line, l)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range samples(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(envHead + `<PropertySection><Property oe:value="x"/></PropertySection></Environment>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Parse(data)
		if (env == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v: want exactly one of them nil", data, env, err)
		}
		if err != nil {
			for _, pe := range parseErrors(err) {
				if pe.Msg == "" {
					t.Errorf("Parse(%q): ParseError with empty message: %+v", data, pe)
				}
			}
			return
		}
		if _, err := json.Marshal(env); err != nil {
			t.Errorf("json.Marshal(Parse(%q)): %v", data, err)
		}
	})
}

// BenchmarkParse parses every sample in turn; ns/op is per document.
func BenchmarkParse(b *testing.B) {
	var docs [][]byte
	for _, file := range samples(b) {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
