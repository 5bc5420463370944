package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/netcfg"
)

// netAppliedFile records, in the state directory, the addresses and routes
// ovfinit set, so that the next boot removes those its new config drops.
const netAppliedFile = "net-applied.json"

func loadNetApplied(e *Env) (netcfg.Applied, error) {
	return netcfg.LoadApplied(e.Root, e.statePath(netAppliedFile))
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

// idleNetwork is the network step's Idle.
func idleNetwork(e *Env) string {
	if e.Plan != nil && e.Plan.Net == nil {
		return "no network properties or network-config: network left as it is"
	}
	return ""
}

// configureNetwork writes the image's own persistent network configuration
// (under Root) and then, on a live system, applies the planned changes.
func configureNetwork(ctx context.Context, e *Env) (Result, error) {
	defer e.closeNetwork()
	if why := idleNetwork(e); why != "" {
		return skipped("%s", why), nil
	}
	mgr := netcfg.DetectManager(e.Root)
	if err := e.waitNICsNamed(ctx); err != nil {
		return Result{}, err
	}
	net, ops, applied, err := e.netPlanNow(mgr)
	if err != nil {
		return Result{}, err
	}
	if err := e.writeNetFiles(mgr, net); err != nil {
		return Result{}, err
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
	if h, ok := sys.(interface{ HoldHandOver(<-chan struct{}) }); ok {
		h.HoldHandOver(e.handOverReleased()) // the image's DHCP client, after ready
		if w, ok := sys.(interface{ WaitHandOver(context.Context) error }); ok {
			e.handOverWait = w.WaitHandOver // FinishHandOver, before ovfinit exits
		}
	}
	apply := func(ops []netcfg.Op) error {
		for _, op := range ops {
			e.Log.Info("network", "op", op.String())
		}
		return sys.Apply(ctx, ops)
	}
	e.netApplied = true // from here on a failure leaves the NICs as they are
	if err := apply(ops); err != nil {
		if !netcfg.IsLinkGone(err) {
			return Result{}, err
		}
		// Renamed between the look and the change: once more, with the
		// names as they are now (the ops are idempotent: replace, set).
		e.Log.Info("a NIC was renamed while the network was configured: planning again", "err", err)
		if net, ops, applied, err = e.netPlanNow(mgr); err != nil {
			return Result{}, err
		}
		if err := e.writeNetFiles(mgr, net); err != nil {
			return Result{}, err
		}
		if err := apply(ops); err != nil {
			return Result{}, err
		}
	}
	if mgr == netcfg.ManagerIfupdown {
		if err := netcfg.MarkIfupdownUp(e.Root, *net); err != nil {
			return Result{}, err
		}
	}
	if err := netcfg.Activate(ctx, mgr, e.netCommands()); err != nil {
		// The files are written and the NICs configured; the manager reads
		// the files at the next boot at the latest.
		e.Log.Warn("the image's network manager did not take over ovfinit's files this boot", "manager", string(mgr), "err", err)
	}
	if err := netcfg.SaveApplied(e.Root, e.statePath(netAppliedFile), applied); err != nil {
		return Result{}, fmt.Errorf("saving what the network step set: %w", err)
	}
	// What the NICs have now, DHCP leases included, for the ready event.
	if cur, err := sys.Current(); err == nil {
		e.NetAddrs = netcfg.LiveAddresses(*net, cur)
	}
	return Result{}, nil
}

// waitNICsNamed waits, on the running system, until udev has finished with
// every ethernet NIC (until then it may still rename one, and a NIC that
// is up can no longer be renamed) or validate's NIC deadline has passed.
// validate waits for udev only when the input picks NICs by name; the
// steps between it and this one run meanwhile.
func (e *Env) waitNICsNamed(ctx context.Context) error {
	if !e.Live {
		return nil
	}
	sys, err := e.network()
	if err != nil {
		return err
	}
	for logged := false; ; {
		cur, err := sys.Current()
		if err != nil {
			return err
		}
		p := pendingNICs(cur)
		if len(p) == 0 || !e.Now().Before(e.nicDeadline) {
			return nil
		}
		if !logged {
			e.Log.Info("waiting for udev to finish naming the NICs before configuring them", "nics", strings.Join(p, ", "))
			logged = true
		}
		if u, ok := sys.(udevDoner); ok {
			waited, err := e.waitUdevDone(ctx, u, cur)
			if err != nil {
				return err
			}
			if waited {
				continue // udev is done: read the NICs' final names
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(nicPoll):
		}
	}
}

// udevDoner is a network that can say cheaply whether udev has finished
// with one NIC (netcfg.Linux: a stat of udev's database entry).
type udevDoner interface{ UdevDone(index int) bool }

// udevPoll is how often waitUdevDone looks: a stat per NIC, where a look
// at the whole network (Current, every nicPoll) is tens of milliseconds
// of CPU under emulation, taken from udev, which the wait is for.
const udevPoll = 50 * time.Millisecond

// waitUdevDone waits until udev has finished with every NIC cur has
// pending, or the NIC deadline passes; waited is false when they were
// done at the first look (cur is older than that), so that the caller
// paces its next look itself.
func (e *Env) waitUdevDone(ctx context.Context, u udevDoner, cur netcfg.Current) (waited bool, err error) {
	for {
		done := true
		for _, l := range cur.Links {
			if l.Ethernet && l.Pending && !u.UdevDone(l.Index) {
				done = false
				break
			}
		}
		if done || !e.Now().Before(e.nicDeadline) {
			return waited, nil
		}
		select {
		case <-ctx.Done():
			return waited, ctx.Err()
		case <-time.After(udevPoll):
		}
		waited = true
	}
}

// writeNetFiles writes the image's persistent configuration for net and
// removes ovfinit's earlier files it no longer needs.
func (e *Env) writeNetFiles(mgr netcfg.Manager, net *netcfg.Config) error {
	files, err := netcfg.Render(mgr, *net)
	if err != nil {
		return fatal(err)
	}
	if _, err := netcfg.WritePersistent(e.Root, mgr, files, e.Log); err != nil {
		return err
	}
	return netcfg.RemoveStale(e.Root, mgr, files, e.Log)
}

// netPlanNow is the network part of the plan as the network step applies
// it: validate's, unless a NIC it names has been renamed since (udev names
// a NIC once it gets to its event, which can come after validate on a
// loaded machine: "link set eth0 up: Link not found" with the NIC now
// ens2). Then the network is planned again, from the same environment,
// with the NICs as they are now; the Plan itself is not changed.
func (e *Env) netPlanNow(mgr netcfg.Manager) (*netcfg.Config, []netcfg.Op, netcfg.Applied, error) {
	p := e.Plan
	if !e.Live {
		return p.Net, p.NetOps, p.NetApplied, nil
	}
	sys, err := e.network()
	if err != nil {
		return nil, nil, netcfg.Applied{}, err
	}
	cur, err := sys.Current()
	if err != nil {
		return nil, nil, netcfg.Applied{}, err
	}
	var gone []string
	for _, n := range p.Net.NICs {
		if n.Kind == "" && n.Name != "" && !slices.ContainsFunc(cur.Links, func(l netcfg.Link) bool { return l.Name == n.Name }) {
			gone = append(gone, n.Name)
		}
	}
	if len(gone) == 0 {
		return p.Net, p.NetOps, p.NetApplied, nil
	}
	e.Log.Info("a NIC was renamed after validate: the network is planned again with the NICs as they are now", "gone", strings.Join(gone, ", "))
	again, err := BuildPlanFor(e.OVF, func() (netcfg.Current, netcfg.Applied, error) {
		prev, err := loadNetApplied(e)
		return cur, prev, err
	}, mgr)
	if err != nil {
		return nil, nil, netcfg.Applied{}, fmt.Errorf("planning the network again after a NIC was renamed: %w", err)
	}
	if again.Net == nil {
		return nil, nil, netcfg.Applied{}, errors.New("planning the network again after a NIC was renamed: no network planned")
	}
	return again.Net, again.NetOps, again.NetApplied, nil
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

// netCommands is the runner for the network manager's own commands: the
// test's Env.Commands, else the running system's when Root is "/"; nil
// (nothing run) for any other root, whose manager is not this machine's.
func (e *Env) netCommands() cmdrun.Runner {
	if e.Commands != nil {
		return e.Commands
	}
	if rootOrSlash(e.Root) != "/" {
		return nil
	}
	return cmdrun.Exec{Log: e.Log}
}
