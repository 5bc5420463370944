package scripts

// The system module (docs/scripting.md): a script of a VM that is a member
// of a system of VMs reads the other members' facts and publishes values
// for them, through the manager (the system protocol of docs/callbacks.md):
//
//	system.member(name)        the member's .name, .ready, .addresses (IPs),
//	                           .host_keys (known_hosts keys), .values (dict),
//	                           .instances (each: .instance, .ready, .hostname,
//	                           .addresses, .ssh_port, .host_keys, .values)
//	system.members()           the members' names, in the system file's order
//	system.publish(name, value) publish a value; a secret is refused

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/redact"
)

// System is the manager's side of the system this VM is a member of, as
// the system module reaches it: *callback.SystemClient.
type System interface {
	Query(ctx context.Context) (*callback.SystemAnswer, error)
	Publish(ctx context.Context, name, value string) (*callback.SystemAnswer, error)
}

// ErrNoSystem is the cause of a system builtin's error in a VM that is in
// no system.
var ErrNoSystem = errors.New("this VM is in no system (ovfinit.system is not true)")

type systemModule struct {
	sys    System
	log    *slog.Logger
	redact *redact.Redactor
}

// newSystemModule: system.member, system.members, system.publish.
func newSystemModule(sys System, log *slog.Logger, r *redact.Redactor) *starlarkstruct.Module {
	m := &systemModule{sys: sys, log: log, redact: r}
	return module("system", starlark.StringDict{
		"member":  starlark.NewBuiltin("system.member", m.member),
		"members": starlark.NewBuiltin("system.members", m.members),
		"publish": starlark.NewBuiltin("system.publish", m.publish),
	})
}

func (m *systemModule) query(thread *starlark.Thread) (*callback.SystemAnswer, error) {
	if m.sys == nil {
		return nil, ErrNoSystem
	}
	return m.sys.Query(threadContext(thread))
}

// member is the builtin system.member(name).
func (m *systemModule) member(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	a, err := m.query(thread)
	if err != nil {
		return nil, wrap(b, err)
	}
	sm := a.FindMember(name)
	if sm == nil {
		var names []string
		for _, x := range a.Members {
			names = append(names, x.Name)
		}
		return nil, fmt.Errorf("%s: no member %q in the system (members: %s)", b.Name(), name, strings.Join(names, ", "))
	}
	return memberValue(sm), nil
}

// members is the builtin system.members().
func (m *systemModule) members(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	a, err := m.query(thread)
	if err != nil {
		return nil, wrap(b, err)
	}
	var out []starlark.Value
	for _, x := range a.Members {
		out = append(out, starlark.String(x.Name))
	}
	return starlark.NewList(out), nil
}

// publish is the builtin system.publish(name, value). A value in which the
// redactor finds a secret (a secret property, a URL's credentials, or a
// form derived from one) is refused: published values go to the manager
// and on to every member.
func (m *systemModule) publish(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, value string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "value", &value); err != nil {
		return nil, err
	}
	if err := callback.CheckSystemName(name); err != nil {
		return nil, wrap(b, err)
	}
	if m.redact != nil && m.redact.String(value) != value {
		return nil, fmt.Errorf("%s: value of %q holds a secret (a secret property's value, or a URL's credentials): not published", b.Name(), name)
	}
	if len(value) > callback.MaxSystemValueLen {
		return nil, fmt.Errorf("%s: value of %q: %d bytes, at most %d", b.Name(), name, len(value), callback.MaxSystemValueLen)
	}
	if m.sys == nil {
		return nil, wrap(b, ErrNoSystem)
	}
	if _, err := m.sys.Publish(threadContext(thread), name, value); err != nil {
		return nil, wrap(b, err)
	}
	m.log.Info("published", "name", name, "bytes", len(value), "pos", thread.CallFrame(1).Pos.String())
	return starlark.None, nil
}

// memberValue is a member as a script sees it. Addresses are bare IPs
// (the events carry CIDR: 10.0.2.15/24 becomes 10.0.2.15), in the
// instances' order; values are every instance's, the first instance's
// where two publish one name.
func memberValue(sm *callback.SystemMember) starlark.Value {
	var addrs, keys []starlark.Value
	values := starlark.NewDict(0)
	var insts []starlark.Value
	for _, in := range sm.Instances {
		ia, ik := addressList(in.Addresses), hostKeyList(in.HostKeys)
		addrs = append(addrs, ia...)
		keys = append(keys, ik...)
		iv := valueDict(in.Values)
		for _, it := range iv.Items() {
			if _, found, _ := values.Get(it[0]); !found {
				values.SetKey(it[0], it[1])
			}
		}
		insts = append(insts, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"instance": starlark.String(in.Instance), "ready": starlark.Bool(in.Ready), "hostname": starlark.String(in.Hostname),
			"addresses": starlark.NewList(ia), "ssh_port": starlark.MakeInt(in.SSHPort), "host_keys": starlark.NewList(ik), "values": iv,
		}))
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"name": starlark.String(sm.Name), "ready": starlark.Bool(sm.Ready),
		"addresses": starlark.NewList(addrs), "host_keys": starlark.NewList(keys), "values": values, "instances": starlark.NewList(insts),
	})
}

func addressList(cidrs []string) []starlark.Value {
	var out []starlark.Value
	for _, a := range cidrs {
		if p, err := netip.ParsePrefix(a); err == nil {
			a = p.Addr().String()
		}
		out = append(out, starlark.String(a))
	}
	return out
}

func hostKeyList(keys []callback.HostKey) []starlark.Value {
	var out []starlark.Value
	for _, k := range keys {
		if k.Key != "" {
			out = append(out, starlark.String(k.Key))
		}
	}
	return out
}

func valueDict(v map[string]string) *starlark.Dict {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	d := starlark.NewDict(len(v))
	for _, k := range names {
		d.SetKey(starlark.String(k), starlark.String(v[k]))
	}
	return d
}
