package agent

import (
	"encoding/base64"
	"fmt"

	"github.com/ovfinit/ovfinit/scripts"
)

func planScript(r *propReader, p *Plan) {
	if v, ok := r.get(PropScript); ok {
		src, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			r.bad(PropScript, fmt.Errorf("not base64: %v", err))
		} else if err := scripts.Check(PropScript, src, scripts.Dialect{}); err != nil {
			r.bad(PropScript, err)
		} else {
			p.Script = src
		}
	}
}
