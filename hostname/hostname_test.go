package hostname

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHosts(t *testing.T) {
	tests := []struct{ in, fqdn, short, want string }{
		{"", "h", "h", "127.0.0.1\tlocalhost\n127.0.1.1\th\n"},
		{"127.0.0.1 localhost\n127.0.1.1 old\n::1 localhost\n", "a.b", "a", "127.0.0.1 localhost\n127.0.1.1\ta.b a\n::1 localhost\n"},
		{"127.0.0.1 localhost\n127.0.1.1 x\n127.0.1.1 y\n", "h", "h", "127.0.0.1 localhost\n127.0.1.1\th\n"},
	}
	for _, tt := range tests {
		if got := string(Hosts([]byte(tt.in), tt.fqdn, tt.short)); got != tt.want {
			t.Errorf("Hosts(%q, %q) = %q, want %q", tt.in, tt.fqdn, got, tt.want)
		}
	}
}

func TestRCConf(t *testing.T) {
	tests := []struct{ in, fqdn, want string }{
		{"", "a.b", "hostname=\"a.b\"\n"},
		{"sshd_enable=\"YES\"\n", "a.b", "sshd_enable=\"YES\"\nhostname=\"a.b\"\n"},
		{"hostname=\"old\"\nifconfig_vtnet0=\"DHCP\"\n  hostname=\"older\"\n", "new", "hostname=\"new\"\nifconfig_vtnet0=\"DHCP\"\n"},
	}
	for _, tt := range tests {
		if got := string(RCConf([]byte(tt.in), tt.fqdn)); got != tt.want {
			t.Errorf("RCConf(%q, %q) = %q, want %q", tt.in, tt.fqdn, got, tt.want)
		}
	}
}

func TestCheckNetBIOS(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"web1", true},
		{"WEB-01", true},
		{"abcdefghijklmno", true},   // 15
		{"abcdefghijklmnop", false}, // 16
		{"web_1", false},
		{"web 1", false},
		{"-web", false},
		{"web-", false},
		{"12345", false},
		{"wéb", false},
		{"", false},
	} {
		if err := CheckNetBIOS(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckNetBIOS(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	if err := Check("windows", "averyveryverylongname.example.com"); err == nil || !strings.Contains(err.Error(), "15") {
		t.Errorf("Check(windows, a 21-character first label) = %v, want the 15-character limit", err)
	}
	if err := Check("linux", "averyveryverylongname.example.com"); err != nil {
		t.Errorf("Check(linux, ...) = %v, want nil: the NetBIOS rules are Windows'", err)
	}
}

// Set writes each OS's files under a root, without root privileges, and
// calls SetLive only when live.
func TestSet(t *testing.T) {
	for _, tt := range []struct {
		os    string
		live  bool
		files map[string]string
		calls []string
		want  Result
	}{
		{"linux", false, map[string]string{
			"etc/hostname": "web1\n",
			"etc/hosts":    "127.0.0.1 localhost\n127.0.1.1\tweb1.example.com web1\n",
		}, nil, Result{Files: []string{"/etc/hostname", "/etc/hosts"}}},
		{"linux", true, nil, []string{"web1.example.com web1"}, Result{Files: []string{"/etc/hostname", "/etc/hosts"}}},
		{"freebsd", false, map[string]string{
			"etc/rc.conf": "sshd_enable=\"YES\"\nhostname=\"web1.example.com\"\n",
			"etc/hosts":   "127.0.0.1 localhost\n127.0.1.1\tweb1.example.com web1\n",
		}, nil, Result{Files: []string{"/etc/rc.conf", "/etc/hosts"}}},
		{"windows", false, nil, nil, Result{}},
		{"windows", true, nil, []string{"web1.example.com web1"}, Result{RebootPending: true}},
	} {
		t.Run(tt.os+map[bool]string{true: " live", false: " offline"}[tt.live], func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
			if tt.os == "freebsd" {
				os.WriteFile(filepath.Join(root, "etc", "rc.conf"), []byte("sshd_enable=\"YES\"\nhostname=\"old\"\n"), 0o644)
			}
			var calls []string
			res, err := Set(context.Background(), Options{
				Root: root, Name: "web1.example.com", Live: tt.live, OS: tt.os,
				SetLive: func(_ context.Context, fqdn, short string) (bool, error) {
					calls = append(calls, fqdn+" "+short)
					return tt.os == "windows", nil
				},
			})
			if err != nil {
				t.Fatalf("Set() = %v", err)
			}
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("Set() result mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.calls, calls); diff != "" {
				t.Errorf("SetLive calls mismatch (-want +got):\n%s", diff)
			}
			for name, want := range tt.files {
				b, err := os.ReadFile(filepath.Join(root, name))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", name, b, err, want)
				}
			}
			if tt.os == "windows" {
				if _, err := os.Stat(filepath.Join(root, "etc", "hostname")); err == nil {
					t.Error("etc/hostname written for Windows")
				}
			}
		})
	}
}

// A Windows computer name is pending until the running name is the one
// asked for (any case: NetBIOS names are not case-sensitive); on other OSes
// the name is set at once and never pending.
func TestStillPending(t *testing.T) {
	for _, tt := range []struct {
		goos, name, running string
		want                bool
	}{
		{"windows", "win1.example.com", "WIN-OLD", true},
		{"windows", "win1.example.com", "WIN1", false},
		{"windows", "win1", "win1", false},
		{"windows", "", "WIN-OLD", false},
		{"linux", "web1.example.com", "localhost", false},
		{"freebsd", "web1.example.com", "old", false},
	} {
		if got := StillPending(tt.goos, tt.name, tt.running); got != tt.want {
			t.Errorf("StillPending(%q, %q, %q) = %v, want %v", tt.goos, tt.name, tt.running, got, tt.want)
		}
	}
}
