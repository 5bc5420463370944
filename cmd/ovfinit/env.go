package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/cloudconfig"
	"github.com/ovfinit/ovfinit/internal/errlist"
	"github.com/ovfinit/ovfinit/manager/envmake"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/spf13/cobra"
)

// newEnvCmd is `ovfinit env`: the OVF environment tools.
func newEnvCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Show, check and make OVF environments, and the OVF descriptor",
		Long: `The env commands read OVF environments the way the agent does (show,
validate), write them for managers (make), and print the ProductSection an
image builder pastes into the appliance's .ovf (descriptor).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newEnvShowCmd(), newEnvValidateCmd(), newEnvMakeCmd(), newEnvDescriptorCmd())
	return cmd
}

// envView is what `env show --json` prints.
type envView struct {
	Source     string            `json:"source"`
	Location   string            `json:"location,omitempty"`
	ID         string            `json:"id"`
	VCenterID  string            `json:"vcenterId,omitempty"`
	Platform   *ovfenv.Platform  `json:"platform"`
	Properties map[string]string `json:"properties"`
	Entities   []entityView      `json:"entities"`
	Adapters   []ovfenv.Adapter  `json:"adapters"`
	Unknown    []ovfenv.Section  `json:"unknownSections,omitempty"`
	Tried      []ovfenv.Attempt  `json:"tried,omitempty"`
}

type entityView struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	Adapters   []ovfenv.Adapter  `json:"adapters,omitempty"`
}

func propMap(props []ovfenv.Property) map[string]string {
	m := map[string]string{}
	for _, p := range props {
		m[p.Key] = p.Value // the last one wins, as in Environment.Property
	}
	return m
}

func newEnvShowCmd() *cobra.Command {
	var asJSON bool
	var source, root string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "show [--json] [--source NAME] [FILE]",
		Short: "Show the environment the agent would read now, and from where, secrets redacted",
		Long: `Show reads FILE, or else probes the transports the way the agent does (in
the order of docs/transports.md) and prints the environment that wins, and why
every other transport did not. Secret values are printed as (redacted).

--source limits the probe to one transport: ` + strings.Join(ovfenv.TransportNames(), ", ") + `.

Exit status: 0 when an environment was read, 1 when none was found or it does
not parse, 2 on a usage error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var src *ovfenv.Source
			var err error
			if len(args) == 1 {
				if source != "" {
					return &exitError{code: exitUsage, err: errors.New("--source and FILE exclude each other")}
				}
				src, err = ovfenv.ReadFile(args[0])
			} else {
				ts := ovfenv.DefaultTransports(ovfenv.TransportOptions{Root: root, Offline: filepath.Clean(root) != "/"})
				if source != "" {
					var one []ovfenv.Transport
					for _, t := range ts {
						if t.Name == source {
							one = append(one, t)
						}
					}
					if one == nil {
						return &exitError{code: exitUsage, err: fmt.Errorf("--source %q: want one of %s", source, strings.Join(ovfenv.TransportNames(), ", "))}
					}
					ts = one
				}
				src, err = (&ovfenv.Prober{Transports: ts, Wait: wait}).Probe(cmd.Context())
			}
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			env, err := src.Environment()
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s %s: %w", src.Transport, src.Location, err)}
			}
			return showEnv(cmd.OutOrStdout(), src, cloudconfig.RedactedCopy(env), asJSON)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON object: source, id, platform, properties, entities, adapters")
	f.StringVar(&source, "source", "", "probe only this transport")
	f.StringVar(&root, "root", "/", "root directory the transports read under")
	f.DurationVar(&wait, "wait", 0, "how long to wait for a transport to have an environment")
	return cmd
}

func showEnv(w io.Writer, src *ovfenv.Source, env *ovfenv.Environment, asJSON bool) error {
	v := envView{
		Source: src.Transport, Location: src.Location, ID: env.ID, VCenterID: env.VCenterID,
		Platform: env.Platform, Properties: propMap(env.Properties), Entities: []entityView{},
		Adapters: env.Adapters, Unknown: env.Unknown, Tried: src.Tried,
	}
	if v.Adapters == nil {
		v.Adapters = []ovfenv.Adapter{}
	}
	for _, en := range env.Entities {
		v.Entities = append(v.Entities, entityView{ID: en.ID, Properties: propMap(en.Properties), Adapters: en.Adapters})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintf(w, "source:   %s %s\n", v.Source, v.Location)
	for _, a := range src.Tried {
		if a.Transport != src.Transport {
			fmt.Fprintf(w, "  %s: %s: %s\n", a.Transport, a.Result, a.Reason)
		}
	}
	fmt.Fprintf(w, "id:       %s\n", v.ID)
	if p := v.Platform; p != nil {
		fmt.Fprintf(w, "platform: %s %s (%s) locale %s timezone %s\n", p.Kind, p.Version, p.Vendor, p.Locale, p.Timezone)
	}
	fmt.Fprintln(w, "properties:")
	for _, p := range env.Properties {
		fmt.Fprintf(w, "  %s = %q\n", p.Key, p.Value)
	}
	for _, en := range env.Entities {
		fmt.Fprintf(w, "entity %s:\n", en.ID)
		for _, p := range en.Properties {
			fmt.Fprintf(w, "  %s = %q\n", p.Key, p.Value)
		}
		for _, a := range en.Adapters {
			fmt.Fprintf(w, "  adapter: %s network %q unit %s\n", a.MAC, a.Network, a.UnitNumber)
		}
	}
	for _, a := range env.Adapters {
		fmt.Fprintf(w, "adapter:  %s network %q unit %s\n", a.MAC, a.Network, a.UnitNumber)
	}
	for _, s := range env.Unknown {
		fmt.Fprintf(w, "ignored:  section %s (%s) line %d\n", s.Name, s.Namespace, s.Line)
	}
	return nil
}

func newEnvValidateCmd() *cobra.Command {
	var root, stateDir string
	cmd := &cobra.Command{
		Use:   "validate [--root DIR] FILE",
		Short: "Check an ovf-env.xml the way the agent does, reporting every problem at once",
		Long: `Validate parses FILE and runs the agent's own checks on every property
(the network's NIC MACs are not checked: this machine is not the guest). Every
problem is printed, each with its line and property; keys the agent does not
know are warnings. With --root, the user is also checked against the accounts
of the OS tree DIR (an image's root, or / on the guest itself), as the agent's
validate step does: a uid, group or home that clashes with an existing account,
and the system-account policy's checks that need the image (login.defs' uid
range, /etc/shells).

Exit status: 0 when there is no error (warnings allowed), 1 when there is one,
2 on a usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := ovfenv.ReadFile(args[0])
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			out := cmd.OutOrStdout()
			env, err := ovfenv.Parse(src.Data)
			if err != nil {
				n := 0
				for _, e := range errlist.Flatten(err) {
					fmt.Fprintf(out, "%s: error: %v\n", args[0], e)
					n++
				}
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %d errors", args[0], n)}
			}
			for _, p := range env.Properties {
				if _, ok := ovfenv.LookupKey(p.Key); !ok {
					fmt.Fprintf(out, "%s:%d: warning: property %s: not a key ovfinit reads (see docs/properties.md)\n", args[0], p.Line, p.Key)
				}
			}
			// This machine is not the guest: the NICs are not checked.
			// With --root, the image's network manager: a key it cannot
			// apply is reported here with its line.
			var mgr netcfg.Manager
			if root != "" {
				mgr = netcfg.DetectManager(root)
			}
			plan, err := agent.BuildPlanFor(env, envmake.LinksNotChecked, mgr)
			warnings := plan.Warnings
			if root != "" {
				// The image's default user and user-data's accounts.
				err = errors.Join(err, agent.PlanImage(env, plan, root))
				w, uerr := agent.CheckUserOnImage(env, plan, root, stateDir, agent.DefaultRuntimeDir)
				warnings = append(warnings, w...)
				err = errors.Join(err, uerr)
			}
			for _, w := range warnings {
				fmt.Fprintf(out, "%s:%d: warning: property %s: %v\n", args[0], w.Line, w.Key, w.Err)
			}
			var errs []error
			for _, e := range errlist.Flatten(err) {
				if e != nil && !errors.Is(e, envmake.ErrLinksNotChecked) {
					errs = append(errs, e)
				}
			}
			if len(errs) == 0 {
				fmt.Fprintf(out, "%s: ok\n", args[0])
				return nil
			}
			for _, e := range errs {
				var pe *agent.PropertyError
				if errors.As(e, &pe) {
					fmt.Fprintf(out, "%s:%d: error: property %s: %v\n", args[0], pe.Line, pe.Key, pe.Err)
				} else {
					fmt.Fprintf(out, "%s: error: %v\n", args[0], e)
				}
			}
			return &exitError{code: exitFailed, err: fmt.Errorf("%s: %d errors", args[0], len(errs))}
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "also check the user against the accounts of this OS tree (an image's root, or /)")
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir, "ovfinit's state directory in that tree (no home may be in it)")
	return cmd
}
