package agent

import (
	"time"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
)

// ScriptPlan is what the environment says about scripts.
type ScriptPlan struct {
	Script   *scripts.Program // ovfinit.script, decoded and compiled; nil: none
	UserData *scripts.Program // user-data when it starts with scripts.Marker, compiled; nil: none
	Image    []string         // ovfinit.scripts: image scripts to run, in order; nil: all of them
	MaxSteps uint64
	Timeout  time.Duration
	Dialect  scripts.Dialect

	// list is every script this boot may run, in order, each compiled
	// once: the image's (checkScripts finds them in validate, as that
	// needs the image), then Script and UserData.
	list []*scriptSource
}

func planScript(r *propReader, p *Plan) {
	s := &p.Scripts
	s.Dialect.AllowWhile = r.bool(ovfenv.KeyScriptAllowWhile)
	s.Dialect.HTTP = r.bool(ovfenv.KeyScriptHTTP)
	s.MaxSteps = uint64(r.int(ovfenv.KeyScriptMaxSteps))
	s.Timeout = r.seconds(ovfenv.KeyScriptTimeout)
	if names, ok := r.list(ovfenv.KeyScripts); ok {
		for _, name := range names {
			n, err := scripts.ImageName(name)
			if err != nil {
				r.bad(ovfenv.KeyScripts.Name, err)
				continue
			}
			s.Image = append(s.Image, n)
		}
	}
	if src := r.base64(ovfenv.KeyScript); src != nil {
		if prog, err := scripts.Compile(ovfenv.KeyScript.Name, src, s.Dialect); err != nil {
			r.bad(ovfenv.KeyScript.Name, err)
		} else {
			s.Script = prog
		}
	}
	// user-data (decoded once by BuildPlan) is ours when it starts with
	// the marker line; #cloud-config and #! scripts are planUserData's.
	if src := r.userData; src != nil && scripts.IsStarlark(src) {
		if prog, err := scripts.Compile(ovfenv.KeyUserData.Name, src, s.Dialect); err != nil {
			r.bad(ovfenv.KeyUserData.Name, err)
		} else {
			s.UserData = prog
		}
	}
}
