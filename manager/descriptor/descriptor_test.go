package descriptor

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestProductSection: every row of the table is declared, with its type,
// default, label, description and password flag; the document is read back
// by namespace URI, as an OVF reader would.
func TestProductSection(t *testing.T) {
	out, err := ProductSectionDocument(Options{Version: "1.2.3", Defaults: map[string]string{"ovfinit.ssh.port": "2222", "guestinfo.hostname": "appliance"}})
	if err != nil {
		t.Fatalf("ProductSectionDocument: %v", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out); err != nil {
		t.Fatalf("reading back the descriptor: %v\n%s", err, out)
	}
	root := doc.Root()
	if root.Tag != "ProductSection" || root.NamespaceURI() != EnvelopeNS {
		t.Fatalf("root = {%s}%s, want {%s}ProductSection", root.NamespaceURI(), root.Tag, EnvelopeNS)
	}
	attr := func(e *etree.Element, name string) (string, bool) {
		for _, a := range e.Attr {
			if a.Key == name && a.NamespaceURI() == EnvelopeNS {
				return a.Value, true
			}
		}
		return "", false
	}
	got := map[string]ovfenv.Key{}
	for _, p := range root.SelectElements("Property") {
		key, _ := attr(p, "key")
		typ, _ := attr(p, "type")
		val, _ := attr(p, "value")
		pw, _ := attr(p, "password")
		uc, _ := attr(p, "userConfigurable")
		if uc != "true" {
			t.Errorf("property %s: userConfigurable=%q, want true", key, uc)
		}
		got[key] = ovfenv.Key{Name: key, Type: ovfenv.KeyType(typ), Default: val, Secret: pw == "true",
			Label: p.SelectElement("Label").Text(), Description: p.SelectElement("Description").Text()}
	}
	want := map[string]ovfenv.Key{}
	for _, k := range ovfenv.Keys() {
		w := ovfenv.Key{Name: k.Name, Type: ovfenv.KeyType(OVFType(k.Type)), Default: k.Default, Secret: k.Secret, Label: k.Label, Description: k.Description}
		switch k.Name {
		case "ovfinit.ssh.port":
			w.Default = "2222"
		case "hostname":
			w.Default = "appliance"
		}
		want[k.Name] = w
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProductSection properties (-want +got):\n%s", diff)
	}
	if len(root.SelectElements("Category")) == 0 || root.SelectElement("Version").Text() != "1.2.3" {
		t.Errorf("ProductSection lacks categories or the version:\n%s", out)
	}
}

func TestProductSectionBadDefaults(t *testing.T) {
	_, err := ProductSection(Options{Defaults: map[string]string{
		"ovfinit.ssh.port": "twenty-two",
		"no.such.key":      "x",
		"ovfinit.script":   "not base64!",
	}})
	if err == nil {
		t.Fatal("ProductSection with bad defaults = nil error")
	}
	for _, want := range []string{`"no.such.key"`, "ovfinit.ssh.port", "twenty-two", "ovfinit.script"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ProductSection error = %v, want it to mention %s", err, want)
		}
	}
}

func TestOVFType(t *testing.T) {
	for in, want := range map[ovfenv.KeyType]string{ovfenv.TypeString: "string", ovfenv.TypeInt: "sint32", ovfenv.TypeBool: "boolean", ovfenv.TypeBase64: "string", ovfenv.TypeList: "string"} {
		if got := OVFType(in); got != want {
			t.Errorf("OVFType(%q) = %q, want %q", in, got, want)
		}
	}
}
