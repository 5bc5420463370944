package agent

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
)

// Script properties (ovfenv/keys_scripts.go describes each).
const (
	PropScriptList       = "ovfinit.scripts"
	PropUserData         = "user-data"
	PropScriptMaxSteps   = "ovfinit.script.max-steps"
	PropScriptTimeout    = "ovfinit.script.timeout"
	PropScriptAllowWhile = "ovfinit.script.allow-while"
	PropScriptHTTP       = "ovfinit.script.http"
)

// ScriptPlan is what the environment says about scripts.
type ScriptPlan struct {
	Script   []byte   // ovfinit.script, decoded; nil: none
	UserData []byte   // user-data when it starts with scripts.Marker; nil: none
	Image    []string // ovfinit.scripts: image scripts to run, in order; nil: all of them
	MaxSteps uint64
	Timeout  time.Duration
	Dialect  scripts.Dialect
}

func planScript(r *propReader, p *Plan) {
	s := &p.Scripts
	s.MaxSteps, s.Timeout = scripts.DefaultMaxSteps, scripts.DefaultTimeout
	if v, ok := r.get(PropScriptAllowWhile); ok {
		b, err := ovfenv.ParseBool(v)
		if err != nil {
			r.bad(PropScriptAllowWhile, err)
		}
		s.Dialect.AllowWhile = b
	}
	if v, ok := r.get(PropScriptHTTP); ok {
		b, err := ovfenv.ParseBool(v)
		if err != nil {
			r.bad(PropScriptHTTP, err)
		}
		s.Dialect.HTTP = b
	}
	if v, ok := r.get(PropScriptMaxSteps); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1000 {
			r.bad(PropScriptMaxSteps, fmt.Errorf("want a whole number of at least 1000, got %q", v))
		} else {
			s.MaxSteps = n
		}
	}
	if v, ok := r.get(PropScriptTimeout); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 24*3600 {
			r.bad(PropScriptTimeout, fmt.Errorf("want a number of seconds from 1 to 86400, got %q", v))
		} else {
			s.Timeout = time.Duration(n) * time.Second
		}
	}
	if v, ok := r.get(PropScriptList); ok {
		for _, name := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r' }) {
			n, err := imageScriptName(name)
			if err != nil {
				r.bad(PropScriptList, err)
				continue
			}
			s.Image = append(s.Image, n)
		}
	}
	if v, ok := r.get(PropScript); ok {
		src, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			r.bad(PropScript, fmt.Errorf("not base64: %v", err))
		} else if err := scripts.Check(PropScript, src, s.Dialect); err != nil {
			r.bad(PropScript, err)
		} else {
			s.Script = src
		}
	}
	if v, ok := r.get(PropUserData); ok {
		// cloud-init's OVF datasource takes user-data base64-encoded. Only
		// user-data that starts with the marker line is ours; anything else
		// (#cloud-config, a shell script) is left to cloud-init.
		// Like cloud-init, whitespace (line breaks of a wrapped value) is
		// dropped first; a value that still is not base64 is refused, not
		// silently taken for something else.
		src, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil {
			r.bad(PropUserData, fmt.Errorf("not valid base64 (the OVF transport carries user-data base64-encoded): %v", err))
		} else if isStarlark(src) {
			if err := scripts.Check(PropUserData, src, s.Dialect); err != nil {
				r.bad(PropUserData, err)
			} else {
				s.UserData = src
			}
		}
	}
}

// isStarlark reports whether src's first line is scripts.Marker.
func isStarlark(src []byte) bool {
	line, _, _ := bytes.Cut(src, []byte("\n"))
	return string(bytes.TrimSpace(line)) == scripts.Marker
}

// imageScriptName checks a name from ovfinit.scripts: a plain file name in
// the scripts directory; ".star" is added when missing.
func imageScriptName(name string) (string, error) {
	if strings.ContainsAny(name, `/\:`) || name == "." || name == ".." || strings.HasPrefix(name, "_") {
		return "", fmt.Errorf("%q is not the name of a script in the scripts directory (a file name, not starting with _)", name)
	}
	if !strings.HasSuffix(name, ".star") {
		name += ".star"
	}
	return name, nil
}
