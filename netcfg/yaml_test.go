package netcfg

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestParseNetworkConfig parses each testdata/netconf/*.yaml and diffs the
// Config against the .json golden file next to it (-update rewrites them).
func TestParseNetworkConfig(t *testing.T) {
	files, _ := filepath.Glob("testdata/netconf/*.yaml")
	if len(files) < 4 {
		t.Fatalf("found %d testdata files, want at least 4", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _, err := ParseNetworkConfig(data)
			if err != nil {
				t.Fatalf("ParseNetworkConfig(%s) = %v", f, err)
			}
			if err := Validate(cfg); err != nil {
				t.Fatalf("Validate(ParseNetworkConfig(%s)) = %v", f, err)
			}
			got, _ := json.MarshalIndent(cfg, "", "  ")
			golden(t, strings.TrimSuffix(f, ".yaml")+".json", got)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

func TestParseNetworkConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, line first
	}{
		{"unknown key v2", "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    dhcp5: true\n", []string{"line 5", "dhcp5"}},
		{"unknown key under network", "network:\n  version: 2\n  ethernets:\n    eth0:\n      adresses: [10.0.0.2/24]\n", []string{"line 5", "adresses"}},
		{"unknown key v1", "version: 1\nconfig:\n- type: physical\n  name: eth0\n  subnets:\n  - type: static\n    adress: 10.0.0.2/24\n", []string{"line 7", "adress"}},
		{"bad CIDR", "version: 2\nethernets:\n  eth0:\n    addresses:\n    - 10.0.0.300/24\n", []string{"line 5", "10.0.0.300/24"}},
		{"bad MAC", "version: 2\nethernets:\n  e:\n    match:\n      macaddress: zz\n    dhcp4: yes\n", []string{"line 5", "MAC"}},
		{"bad version", "version: 3\n", []string{"line 1", "want 1 or 2"}},
		{"not YAML", "version: 2\nethernets: [\n", []string{"line"}},
		{"v1 bad type", "version: 1\nconfig:\n- type: tunnel\n  name: t0\n", []string{"line 3", "tunnel"}},
		{"dhcp4 not a bool", "version: 2\nethernets:\n  eth0:\n    dhcp4: maybe\n", []string{"line 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseNetworkConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseNetworkConfig(%q) = nil error, want %q", tt.yaml, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseNetworkConfig(%q) = %q, want it to contain %q", tt.yaml, err, w)
				}
			}
		})
	}
}

// TestNetworkConfigLines checks that a value problem found by Validate maps
// back to the YAML line.
func TestNetworkConfigLines(t *testing.T) {
	doc := "version: 2\nethernets:\n  eth0:\n    addresses:\n    - 10.0.0.5/24\n    - 10.0.0.5/24\n    gateway4: 10.9.0.1\n    routes:\n    - to: 10.8.0.0/16\n      via: 172.16.0.1\n"
	cfg, lines, err := ParseNetworkConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(cfg)
	want := map[string]int{"addresses[1]": 6, "gateway4": 7, "routes[0].via": 10}
	got := map[string]int{}
	for _, e := range unjoinErr(err) {
		fe := e.(*FieldError)
		got[fe.Field] = lines.Line(fe.NIC, fe.Field)
	}
	for f, l := range want {
		if got[f] != l {
			t.Errorf("line of %s = %d, want %d (errors %v)", f, got[f], l, err)
		}
	}
}

func unjoinErr(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func FuzzParseNetworkConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/netconf/*.yaml")
	for _, d := range []string{"testdata/oracle/*.yaml", "testdata/netplan-examples/*.yaml"} {
		more, _ := filepath.Glob(d)
		files = append(files, more...)
	}
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := ParseNetworkConfig(data)
		if err == nil {
			Validate(cfg)
		}
	})
}

// TestNICJSON: the MAC is written as text and read back.
func TestNICJSON(t *testing.T) {
	n := NIC{ID: "lan", MAC: mac("52:54:00:12:34:56"), Addresses: []netip.Prefix{pfx("10.0.2.15/24")}}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"MAC":"52:54:00:12:34:56"`) {
		t.Errorf("json.Marshal(NIC) = %s, want \"MAC\":\"52:54:00:12:34:56\"", b)
	}
	var back NIC
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", b, err)
	}
	if back.MAC.String() != n.MAC.String() || back.ID != n.ID || !slices.Equal(back.Addresses, n.Addresses) {
		t.Errorf("round trip = %+v, want %+v", back, n)
	}
	var none NIC
	if b, _ := json.Marshal(NIC{ID: "x"}); json.Unmarshal(b, &none) != nil || none.MAC != nil || strings.Contains(string(b), "MAC") {
		t.Errorf("NIC without MAC = %s -> %+v, want no MAC", b, none)
	}
	if err := json.Unmarshal([]byte(`{"ID":"x","MAC":"zz"}`), &none); err == nil {
		t.Error(`json.Unmarshal of MAC "zz" = nil, want an error`)
	}
}
