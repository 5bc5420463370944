package scripts

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/ovfinit/ovfinit/internal/freq"
)

// Marker is the first line that makes cloud-init user-data a Starlark
// script for ovfinit (any other user-data is left to cloud-init).
const Marker = "#!starlark"

// IsStarlark reports whether src's first line is Marker: user-data that is
// a script for ovfinit.
func IsStarlark(src []byte) bool {
	line, _, _ := bytes.Cut(src, []byte("\n"))
	return string(bytes.TrimSpace(line)) == Marker
}

// Frequencies a script may declare: the agent's steps' (internal/freq).
const (
	PerInstance = freq.PerInstance // the default
	PerBoot     = freq.PerBoot
	Once        = freq.Once
)

// Header is what a script declares about itself in the comment lines at its
// top, before the first line of code:
//
//	#!starlark
//	# frequency: per-boot
//	# optional: true
type Header struct {
	Frequency freq.Frequency // PerInstance, PerBoot or Once
	Optional  bool           // a failure is logged and the next script runs
}

// ParseHeader reads the directives of the leading comment block. Unknown
// "# word: value" lines are ordinary comments; a known directive with a bad
// value is a *ScriptError at its line.
func ParseHeader(name string, src []byte) (Header, error) {
	h := Header{Frequency: PerInstance}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, len(src)+1)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if !strings.HasPrefix(text, "#") {
			break
		}
		key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(text, "#")), ":")
		if !ok {
			continue
		}
		key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
		bad := func(want string) error {
			return &ScriptError{Script: name, Pos: fmt.Sprintf("%s:%d:1", name, line), Msg: fmt.Sprintf("%s: %q is not %s", key, value, want)}
		}
		switch key {
		case "frequency":
			f, ok := freq.Parse(value)
			if !ok {
				return h, bad("per-instance, per-boot or once")
			}
			h.Frequency = f
		case "optional":
			switch strings.ToLower(value) {
			case "true", "yes":
				h.Optional = true
			case "false", "no":
				h.Optional = false
			default:
				return h, bad("true or false")
			}
		}
	}
	return h, nil
}
