package sshd

import (
	"errors"
	"testing"
)

func TestStartupDropChance(t *testing.T) {
	l := StartupLimits{Start: 10, Rate: 30, Full: 100}
	for _, tt := range []struct{ open, want int }{{0, 0}, {9, 0}, {10, 30}, {55, 65}, {99, 99}, {100, 100}, {500, 100}} {
		if got := l.dropChance(tt.open); got != tt.want {
			t.Errorf("dropChance(%d) with 10:30:100 = %d, want %d", tt.open, got, tt.want)
		}
	}
	// Random early drop: refused when the draw is under the chance.
	st := newStartups(StartupLimits{Start: 1, Rate: 50, Full: 3, PerSource: 10})
	draw := 0
	st.chance = func(int) int { return draw }
	if _, err := st.admit("192.0.2.1"); err != nil {
		t.Fatalf("first connection refused: %v", err)
	}
	draw = 49 // chance 50 with 1 open
	if _, err := st.admit("192.0.2.2"); !errors.Is(err, errStartupsDropped) {
		t.Errorf("admit with draw 49 < chance 50 = %v, want dropped", err)
	}
	draw = 50
	release, err := st.admit("192.0.2.3")
	if err != nil {
		t.Fatalf("admit with draw 50 >= chance 50 = %v, want admitted", err)
	}
	draw = 99 // chance 75 with 2 open
	if _, err := st.admit("192.0.2.4"); err != nil {
		t.Errorf("admit with draw 99 >= chance 75 = %v, want admitted", err)
	}
	if _, err := st.admit("192.0.2.5"); !errors.Is(err, errStartupsFull) {
		t.Errorf("admit with 3 open (full 3) = %v, want full", err)
	}
	release()
	release() // idempotent
	if n := st.open(); n != 2 {
		t.Errorf("open() after one release = %d, want 2", n)
	}
	// IPv6 sources count per /64.
	if sourceKey("2001:db8::1") != sourceKey("2001:db8::ffff:1") || sourceKey("2001:db8::1") == sourceKey("2001:db8:0:1::1") {
		t.Errorf("sourceKey does not group IPv6 addresses by /64")
	}
}

func TestParseMaxStartups(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want StartupLimits
		ok   bool
	}{
		{"10:30:100", StartupLimits{Start: 10, Rate: 30, Full: 100}, true},
		{"7", StartupLimits{Start: 7, Rate: 100, Full: 7}, true},
		{" 5 : 100 : 5 ", StartupLimits{Start: 5, Rate: 100, Full: 5}, true},
		{"30:30:10", StartupLimits{}, false},
		{"10:101:100", StartupLimits{}, false},
		{"10:30", StartupLimits{}, false},
		{"0", StartupLimits{}, false},
		{"x:30:100", StartupLimits{}, false},
		{"", StartupLimits{}, false},
	} {
		got, err := ParseMaxStartups(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMaxStartups(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
