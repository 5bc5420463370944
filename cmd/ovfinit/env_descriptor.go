package main

import (
	"fmt"
	"strings"

	"github.com/ovfinit/ovfinit/manager/descriptor"
	"github.com/spf13/cobra"
)

// newEnvDescriptorCmd is `ovfinit env descriptor` (attached under `env`).
func newEnvDescriptorCmd() *cobra.Command {
	var defaults []string
	cmd := &cobra.Command{
		Use:   "descriptor",
		Short: "Print the OVF ProductSection declaring every property ovfinit reads",
		Long: `Descriptor prints an OVF ProductSection (XML) with one Property for every
property ovfinit understands: its key, type, default, label and description,
ovf:password="true" for secrets, and ovf:userConfigurable="true" so vSphere and
other deploy wizards ask for it. Paste it into an appliance's OVF descriptor,
or let "ovfinit ova" do that.

--prop-default KEY=VALUE replaces a property's default (repeatable); the key
must be one ovfinit reads and the value of its type.

Exit status: 0 printed; 2 a bad --prop-default.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parsePropDefaults(defaults)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			out, err := descriptor.ProductSectionDocument(descriptor.Options{Version: version, Defaults: d})
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--prop-default: %w", err)}
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringArrayVar(&defaults, "prop-default", nil, "KEY=VALUE: the default of property KEY (repeatable)")
	return cmd
}

// parsePropDefaults reads --prop-default KEY=VALUE flags.
func parsePropDefaults(flags []string) (map[string]string, error) {
	d := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--prop-default %q: want KEY=VALUE", f)
		}
		d[k] = v
	}
	return d, nil
}
