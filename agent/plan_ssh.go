package agent

import (
	"fmt"
	"strconv"
)

func planSSH(r *propReader, p *Plan) {
	if v, ok := r.get(PropSSHPort); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			r.bad(PropSSHPort, fmt.Errorf("want a TCP port from 1 to 65535, got %q", v))
		} else {
			p.SSHPort = n
		}
	}
}
