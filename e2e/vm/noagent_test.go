package vm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNoAgentInitScript(t *testing.T) {
	got := noAgentInitScript(initScript([]string{"run"}))
	for _, want := range []string{"sh -c '/sbin/ifup -a; echo \"status $?\"'", "netdump addr ip -o addr show", `echo "OVFINIT-NET end"`, "*poweroff*) break"} {
		if !strings.Contains(got, want) {
			t.Errorf("noAgentInitScript lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"/bin/ovfinit", "OVFINIT-EXIT $?", "up agent started"} {
		if strings.Contains(got, not) {
			t.Errorf("noAgentInitScript still has %q:\n%s", not, got)
		}
	}
}

func TestParseNetState(t *testing.T) {
	serial := []string{
		"OVFINIT-E2E no agent: ifup -a",
		"OVFINIT-NET ifup status 0",
		"OVFINIT-NET addr 2: eth0    inet 10.0.2.15/24 scope global eth0",
		"random kernel line",
		"OVFINIT-NET file:/etc/network/interfaces source /etc/network/interfaces.d/*",
		"OVFINIT-NET route default via 10.0.2.2 dev eth0\r",
	}
	got, done := ParseNetState(serial)
	if done {
		t.Errorf("ParseNetState(no end line) done = true, want false")
	}
	want := NetState{
		"ifup":                         {"status 0"},
		"addr":                         {"2: eth0    inet 10.0.2.15/24 scope global eth0"},
		"file:/etc/network/interfaces": {"source /etc/network/interfaces.d/*"},
		"route":                        {"default via 10.0.2.2 dev eth0"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseNetState (-want +got):\n%s", diff)
	}
	if _, done := ParseNetState(append(serial, "OVFINIT-NET end")); !done {
		t.Errorf("ParseNetState(with end line) done = false, want true")
	}
}
