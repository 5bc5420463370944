package ovfenv

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

func noGuestinfo(string) (string, bool, error) { return "", false, errors.New("not VMware") }

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// transport returns the named transport of DefaultTransports.
func transport(t *testing.T, o TransportOptions, name string) Transport {
	t.Helper()
	for _, tr := range DefaultTransports(o) {
		if tr.Name == name {
			return tr
		}
	}
	t.Fatalf("no transport %q", name)
	return Transport{}
}

func TestFwCfg(t *testing.T) {
	t.Run("present", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, FwCfgPath), sampleEnv)
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound}
		src, err := transport(t, TransportOptions{Root: root, Run: run, Guestinfo: noGuestinfo}, TransportFwCfg).Probe(t.Context())
		if err != nil || !bytes.Equal(src.Data, sampleEnv) {
			t.Fatalf("Probe() = %+v, %v; want the document", src, err)
		}
		if len(run.Lines()) != 0 {
			t.Errorf("ran %q, want no modprobe when the directory exists", run.Lines())
		}
	})
	t.Run("module loaded on demand", func(t *testing.T) {
		root := t.TempDir()
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){
			"modprobe qemu_fw_cfg": func() ([]byte, error) {
				writeFile(t, filepath.Join(root, FwCfgPath), sampleEnv)
				return nil, nil
			},
		}}
		src, err := transport(t, TransportOptions{Root: root, Run: run}, TransportFwCfg).Probe(t.Context())
		if err != nil || !bytes.Equal(src.Data, sampleEnv) {
			t.Fatalf("Probe() = %+v, %v; want the document", src, err)
		}
	})
	t.Run("no module", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound}
		_, err := transport(t, TransportOptions{Root: t.TempDir(), Run: run}, TransportFwCfg).Probe(t.Context())
		if !errors.Is(err, ErrNoEnvironment) || !strings.Contains(err.Error(), "modprobe qemu_fw_cfg failed") {
			t.Errorf("Probe() error = %v, want ErrNoEnvironment saying modprobe failed", err)
		}
	})
	t.Run("loaded, no item", func(t *testing.T) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, fwCfgDir, "by_name"), 0o755)
		_, err := transport(t, TransportOptions{Root: root, Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}}, TransportFwCfg).Probe(t.Context())
		if !errors.Is(err, ErrNoEnvironment) {
			t.Errorf("Probe() error = %v, want ErrNoEnvironment", err)
		}
	})
}

func TestSeed(t *testing.T) {
	root := t.TempDir()
	o := TransportOptions{Root: root, Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}}
	if _, err := transport(t, o, TransportSeed).Probe(t.Context()); !errors.Is(err, ErrNoEnvironment) {
		t.Errorf("Probe() with no seed: error = %v, want ErrNoEnvironment", err)
	}
	writeFile(t, filepath.Join(root, SeedPath), sampleEnv)
	src, err := transport(t, o, TransportSeed).Probe(t.Context())
	if err != nil || !bytes.Equal(src.Data, sampleEnv) || src.Transport != TransportSeed {
		t.Errorf("Probe() = %+v, %v; want the seed", src, err)
	}
}

func gzb64(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestGuestinfo(t *testing.T) {
	vars := map[string]string{
		"guestinfo.ovfEnv":                           string(sampleEnv),
		"guestinfo.ovfinit.user":                     "alice",
		"guestinfo.ovfinit.script":                   gzb64("print('hi')"),
		"guestinfo.ovfinit.script.encoding":          "gzip+base64",
		"guestinfo.ovfinit.net.address":              base64.StdEncoding.EncodeToString([]byte("10.0.0.5/24")),
		"guestinfo.ovfinit.net.address.encoding":     "base64",
		"guestinfo.ovfinit.callback.url":             "null",
		"guestinfo.ovfinit.callback.url.encoding":    "",
		"guestinfo.ovfinit.net.gateway.not-a-key-at": "x",
	}
	native := func(key string) (string, bool, error) {
		v, ok := vars[key]
		return v, ok && !IsUnset(v), nil
	}
	wantExtra := []Property{
		{Key: "ovfinit.net.address", Value: "10.0.0.5/24"},
		{Key: "ovfinit.user", Value: "alice"},
		{Key: "ovfinit.script", Value: "print('hi')"},
	}
	sortProps := func(p []Property) map[string]string {
		m := map[string]string{}
		for _, x := range p {
			m[x.Key] = x.Value
		}
		return m
	}

	t.Run("native", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound}
		src, err := transport(t, TransportOptions{Run: run, Guestinfo: native}, TransportGuestinfo).Probe(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src.Data, sampleEnv) {
			t.Errorf("Data = %q, want the ovfEnv document", src.Data)
		}
		if diff := cmp.Diff(sortProps(wantExtra), sortProps(src.Extra)); diff != "" {
			t.Errorf("Extra mismatch (-want +got):\n%s", diff)
		}
		if len(run.Lines()) != 0 {
			t.Errorf("ran %q, want no tools when the native channel works", run.Lines())
		}
		if !strings.Contains(src.Location, "via rpc") {
			t.Errorf("Location = %q, want it to name the rpc channel", src.Location)
		}
		// The direct keys win over the document's properties.
		env, err := src.Environment()
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := env.Property("hostname"); v != "h1" {
			t.Errorf("Property(hostname) = %q, want h1 from the document", v)
		}
		if v, _ := env.Property("ovfinit.user"); v != "alice" {
			t.Errorf("Property(ovfinit.user) = %q, want alice from guestinfo", v)
		}
	})
	t.Run("vmware-rpctool fallback", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){}}
		for _, k := range append(Keys(), Key{Name: "x"}) {
			for _, suffix := range []string{"", ".encoding"} {
				key := GuestinfoPrefix + k.Name + suffix
				run.Answers["vmware-rpctool info-get "+key] = func() ([]byte, error) {
					if v, ok := vars[key]; ok {
						return []byte(v + "\n"), nil
					}
					return []byte("No value found\n"), errors.New("exit status 1")
				}
			}
		}
		run.Answers["vmware-rpctool info-get guestinfo.ovfEnv"] = func() ([]byte, error) { return []byte(vars["guestinfo.ovfEnv"] + "\n"), nil }
		src, err := transport(t, TransportOptions{Run: run, Guestinfo: noGuestinfo}, TransportGuestinfo).Probe(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src.Data, bytes.TrimSpace(sampleEnv)) || !strings.Contains(src.Location, "vmware-rpctool") {
			t.Errorf("Probe() = %q from %q, want the document via vmware-rpctool", src.Data, src.Location)
		}
		if diff := cmp.Diff(sortProps(wantExtra), sortProps(src.Extra)); diff != "" {
			t.Errorf("Extra mismatch (-want +got):\n%s", diff)
		}
		for _, c := range run.Lines() {
			if strings.HasPrefix(c, "vmtoolsd") {
				t.Errorf("ran %q after vmware-rpctool answered", c)
			}
		}
	})
	t.Run("vmtoolsd fallback", func(t *testing.T) {
		run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){}}
		for _, k := range Keys() {
			for _, suffix := range []string{"", ".encoding"} {
				run.Answers["vmtoolsd --cmd info-get "+GuestinfoPrefix+k.Name+suffix] = func() ([]byte, error) {
					return []byte("No value found\n"), errors.New("exit status 1")
				}
			}
		}
		run.Answers["vmtoolsd --cmd info-get guestinfo.ovfEnv"] = func() ([]byte, error) { return sampleEnv, nil }
		src, err := transport(t, TransportOptions{Run: run, Guestinfo: noGuestinfo}, TransportGuestinfo).Probe(t.Context())
		if err != nil || !bytes.Equal(src.Data, bytes.TrimSpace(sampleEnv)) || len(src.Extra) != 0 {
			t.Fatalf("Probe() = %+v, %v; want the document via vmtoolsd", src, err)
		}
	})
	t.Run("no channel", func(t *testing.T) {
		_, err := transport(t, TransportOptions{Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}, Guestinfo: noGuestinfo}, TransportGuestinfo).Probe(t.Context())
		if !errors.Is(err, ErrNoEnvironment) || !strings.Contains(err.Error(), "not VMware") || !strings.Contains(err.Error(), "vmtoolsd") {
			t.Errorf("Probe() error = %v, want ErrNoEnvironment naming every channel", err)
		}
	})
	t.Run("bad encoding", func(t *testing.T) {
		bad := func(key string) (string, bool, error) {
			switch key {
			case "guestinfo.ovfinit.user":
				return "!!", true, nil
			case "guestinfo.ovfinit.user.encoding":
				return "base64", true, nil
			}
			return "", false, nil
		}
		_, err := transport(t, TransportOptions{Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}, Guestinfo: bad}, TransportGuestinfo).Probe(t.Context())
		if err == nil || errors.Is(err, ErrNoEnvironment) || !strings.Contains(err.Error(), "guestinfo.ovfinit.user: encoding base64") {
			t.Errorf("Probe() error = %v, want one naming guestinfo.ovfinit.user", err)
		}
	})
}

func TestDecodeGuestinfo(t *testing.T) {
	tests := []struct{ v, enc, want, err string }{
		{"plain", "", "plain", ""},
		{base64.StdEncoding.EncodeToString([]byte("a\nb")), "base64", "a\nb", ""},
		{gzb64("zipped"), "gzip+base64", "zipped", ""},
		{gzb64("zipped"), "gz+b64", "zipped", ""},
		{"x", "rot13", "", `unknown encoding "rot13"`},
		{base64.StdEncoding.EncodeToString([]byte("not gzip")), "gzip+base64", "", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.enc+"/"+tt.want, func(t *testing.T) {
			got, err := decodeGuestinfo(tt.v, tt.enc)
			if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("decodeGuestinfo(%q, %q) = %q, %v, want %q, error containing %q", tt.v, tt.enc, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestVirtualBox(t *testing.T) {
	argv := "VBoxControl --nologo guestproperty get /ovfinit/ovfEnv"
	tests := []struct {
		name    string
		out     string
		err     error
		want    string
		absent  bool
		wantErr string
	}{
		{name: "set", out: "Value: " + string(sampleEnv), want: strings.TrimSpace(string(sampleEnv))},
		{name: "not set", out: "No value set!\n", err: errors.New("exit status 2"), absent: true},
		{name: "no VBoxControl", absent: true},
		{name: "odd output", out: "Hello\n", wantErr: "unexpected output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &cmdrun.Fake{Unknown: cmdrun.NotFound, Answers: map[string]func() ([]byte, error){}}
			if tt.out != "" {
				run.Answers[argv] = func() ([]byte, error) { return []byte(tt.out), tt.err }
			}
			src, err := transport(t, TransportOptions{Run: run}, TransportVirtualBox).Probe(t.Context())
			switch {
			case tt.absent:
				if !errors.Is(err, ErrNoEnvironment) {
					t.Errorf("Probe() = %+v, %v; want ErrNoEnvironment", src, err)
				}
			case tt.wantErr != "":
				if err == nil || errors.Is(err, ErrNoEnvironment) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Probe() error = %v, want %q", err, tt.wantErr)
				}
			default:
				if err != nil || string(src.Data) != tt.want {
					t.Errorf("Probe() = %+v, %v; want %q", src, err, tt.want)
				}
			}
		})
	}
}

// kvpPool builds a pool file the way hv_kvp_daemon writes it.
func kvpPool(kv ...string) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		rec := make([]byte, kvpKeySize+kvpValueSize)
		copy(rec, kv[i])
		copy(rec[kvpKeySize:], kv[i+1])
		b = append(b, rec...)
	}
	return b
}

func TestHyperVKVP(t *testing.T) {
	doc := string(sampleEnv)
	half := len(doc) / 2
	tests := []struct {
		name    string
		pools   map[int][]byte
		want    string
		absent  bool
		wantErr string
	}{
		{name: "one value", pools: map[int][]byte{0: kvpPool("HostName", "hv1", KVPKey, doc)}, want: doc},
		{name: "chunks", pools: map[int][]byte{0: kvpPool(KVPKey+".1", doc[half:], KVPKey+".0", doc[:half], KVPKey+".3", "after a gap")}, want: doc},
		{name: "in pool 3", pools: map[int][]byte{0: kvpPool("a", "b"), 3: kvpPool(KVPKey, doc)}, want: doc},
		{name: "no key", pools: map[int][]byte{0: kvpPool("a", "b")}, absent: true},
		{name: "no pools", absent: true},
		{name: "torn pool", pools: map[int][]byte{0: kvpPool("a", "b")[:100]}, wantErr: "not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for i, data := range tt.pools {
				writeFile(t, filepath.Join(root, KVPPoolDir, fmt.Sprintf(".kvp_pool_%d", i)), data)
			}
			src, err := transport(t, TransportOptions{Root: root, Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}}, TransportHyperV).Probe(t.Context())
			switch {
			case tt.absent:
				if !errors.Is(err, ErrNoEnvironment) {
					t.Errorf("Probe() = %+v, %v; want ErrNoEnvironment", src, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Probe() error = %v, want %q", err, tt.wantErr)
				}
			default:
				if err != nil || string(src.Data) != tt.want {
					t.Errorf("Probe() = %+v, %v; want %q", src, err, tt.want)
				}
			}
		})
	}
}

func fixed(name string, src *Source, err error) Transport {
	return Transport{Name: name, Probe: func(ctx context.Context) (*Source, error) {
		if src != nil {
			c := *src
			return &c, nil
		}
		return nil, err
	}}
}

func TestProber(t *testing.T) {
	absent := fmt.Errorf("%w: nothing here", ErrNoEnvironment)
	doc := func(loc string) *Source { return &Source{Location: loc, Data: sampleEnv} }
	tests := []struct {
		name       string
		transports []Transport
		wantName   string
		wantTried  []string // transport=result
		wantErr    string
		wantIs     error
	}{
		{
			name:       "first in order wins",
			transports: []Transport{fixed("a", nil, absent), fixed("b", doc("b1"), nil), fixed("c", doc("c1"), nil)},
			wantName:   "b",
			wantTried:  []string{"a=absent", "b=found", "c=not used"},
		},
		{
			name:       "a broken transport fails fast",
			transports: []Transport{fixed("a", nil, absent), fixed("b", nil, errors.New("damaged"))},
			wantErr:    "b: damaged",
		},
		{
			name:       "a broken transport after the winner is reported, not fatal",
			transports: []Transport{fixed("a", doc("a1"), nil), fixed("b", nil, errors.New("damaged"))},
			wantName:   "a",
			wantTried:  []string{"a=found", "b=error"},
		},
		{
			name:       "nothing anywhere",
			transports: []Transport{fixed("a", nil, absent), fixed("b", nil, absent)},
			wantErr:    "a: " + absent.Error(),
			wantIs:     ErrNoEnvironment,
		},
		{
			name: "a transport that hangs times out",
			transports: []Transport{{Name: "slow", Timeout: 10 * time.Millisecond, Probe: func(ctx context.Context) (*Source, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}}, fixed("b", doc("b1"), nil)},
			wantName:  "b",
			wantTried: []string{"slow=absent", "b=found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Prober{Transports: tt.transports, Log: testLog(t)}
			src, err := p.Probe(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Probe() = %+v, %v; want an error containing %q", src, err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("Probe() error %v does not wrap %v", err, tt.wantIs)
				}
				if tt.wantIs == nil && errors.Is(err, ErrNoEnvironment) {
					t.Errorf("Probe() error %v wraps ErrNoEnvironment; a broken transport is not an absent one", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Transport != tt.wantName {
				t.Errorf("Probe() transport = %q, want %q", src.Transport, tt.wantName)
			}
			var tried []string
			for _, a := range src.Tried {
				tried = append(tried, a.Transport+"="+a.Result)
			}
			if diff := cmp.Diff(tt.wantTried, tried); diff != "" {
				t.Errorf("Tried mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProberWaits: a transport that has nothing yet is polled again until
// it has; a Once transport is probed in the first round only.
func TestProberWaits(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	count := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		calls[name]++
		return calls[name]
	}
	p := &Prober{
		Wait: time.Minute,
		Poll: time.Millisecond,
		Log:  testLog(t),
		Transports: []Transport{
			{Name: "late", Probe: func(ctx context.Context) (*Source, error) {
				if count("late") < 3 {
					return nil, ErrNoEnvironment
				}
				return &Source{Data: sampleEnv}, nil
			}},
			{Name: "once", Once: true, Probe: func(ctx context.Context) (*Source, error) {
				count("once")
				return nil, ErrNoEnvironment
			}},
		},
	}
	src, err := p.Probe(t.Context())
	if err != nil || src.Transport != "late" {
		t.Fatalf("Probe() = %+v, %v; want the late transport", src, err)
	}
	if calls["late"] != 3 || calls["once"] != 1 {
		t.Errorf("probe counts = %v, want late 3, once 1", calls)
	}
}

// TestProberWaitShorterThanPoll: a Wait shorter than the poll interval
// still gets a second look, at the deadline. The old Prober gave up as soon
// as the next poll would pass the deadline: with the default 500 ms poll,
// `run --wait-env 400ms` never looked twice, and any wait ended up to one
// poll early.
func TestProberWaitShorterThanPoll(t *testing.T) {
	var mu sync.Mutex
	n := 0
	p := &Prober{
		Wait: time.Second,
		Poll: time.Hour,
		Log:  testLog(t),
		Transports: []Transport{{Name: "late", Probe: func(ctx context.Context) (*Source, error) {
			mu.Lock()
			defer mu.Unlock()
			if n++; n < 2 {
				return nil, ErrNoEnvironment
			}
			return &Source{Data: sampleEnv}, nil
		}}},
	}
	src, err := p.Probe(t.Context())
	if err != nil || src.Transport != "late" {
		t.Fatalf("Probe() = %+v, %v; want the second look to find it", src, err)
	}
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
