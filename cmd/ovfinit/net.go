package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/internal/errlist"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/spf13/cobra"
)

// newNetCmd is `ovfinit net`: the network tools.
func newNetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "net",
		Short: "Check a network configuration before deploying it",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newNetPlanCmd())
	return cmd
}

// managerNames are the --manager values.
var managerNames = []netcfg.Manager{netcfg.ManagerNetworkd, netcfg.ManagerNetworkManager, netcfg.ManagerIfupdown,
	netcfg.ManagerNetplan, netcfg.ManagerIfcfg, netcfg.ManagerRCConf, netcfg.ManagerNone}

func newNetPlanCmd() *cobra.Command {
	var nics []string
	var manager, root, networkConfig string
	cmd := &cobra.Command{
		Use:   "plan [--nic NAME=MAC[,driver=D][,carrier=no]]... [--manager M] (FILE | --network-config YAML)",
		Short: "Print the network plan and the files the agent would write, changing nothing",
		Long: `Plan reads the network input of the OVF environment FILE (network-config,
the ovfinit.net properties or the VMware-style ones; with none, cloud-init's
fallback) or, with --network-config, a network-config YAML file (netplan v2
or cloud-init v1, plain or base64), plans it for a machine, and prints the
interfaces it selects, the live changes and the files that would be written
for the network manager. Nothing is changed.

The machine's NICs are given with --nic NAME=MAC (repeatable; optional
driver=D for match: driver, carrier=no for a NIC without a cable), or else
read from this machine. --manager is one of ` + managerString() + `, or auto
(the default): the manager of the OS tree --root, as the agent detects it.

Exit status: 0 when the configuration is accepted, 1 when it has an error
(each printed with its property and line), 2 on a usage error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (networkConfig != "") {
				return &exitError{code: exitUsage, err: errors.New("give an environment FILE or --network-config YAML, one of them")}
			}
			mgr := netcfg.Manager(manager)
			if manager == "auto" {
				mgr = netcfg.DetectManager(root)
			} else if !validManager(mgr) {
				return &exitError{code: exitUsage, err: fmt.Errorf("--manager %q: want auto or one of %s", manager, managerString())}
			}
			var links []netcfg.Link
			for i, n := range nics {
				l, err := parseNIC(n)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--nic %q: %w", n, err)}
				}
				l.Index = i + 2
				links = append(links, l)
			}
			name, env, err := netInput(args, networkConfig)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			machine := func() (netcfg.Current, netcfg.Applied, error) {
				if links != nil {
					return netcfg.Current{Links: links}, netcfg.Applied{}, nil
				}
				sys, err := netcfg.NewSystem("/")
				if err != nil {
					return netcfg.Current{}, netcfg.Applied{}, err
				}
				cur, err := sys.Current()
				return cur, netcfg.Applied{}, err
			}
			plan, err := agent.PlanNetwork(env, machine, mgr)
			out := cmd.OutOrStdout()
			if err != nil {
				n := printNetErrors(out, name, err)
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %d errors", name, n)}
			}
			return printNetPlan(out, plan, mgr)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&nics, "nic", nil, "a NIC of the machine, NAME=MAC[,driver=D][,carrier=no] (repeatable); default: this machine's")
	f.StringVar(&manager, "manager", "auto", "the network manager to write files for: auto or "+managerString())
	f.StringVar(&root, "root", "/", "with --manager auto: the OS tree whose manager is used")
	f.StringVar(&networkConfig, "network-config", "", "a network-config YAML file instead of an environment")
	return cmd
}

func managerString() string {
	var s []string
	for _, m := range managerNames {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

func validManager(m netcfg.Manager) bool {
	for _, n := range managerNames {
		if n == m {
			return true
		}
	}
	return false
}

// parseNIC reads NAME=MAC[,driver=D][,carrier=no].
func parseNIC(s string) (netcfg.Link, error) {
	parts := strings.Split(s, ",")
	name, mac, ok := strings.Cut(parts[0], "=")
	if !ok || name == "" {
		return netcfg.Link{}, errors.New("want NAME=MAC, e.g. eth0=52:54:00:12:34:56")
	}
	m, err := net.ParseMAC(mac)
	if err != nil || len(m) != 6 {
		return netcfg.Link{}, fmt.Errorf("not an ethernet MAC address: %q", mac)
	}
	l := netcfg.Link{Name: name, MAC: m, Ethernet: true, Carrier: true}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "driver":
			l.Driver = v
		case "carrier":
			b, err := ovfenv.ParseBool(v)
			if err != nil {
				return l, fmt.Errorf("carrier: %w", err)
			}
			l.Carrier = b
		default:
			return l, fmt.Errorf("unknown option %q: want driver=D or carrier=no", k)
		}
	}
	return l, nil
}

// netInput reads the environment FILE, or makes one holding the
// network-config file as its network-config property.
func netInput(args []string, networkConfig string) (string, *ovfenv.Environment, error) {
	if networkConfig != "" {
		b, err := os.ReadFile(networkConfig)
		if err != nil {
			return networkConfig, nil, err
		}
		return networkConfig, &ovfenv.Environment{Properties: []ovfenv.Property{
			{Key: ovfenv.KeyNetworkConfig.Name, Value: base64.StdEncoding.EncodeToString(b)}}}, nil
	}
	src, err := ovfenv.ReadFile(args[0])
	if err != nil {
		return args[0], nil, err
	}
	env, err := ovfenv.Parse(src.Data)
	if err != nil {
		return args[0], nil, fmt.Errorf("%s: %w", args[0], err)
	}
	return args[0], env, nil
}

func printNetErrors(w io.Writer, name string, err error) int {
	n := 0
	for _, e := range errlist.Flatten(err) {
		var pe *agent.PropertyError
		switch {
		case errors.As(e, &pe) && pe.Line > 0:
			fmt.Fprintf(w, "%s:%d: error: property %s: %v\n", name, pe.Line, pe.Key, pe.Err)
		case pe != nil:
			fmt.Fprintf(w, "%s: error: property %s: %v\n", name, pe.Key, pe.Err)
		default:
			fmt.Fprintf(w, "%s: error: %v\n", name, e)
		}
		n++
	}
	return n
}

func printNetPlan(w io.Writer, plan *agent.Plan, mgr netcfg.Manager) error {
	fmt.Fprintf(w, "manager: %s\n", mgr)
	if plan.Net == nil {
		fmt.Fprintln(w, "network: left as it is (no network property, and no fallback: ovfinit.net.fallback=off or no ethernet NIC)")
		return nil
	}
	if plan.NetFallback {
		fmt.Fprintln(w, "network: cloud-init's fallback (no network property): DHCPv4 on the first ethernet NIC")
	}
	fmt.Fprintln(w, "interfaces:")
	for _, n := range plan.Net.NICs {
		kind := string(n.KindOf())
		if kind == "" {
			kind = "ethernet"
		}
		line := fmt.Sprintf("  %s: %s %s", n.ID, n.Name, kind)
		if n.CurName != "" && n.CurName != n.Name {
			line += " (renamed from " + n.CurName + ")"
		}
		if len(n.MAC) > 0 {
			line += " " + n.MAC.String()
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, "live changes:")
	for _, op := range plan.NetOps {
		fmt.Fprintf(w, "  %s\n", op)
	}
	files, err := netcfg.Render(mgr, *plan.Net)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	fmt.Fprintln(w, "files (not written):")
	for _, f := range files {
		for _, sec := range netcfg.Secrets(*plan.Net) {
			// WireGuard keys are secrets: never shown.
			f.Data = bytes.ReplaceAll(f.Data, []byte(sec), []byte("(secret)"))
		}
		fmt.Fprintf(w, "=== %s (mode %04o)\n%s", f.Path, f.Mode, f.Data)
		if len(f.Data) > 0 && f.Data[len(f.Data)-1] != '\n' {
			fmt.Fprintln(w)
		}
	}
	return nil
}
