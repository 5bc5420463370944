package main

import (
	"errors"

	"github.com/ovfinit/ovfinit/manager/envmake"
	"github.com/spf13/cobra"
)

// orderedFlag is a pflag.Value that appends every use of its flag to one
// shared list, so that the command sees --entity, --prop and --prop-file in
// the order of the command line (props after --entity belong to it).
type orderedFlag struct {
	name string
	args *[]envmake.Arg
}

func (f orderedFlag) String() string { return "" }
func (f orderedFlag) Type() string {
	switch f.name {
	case "prop":
		return "KEY=VALUE"
	case "prop-file":
		return "FILE"
	}
	return "ID"
}
func (f orderedFlag) Set(v string) error {
	*f.args = append(*f.args, envmake.Arg{Flag: f.name, Value: v})
	return nil
}

func newEnvMakeCmd() *cobra.Command {
	var (
		args    []envmake.Arg
		id      string
		out     string
		format  string
		noCheck bool
	)
	cmd := &cobra.Command{
		Use:   "make [--id ID] --prop KEY=VALUE ... [--prop-file FILE] [--entity ID --prop KEY=VALUE ...] -o env.iso|env.xml|-",
		Short: "Write an OVF environment (ovf-env.xml, or an ISO labelled OVF ENV) for a VM",
		Long: `Make writes the OVF environment a manager gives a VM: an ovf-env.xml
document (DSP0243, every value escaped), or an ISO 9660 image labelled
"OVF ENV" holding it as /ovf-env.xml (Rock Ridge and Joliet names), to attach
as the VM's CD-ROM.

The flags --prop, --prop-file and --entity are read in command-line order.
Properties before the first --entity are the VM's own; those after
--entity ID belong to that sibling Entity section (another VM of the vApp),
until the next --entity.

  --prop KEY=VALUE    one property; the value is everything after the first
                      "=", taken as is (spaces, quotes, <, & included).
  --prop KEY@=FILE    the value is FILE's content, as is (multi-line values:
                      public-keys, user-data, a script).
  --prop-file FILE    one property per line, in the same two forms; blank
                      lines and lines whose first non-blank character is "#"
                      are skipped; a trailing "\r" is dropped; a FILE in
                      KEY@=FILE is relative to the prop file's directory.

The format is the -o file's extension (.iso, or .xml), or --format; "-o -"
writes the XML to standard output. Files are written mode 0600: the
environment may hold secrets.

Before writing, the VM's own properties are checked the way the agent checks
them (types, host name, addresses, ...; not the NIC MACs): an error names the
property and nothing is written. Keys the agent does not read are warnings
(other software in the VM may read them). --no-check skips the checks.

Exit status: 0 when written, 1 when a check fails or the output cannot be
written, 2 on a usage error (a malformed --prop, a bad prop file line).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := envmake.Make(envmake.Options{ID: id, Args: args, Out: out, Format: format, NoCheck: noCheck}, cmd.OutOrStdout(), cmd.ErrOrStderr())
			var ue *envmake.UsageError
			switch {
			case errors.As(err, &ue):
				return &exitError{code: exitUsage, err: err}
			case err != nil:
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Var(orderedFlag{"prop", &args}, "prop", "a property KEY=VALUE, or KEY@=FILE to read the value from FILE (repeatable; after --entity it is the entity's)")
	f.Var(orderedFlag{"prop-file", &args}, "prop-file", "read properties from FILE, one KEY=VALUE or KEY@=FILE a line, # comments (repeatable)")
	f.Var(orderedFlag{"entity", &args}, "entity", "start a sibling Entity section with this id; the --prop and --prop-file flags after it are its own")
	f.StringVar(&id, "id", "", "the Environment's oe:id (the VirtualSystem id in the OVF descriptor)")
	f.StringVarP(&out, "output", "o", "", "the file to write: NAME.iso, NAME.xml, or - for the XML on standard output")
	f.StringVar(&format, "format", "", "iso or xml (default: from the -o extension)")
	f.BoolVar(&noCheck, "no-check", false, "do not check the properties the way the agent does")
	return cmd
}
