package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/netcfg"
)

// netAppliedFile records, in the state directory, the addresses and routes
// ovfinit set, so that the next boot removes those its new config drops.
const netAppliedFile = "net-applied.json"

func loadNetApplied(e *Env) (netcfg.Applied, error) {
	var a netcfg.Applied
	b, err := e.readFile(e.statePath(netAppliedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%s: %w", e.statePath(netAppliedFile), err)
	}
	return a, nil
}

// network opens the live network (Env.Network) once per boot: validate
// reads it, the network step changes it and closes it (closeNetwork).
func (e *Env) network() (netcfg.System, error) {
	if e.net == nil && e.netErr == nil {
		e.net, e.netErr = e.Network(e.Root)
	}
	return e.net, e.netErr
}

// closeNetwork closes what network opened (the netlink handle), if it has
// a Close; a later network call opens it again.
func (e *Env) closeNetwork() {
	if c, ok := e.net.(io.Closer); ok {
		if err := c.Close(); err != nil {
			e.Log.Warn("closing the network handle", "err", err)
		}
	}
	e.net, e.netErr = nil, nil
}

// configureNetwork writes the image's own persistent network configuration
// (under Root) and then, on a live system, applies the planned changes.
func configureNetwork(ctx context.Context, e *Env) (Result, error) {
	defer e.closeNetwork()
	if e.Plan.Net == nil {
		return skipped("no network properties or network-config: network left as it is"), nil
	}
	mgr := netcfg.DetectManager(e.Root)
	files, err := netcfg.Render(mgr, *e.Plan.Net)
	if err != nil {
		return Result{}, fatal(err)
	}
	if mgr == netcfg.ManagerIfupdown {
		// ovfinit's file is in interfaces.d: make sure ifup reads it.
		p := "/etc/network/interfaces"
		cur, err := e.readFile(p)
		if err != nil {
			return Result{}, err
		}
		if fixed, ok := netcfg.IfupdownSourced(cur); !ok {
			fi, err := e.stat(p)
			if err != nil {
				return Result{}, err
			}
			e.Log.Warn("/etc/network/interfaces did not read interfaces.d: source-directory line added", "file", "/etc/network/interfaces")
			files = append(files, netcfg.File{Path: "/etc/network/interfaces", Data: fixed, Mode: fi.Mode().Perm()})
		}
	}
	for _, f := range files {
		e.Log.Info("network config written", "manager", string(mgr), "file", f.Path)
		if err := rootfs.WriteFileAt(e.Root, f.Path, f.Data, f.Mode); err != nil {
			return Result{}, fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	if !e.Live {
		return skipped("persistent %s configuration written; live network not changed: --root is not /", mgr), nil
	}
	sys, err := e.network()
	if err != nil {
		return Result{}, err
	}
	if l, ok := sys.(interface{ SetLogger(*slog.Logger) }); ok {
		l.SetLogger(e.Log)
	}
	for _, op := range e.Plan.NetOps {
		e.Log.Info("network", "op", op.String())
	}
	e.netApplied = true // from here on a failure leaves the NICs as they are
	if err := sys.Apply(ctx, e.Plan.NetOps); err != nil {
		return Result{}, err
	}
	if mgr == netcfg.ManagerIfupdown {
		if err := markIfupdownUp(e, *e.Plan.Net); err != nil {
			return Result{}, err
		}
	}
	b, _ := json.Marshal(e.Plan.NetApplied)
	if err := e.writeFile(e.statePath(netAppliedFile), b, 0o600); err != nil {
		return Result{}, fmt.Errorf("saving what the network step set: %w", err)
	}
	// What the NICs have now, DHCP leases included, for the ready event.
	if cur, err := sys.Current(); err == nil {
		e.NetAddrs = liveAddresses(*e.Plan.Net, cur)
	}
	return Result{}, nil
}

// ifupdownState is ifupdown's (0.8) record of the interfaces it brought
// up: the file lists them as "iface=logical-iface" lines (ifdown -a takes
// those down), and ifstate.IFACE holds the logical name of each; ifup
// skips an interface whose ifstate.IFACE is not empty.
const ifupdownState = "/run/network/ifstate"

// markIfupdownUp records the NICs ovfinit just configured in ifupdown's
// state, as if ifup had brought them up: the image's networking.service
// (ifup -a, after ovfinit) then leaves them as they are instead of adding
// the same address and route again, which fails ("RTNETLINK answers: File
// exists") and leaves the boot degraded; ifdown -a at shutdown still takes
// them down. Lines for other interfaces are kept.
func markIfupdownUp(e *Env, c netcfg.Config) error {
	cur, err := e.readFile(ifupdownState)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", ifupdownState, err)
	}
	var lines []string
	have := map[string]bool{}
	for _, l := range strings.Split(string(cur), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
			name, _, _ := strings.Cut(l, "=")
			have[name] = true
		}
	}
	if err := e.mkdirAll(path.Dir(ifupdownState), 0o755); err != nil {
		return fmt.Errorf("handing the NICs to ifupdown: %w", err)
	}
	for _, n := range c.NICs {
		if n.Name == "" || strings.ContainsAny(n.Name, "/=") {
			continue
		}
		if err := rootfs.WriteFileAt(e.Root, ifupdownState+"."+n.Name, []byte(n.Name+"\n"), 0o644); err != nil {
			return fmt.Errorf("handing %s to ifupdown: %w", n.Name, err)
		}
		if !have[n.Name] {
			lines = append(lines, n.Name+"="+n.Name)
			have[n.Name] = true
		}
	}
	if err := rootfs.WriteFileAt(e.Root, ifupdownState, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("handing the NICs to ifupdown: writing %s: %w", ifupdownState, err)
	}
	return nil
}

// liveAddresses lists the global addresses now on the interfaces the
// configuration names, in its order.
func liveAddresses(c netcfg.Config, cur netcfg.Current) []string {
	var out []string
	for _, n := range c.NICs {
		for _, l := range cur.Links {
			if l.Name != n.Name {
				continue
			}
			for _, a := range l.Addrs {
				out = append(out, a.String())
			}
		}
	}
	return out
}

func addresses(e *Env) []string {
	if e.Plan == nil || e.Plan.Net == nil {
		return nil
	}
	var out []string
	for _, n := range e.Plan.Net.NICs {
		for _, a := range n.Addresses {
			out = append(out, a.String())
		}
	}
	// Then what the network step found on the NICs: DHCP leases.
	for _, a := range e.NetAddrs {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
