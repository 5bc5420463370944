package freq

import "testing"

func TestParseString(t *testing.T) {
	for _, f := range []Frequency{PerBoot, PerInstance, Once} {
		got, ok := Parse(f.String())
		if !ok || got != f {
			t.Errorf("Parse(%q) = %v, %v; want %v", f.String(), got, ok, f)
		}
	}
	for _, s := range []string{"", "weekly", "Per-Boot", "Frequency(1)"} {
		if f, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %v, want not ok", s, f)
		}
	}
}
