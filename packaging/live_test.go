package packaging

import (
	"errors"
	"testing"
)

func TestLiveInit(t *testing.T) {
	tests := []struct {
		platform string
		want     Init
	}{
		{"linux-systemd", Systemd},
		{"linux-openrc", OpenRC},
		{"unix-systemv", SysV},
		{"freebsd", FreeBSD},
		{"windows-service", Windows},
		{"darwin-launchd", ""},
		{"linux-upstart", ""},
		{"aix-ssrc", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := LiveInit(tt.platform)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrUnsupportedInit) {
			t.Errorf("LiveInit(%q) = %q, %v; want %q", tt.platform, got, err, tt.want)
		}
	}
}

func TestWindowsRecovery(t *testing.T) {
	actions, reset := WindowsRecovery()
	if len(actions) != 3 || reset != 86400 {
		t.Fatalf("WindowsRecovery() = %v, %d; want three actions and a one-day reset", actions, reset)
	}
	for i, a := range actions {
		if !a.Restart || (i > 0 && a.DelayMS <= actions[i-1].DelayMS) {
			t.Errorf("action %d = %+v: want restarts with growing delays", i, a)
		}
	}
}

// TestLiveConfig: kardianos gets our definitions verbatim, and its template
// engine leaves them unchanged (they contain no "{{").
func TestLiveConfig(t *testing.T) {
	s := Service{Bin: "/usr/local/sbin/ovfinit", Args: []string{"--wait-env", "5m"}}
	c := LiveConfig(s)
	if c.Option["SystemdScript"] != s.SystemdUnit() || c.Option["OpenRCScript"] != s.OpenRCScript() {
		t.Error("LiveConfig does not pass our systemd unit and OpenRC script")
	}
	if c.Executable != s.Bin || len(c.Arguments) != 3 || c.Arguments[0] != "run" {
		t.Errorf("LiveConfig: Executable %q, Arguments %q; want %s run --wait-env 5m", c.Executable, c.Arguments, s.Bin)
	}
}
