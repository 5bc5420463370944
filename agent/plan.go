package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/hostname"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

// DefaultUser is the account created when ovfinit.user is not set (the key
// table's default).
var DefaultUser = ovfenv.KeyUser.Default

// Plan is everything the environment asks for, parsed and validated before
// any step changes the machine.
type Plan struct {
	// Reporting (callback).
	CallbackURL    string
	Attempt        int
	CallbackSecret []byte              // HMAC key; nil: unsigned
	CallbackTLS    callback.TLSOptions // CA, pins, client certificate

	// Host name.
	Hostname    string
	HostnameKey string // the property it came from: hostname or local-hostname

	// Network (netcfg).
	Net         *netcfg.Config // nil: leave the network alone; NICs resolved to interface names
	NetOps      []netcfg.Op    // the live changes, planned against the machine
	NetApplied  netcfg.Applied // what the live changes leave set, saved for the next boot
	NetFallback bool           // Net is cloud-init's fallback (no network property): DHCP on the first NIC
	// NetByName: the network input picks NICs by interface name (or the
	// fallback chose among several NICs by name), so the plan holds only
	// once udev has finished naming them; otherwise a rename after
	// validate leaves the plan's choice as it is (the network step plans
	// again with the new names).
	NetByName bool

	// Users.
	User users.User

	// SSH server.
	SSHPort int
	SSH     SSHPlan

	// Scripts.
	Scripts ScriptPlan
	System  SystemPlan // the system of VMs this one is a member of (steps_system.go)

	// cloud-init's default user and #cloud-config (plan_cloudcfg.go).
	Cloud CloudPlan

	// Warnings are problems an override property accepted; validate logs
	// them.
	Warnings []*PropertyError

	userInvalid bool // a user property is wrong: CheckUserOnImage skips the user
}

// PropertyError is a problem with one property's value (ovfenv's).
type PropertyError = ovfenv.PropertyError

// BuildPlan reads and checks every property ovfinit uses. links lists the
// machine's NICs; it is called only when the environment configures the
// network, with what ovfinit applied before. All problems are returned at once, each naming its property; the
// plan is still returned with what could be read (its CallbackURL above all,
// so the failure can be reported).
func BuildPlan(env *ovfenv.Environment, links func() (netcfg.Current, netcfg.Applied, error)) (*Plan, error) {
	return BuildPlanFor(env, links, "")
}

// BuildPlanFor is BuildPlan for an image whose network manager is m: a
// network key that manager cannot apply is reported here, with its YAML line
// or property, rather than when the files are written. An empty m checks
// nothing.
func BuildPlanFor(env *ovfenv.Environment, links func() (netcfg.Current, netcfg.Applied, error), m netcfg.Manager) (*Plan, error) {
	p := &Plan{}
	r := &propReader{env: env, manager: m}
	var err error
	if r.userData, err = userData(env); err != nil { // once, for planScript and planUserData
		r.errs = append(r.errs, err)
	}
	// Each capability reads its own properties (plan_*.go). The callback
	// comes first so that a failure later on can still be reported.
	planCallback(r, p)
	planHostname(r, p)
	planUser(r, p)
	planSSH(r, p)
	planScript(r, p)
	planSystem(r, p)
	planUserData(r, p) // #cloud-config, a #! script (plan_cloudcfg.go)
	if err := planNetwork(r, p, links); err != nil {
		r.errs = append(r.errs, err)
	}
	return p, errors.Join(r.errs...)
}

// propReader reads properties for the planners and collects their problems.
type propReader struct {
	env     *ovfenv.Environment
	manager netcfg.Manager // the image's network manager; "": not checked
	// userData is the user-data property decoded; nil: unset or not
	// decodable (the problem is recorded once).
	userData []byte
	errs     []error
}

// bad records a problem with a property, with its line in ovf-env.xml.
func (r *propReader) bad(key string, err error) {
	r.errs = append(r.errs, &PropertyError{Key: key, Line: r.env.PropertyLine(key), Err: err})
}

// The typed readers go through the key table's getters (ovfenv): an unset
// key is its documented default; a bad value is recorded and the default
// kept.

func (r *propReader) int(k ovfenv.Key) int {
	n, err := r.env.Int(k)
	r.check(err)
	return n
}

func (r *propReader) seconds(k ovfenv.Key) time.Duration {
	d, err := r.env.Seconds(k)
	r.check(err)
	return d
}

func (r *propReader) bool(k ovfenv.Key) bool {
	b, err := r.env.Bool(k)
	r.check(err)
	return b
}

func (r *propReader) enum(k ovfenv.Key) string {
	v, err := r.env.Enum(k)
	r.check(err)
	return v
}

// base64 returns k's value decoded (TypeBase64); nil when unset or bad.
func (r *propReader) base64(k ovfenv.Key) []byte {
	b, err := r.env.Base64(k)
	r.check(err)
	return b
}

// text returns k's value, trimmed; ok is false when it is unset (the
// default is then left to the reader).
func (r *propReader) text(k ovfenv.Key) (string, bool) {
	return r.env.Text(k)
}

// list returns k's entries (ovfenv.Key.SplitList); ok is false when it is
// unset.
func (r *propReader) list(k ovfenv.Key) ([]string, bool) {
	v, ok := r.text(k)
	if !ok {
		v = k.Default
	}
	return k.SplitList(v), ok
}

func (r *propReader) check(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

// planHostname reads the host name as cloud-init's OVF datasource does:
// hostname and local-hostname are the same setting (cloud-init renames
// hostname to local-hostname), and when both are set the one later in the
// environment wins. A second, different value is a warning, not an error.
func planHostname(r *propReader, p *Plan) {
	k, others, ok := r.env.Later(ovfenv.KeyHostname, ovfenv.KeyLocalHostname)
	if !ok {
		return
	}
	key := k.Name
	v, _ := r.text(k)
	if err := hostname.Syntax(v); err != nil {
		r.bad(key, err)
		return
	}
	p.Hostname, p.HostnameKey = v, key
	for _, o := range others {
		if ov, _ := r.text(o); !strings.EqualFold(ov, v) {
			p.Warnings = append(p.Warnings, &PropertyError{Key: o.Name, Line: r.env.PropertyLine(o.Name),
				Err: fmt.Errorf("%q ignored: %s (later in the environment) says %q, and the later one wins as in cloud-init", ov, key, v)})
		}
	}
}
