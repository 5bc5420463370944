package ovfenv

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSalvage(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">
  <PropertySection>
    <Property oe:key="ovfinit.callback.url" oe:value="http://10.0.2.2/a"/>
    <Property key="unqualified" value="not in the namespace"/>
    <Property oe:key="instance-id" oe:value="i-1"/>
    <Property oe:key="ovfinit.callback.url" oe:value="http://10.0.2.2/b"/>
  </PropertySection>
  <Entity oe:id="db"><PropertySection>
    <Property oe:key="guestinfo.ovfinit.callback.secret" oe:value="s3cret-value"/>
  </PropertySection></Entity>
  <PropertySection>
    <Property oe:key="after" oe:value="x"/>
    <Broken <<<
    <Property oe:key="never" oe:value="read"/>
`
	tests := []struct {
		name string
		data string
		want []Property
	}{
		{"damaged", doc, []Property{
			{Key: "ovfinit.callback.url", Value: "http://10.0.2.2/a", Line: 5},
			{Key: "instance-id", Value: "i-1", Line: 7},
			{Key: "ovfinit.callback.url", Value: "http://10.0.2.2/b", Line: 8},
			{Key: "guestinfo.ovfinit.callback.secret", Value: "s3cret-value", Line: 11},
			{Key: "after", Value: "x", Line: 14},
		}},
		{"truncated in a tag", doc[:strings.Index(doc, `oe:value="i-1"`)], []Property{
			{Key: "ovfinit.callback.url", Value: "http://10.0.2.2/a", Line: 5},
		}},
		{"empty", "", nil},
		{"not XML", "\x00\x01garbage", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Salvage([]byte(tt.data))
			if diff := cmp.Diff(tt.want, got.Properties); diff != "" {
				t.Errorf("Salvage(%s).Properties (-want +got):\n%s", tt.name, diff)
			}
		})
	}
	got := Salvage([]byte(doc))
	if v, _ := got.Property("ovfinit.callback.url"); v != "http://10.0.2.2/b" {
		t.Errorf("Salvage().Property(callback url) = %q, want the last one", v)
	}
	if v, _ := got.Property("ovfinit.callback.secret"); v != "s3cret-value" {
		t.Errorf("Salvage().Property(callback secret) = %q, want the guestinfo-prefixed one", v)
	}
}

// BenchmarkSalvage is the damaged-document path of parse-environment: one
// pass over the bytes, whatever the number of keys looked up.
func BenchmarkSalvage(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>`)
	for range 2000 {
		sb.WriteString(`<Property oe:key="k" oe:value="some value of a fair length"/>` + "\n")
	}
	sb.WriteString(`<Property oe:key="ovfinit.callback.url" oe:value="http://10.0.2.2/e"/><Broken <<`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		env := Salvage(data)
		for _, k := range []string{"ovfinit.callback.url", "instance-id", "ovfinit.callback.secret", "ovfinit.callback.ca", "ovfinit.callback.pin", "ovfinit.callback.client-cert", "ovfinit.callback.client-key"} {
			env.Property(k)
		}
	}
}
