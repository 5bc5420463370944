package ovfenv

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeRegistry is a KVP registry key: string values, and names whose
// value has another type (a DWORD) or cannot be read.
type fakeRegistry struct {
	values   map[string]string
	dwords   []string
	broken   string
	listFail error
}

var errFakeWrongType = errors.New("unexpected key value type")

func (f *fakeRegistry) ReadValueNames(n int) ([]string, error) {
	if f.listFail != nil {
		return nil, f.listFail
	}
	names := slices.Collect(maps.Keys(f.values))
	names = append(names, f.dwords...)
	if f.broken != "" {
		names = append(names, f.broken)
	}
	slices.Sort(names) // the registry's order, not the chunks'
	return names, nil
}

func (f *fakeRegistry) GetStringValue(name string) (string, uint32, error) {
	if slices.Contains(f.dwords, name) {
		return "", 4, errFakeWrongType
	}
	if name == f.broken {
		return "", 0, errors.New("Access is denied.")
	}
	return f.values[name], 1, nil
}

func TestKVPRegistry(t *testing.T) {
	doc := string(sampleEnv)
	// Chunks of 2048 bytes, as a host script splits a long document; more
	// than ten, so a lexical order (0, 1, 10, 11, 2) would scramble them.
	long := strings.Repeat("<!-- padding padding padding -->", 900) + doc
	chunks := map[string]string{"HostName": "HV-HOST", "VirtualMachineName": "web"}
	n := 0
	for ; n*2048 < len(long); n++ {
		chunks[KVPKey+"."+strconv.Itoa(n)] = long[n*2048 : min((n+1)*2048, len(long))]
	}
	if n <= 10 {
		t.Fatalf("%d chunks, want more than 10", n)
	}
	tests := []struct {
		name     string
		reg      *fakeRegistry
		want     string
		wantFrom string
		absent   bool
		wantErr  string
	}{
		{name: "one value", reg: &fakeRegistry{values: map[string]string{KVPKey: doc, "HostName": "h"}, dwords: []string{"Flags"}}, want: doc, wantFrom: KVPKey},
		{name: "chunks out of order", reg: &fakeRegistry{values: chunks}, want: long, wantFrom: KVPKey + ".0.." + strconv.Itoa(n-1)},
		{name: "chunks with a gap", reg: &fakeRegistry{values: map[string]string{KVPKey + ".0": "a", KVPKey + ".1": "b", KVPKey + ".3": "d"}}, want: "ab", wantFrom: KVPKey + ".0..1"},
		{name: "unset value, chunks", reg: &fakeRegistry{values: map[string]string{KVPKey: "", KVPKey + ".0": "x"}}, want: "x", wantFrom: KVPKey + ".0..0"},
		{name: "no key", reg: &fakeRegistry{values: map[string]string{"HostName": "h"}}, absent: true},
		{name: "unreadable value", reg: &fakeRegistry{values: map[string]string{KVPKey: doc}, broken: "Secret"}, wantErr: `Parameters\Secret: Access is denied.`},
		{name: "unlistable key", reg: &fakeRegistry{listFail: errors.New("Access is denied.")}, wantErr: "listing the values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := readKVPValues(tt.reg, func(err error) bool { return errors.Is(err, errFakeWrongType) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readKVPValues() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readKVPValues() = %v", err)
			}
			if _, ok := m["Flags"]; ok {
				t.Errorf("readKVPValues() kept the DWORD value Flags")
			}
			v, from, ok := kvpValue(m)
			if tt.absent {
				if ok {
					t.Errorf("kvpValue() = %q from %s, want none", v, from)
				}
				return
			}
			if !ok || from != tt.wantFrom {
				t.Errorf("kvpValue() from %q, ok %v; want from %q", from, ok, tt.wantFrom)
			}
			if v != tt.want {
				t.Errorf("kvpValue() differs:\n%s", cmp.Diff(tt.want, v))
			}
		})
	}
	// Through the transport: the registry (the KVP seam) comes before the
	// pool files on the VM itself.
	src, err := probeKVP(TransportOptions{Root: "/", KVP: func() (map[string]string, error) { return chunks, nil }})
	if err != nil || string(src.Data) != long || !strings.HasPrefix(src.Location, "registry ") {
		t.Errorf("probeKVP(registry) = %v, %v; want the joined chunks from the registry", src, err)
	}
}
