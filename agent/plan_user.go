package agent

import "github.com/ovfinit/ovfinit/users"

func planUser(r *propReader, p *Plan) {
	if v, ok := r.get(PropUser); ok {
		if err := users.ValidateName(v); err != nil {
			r.bad(PropUser, err)
		} else {
			p.User.Name = v
		}
	}
	if v, ok := r.env.Property(PropPublicKeys); ok {
		keys, err := users.ParseKeys(v)
		if err != nil {
			r.bad(PropPublicKeys, err)
		}
		p.User.Keys = keys
	}
}
