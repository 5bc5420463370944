package agent

import (
	"strings"
	"testing"
)

// TestPlanLocalHostname: cloud-init's OVF datasource reads hostname and
// local-hostname as one setting (hostname is renamed to local-hostname) and
// the later property wins; ovfinit reads them the same way.
func TestPlanLocalHostname(t *testing.T) {
	tests := []struct {
		name     string
		props    []string
		want     string
		wantKey  string
		warnKey  string // a warning naming this key; "" for none
		wantErrs string
	}{
		{"local-hostname alone", []string{"local-hostname", "web1.example.com"}, "web1.example.com", "local-hostname", "", ""},
		{"guestinfo prefix", []string{"guestinfo.local-hostname", "web2"}, "web2", "local-hostname", "", ""},
		{"hostname alone", []string{"hostname", "web3"}, "web3", "hostname", "", ""},
		{"both equal", []string{"hostname", "web4", "local-hostname", "WEB4"}, "WEB4", "local-hostname", "", ""},
		{"local-hostname later wins", []string{"hostname", "ours", "local-hostname", "theirs"}, "theirs", "local-hostname", "hostname", ""},
		{"hostname later wins", []string{"local-hostname", "theirs", "hostname", "ours"}, "ours", "hostname", "local-hostname", ""},
		{"blank local-hostname ignored", []string{"hostname", "web5", "local-hostname", " "}, "web5", "hostname", "", ""},
		{"invalid local-hostname", []string{"local-hostname", "bad_name"}, "", "", "", "property local-hostname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planFrom(t, tt.props...)
			if tt.wantErrs != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrs) {
					t.Fatalf("BuildPlan() = %v, want an error naming %q", err, tt.wantErrs)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildPlan() = %v", err)
			}
			if p.Hostname != tt.want || p.HostnameKey != tt.wantKey {
				t.Errorf("Hostname = %q from %q, want %q from %q", p.Hostname, p.HostnameKey, tt.want, tt.wantKey)
			}
			var warned []string
			for _, w := range p.Warnings {
				warned = append(warned, w.Key)
			}
			if tt.warnKey == "" && len(warned) > 0 || tt.warnKey != "" && (len(warned) != 1 || warned[0] != tt.warnKey) {
				t.Errorf("warnings for %v, want for %q", warned, tt.warnKey)
			}
		})
	}
}

// TestBootLocalHostname: an environment written for cloud-init with only
// local-hostname sets the host name.
func TestBootLocalHostname(t *testing.T) {
	m := newMachine(t)
	if _, _, err := m.boot(envXML("instance-id", "i-1", "local-hostname", "ci-host.example.org")); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if m.hostname != "ci-host" {
		t.Errorf("live host name = %q, want ci-host", m.hostname)
	}
	if got := m.read("etc/hosts"); !strings.Contains(got, "127.0.1.1\tci-host.example.org ci-host") {
		t.Errorf("/etc/hosts = %q, want the 127.0.1.1 line", got)
	}
}
