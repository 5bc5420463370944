package scripts

import (
	"errors"
	"testing"
)

// FuzzParseHeader: any input gives a known frequency, or a *ScriptError.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"", "#!starlark\n# frequency: per-boot\n# optional: yes\nx = 1\n", "# frequency:\n", "#:\n#optional:maybe", "\n\n# FREQUENCY : once"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		h, err := ParseHeader("f.star", src)
		var se *ScriptError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("ParseHeader(%q) = %v (%T), want a *ScriptError", src, err, err)
		}
		if err == nil && h.Frequency != PerInstance && h.Frequency != PerBoot && h.Frequency != Once {
			t.Fatalf("ParseHeader(%q).Frequency = %q", src, h.Frequency)
		}
	})
}
