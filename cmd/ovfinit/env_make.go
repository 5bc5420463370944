package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/manager/envmake"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/spf13/cobra"
)

// makeArg is one of the order-sensitive flags of `env make`, as given.
type makeArg struct {
	flag  string // "prop", "prop-file" or "entity"
	value string
}

// orderedFlag is a pflag.Value that appends every use of its flag to one
// shared list, so that the command sees --entity, --prop and --prop-file in
// the order of the command line (props after --entity belong to it).
type orderedFlag struct {
	name string
	args *[]makeArg
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
	*f.args = append(*f.args, makeArg{flag: f.name, value: v})
	return nil
}

func newEnvMakeCmd() *cobra.Command {
	var (
		args    []makeArg
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
			if out == "" {
				return &exitError{code: exitUsage, err: errors.New("-o: the output file is required (env.iso, env.xml, or - for standard output)")}
			}
			kind, err := makeFormat(out, format)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			env, err := buildMakeEnv(id, args)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if !noCheck {
				if err := checkMakeEnv(cmd.ErrOrStderr(), env); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			doc, err := env.Marshal()
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			switch {
			case out == "-":
				_, err = cmd.OutOrStdout().Write(doc)
			case kind == "iso":
				err = envmake.WriteISO(out, doc)
			default:
				err = fsutil.WriteFile(out, doc, 0o600)
			}
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("-o %s: %w", out, err)}
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

// makeFormat decides between "iso" and "xml".
func makeFormat(out, format string) (string, error) {
	switch strings.ToLower(format) {
	case "iso", "xml":
		if out == "-" && strings.ToLower(format) == "iso" {
			return "", errors.New("--format iso: an image cannot go to standard output; give -o FILE.iso")
		}
		return strings.ToLower(format), nil
	case "":
	default:
		return "", fmt.Errorf("--format %q: want iso or xml", format)
	}
	if out == "-" {
		return "xml", nil
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".iso":
		return "iso", nil
	case ".xml":
		return "xml", nil
	}
	return "", fmt.Errorf("-o %s: cannot tell the format from the extension; name it .iso or .xml, or give --format", out)
}

// buildMakeEnv turns the ordered flags into an environment.
func buildMakeEnv(id string, args []makeArg) (*ovfenv.Environment, error) {
	env := &ovfenv.Environment{ID: id, Properties: []ovfenv.Property{}}
	props := &env.Properties
	var errs []error
	for _, a := range args {
		switch a.flag {
		case "entity":
			if strings.TrimSpace(a.value) == "" {
				errs = append(errs, errors.New("--entity: the id is empty"))
				continue
			}
			if env.Entity(a.value) != nil {
				errs = append(errs, fmt.Errorf("--entity %q: given twice", a.value))
				continue
			}
			env.Entities = append(env.Entities, ovfenv.Entity{ID: a.value, Properties: []ovfenv.Property{}})
			props = &env.Entities[len(env.Entities)-1].Properties
		case "prop":
			p, err := parsePropArg(a.value, "")
			if err != nil {
				errs = append(errs, fmt.Errorf("--prop %q: %w", a.value, err))
				continue
			}
			*props = append(*props, p)
		case "prop-file":
			ps, err := readPropFile(a.value)
			if err != nil {
				errs = append(errs, fmt.Errorf("--prop-file %w", err))
				continue
			}
			*props = append(*props, ps...)
		}
	}
	return env, errors.Join(errs...)
}

// parsePropArg reads KEY=VALUE or KEY@=FILE; a relative FILE is taken
// relative to dir.
func parsePropArg(s, dir string) (ovfenv.Property, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return ovfenv.Property{}, errors.New(`want KEY=VALUE or KEY@=FILE`)
	}
	if name, isFile := strings.CutSuffix(k, "@"); isFile {
		k = name
		p := v
		if dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		data, err := fsutil.ReadFileLimit(p, ovfenv.MaxEnvSize)
		if err != nil {
			return ovfenv.Property{}, fmt.Errorf("property %s: %w", strings.TrimSpace(k), err)
		}
		v = string(data)
	}
	k = strings.TrimSpace(k)
	if k == "" {
		return ovfenv.Property{}, errors.New("the key is empty")
	}
	if strings.ContainsAny(k, " \t\r\n") {
		return ovfenv.Property{}, fmt.Errorf("key %q has white space in it", k)
	}
	return ovfenv.Property{Key: k, Value: v}, nil
}

// readPropFile reads a --prop-file: KEY=VALUE or KEY@=FILE lines, # comments.
func readPropFile(path string) ([]ovfenv.Property, error) {
	data, err := fsutil.ReadFileLimit(path, ovfenv.MaxEnvSize)
	if err != nil {
		return nil, err
	}
	return parsePropFile(bytes.NewReader(data), path)
}

func parsePropFile(r io.Reader, path string) ([]ovfenv.Property, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), ovfenv.MaxEnvSize)
	var props []ovfenv.Property
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		p, err := parsePropArg(strings.TrimLeft(line, " \t"), filepath.Dir(path))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
			continue
		}
		props = append(props, p)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return props, errors.Join(errs...)
}

// checkMakeEnv runs the agent's checks on the VM's own properties, warns
// about keys it does not read, and returns every error at once.
func checkMakeEnv(w io.Writer, env *ovfenv.Environment) error {
	for _, p := range env.Properties {
		if _, ok := ovfenv.LookupKey(p.Key); !ok {
			fmt.Fprintf(w, "warning: property %s: not a key ovfinit reads (see docs/properties.md)\n", p.Key)
		}
	}
	plan, err := agent.BuildPlan(env, linksNotChecked)
	for _, pw := range plan.Warnings {
		fmt.Fprintf(w, "warning: property %s: %v\n", pw.Key, pw.Err)
	}
	var msgs []string
	for _, e := range unjoinErr(err) {
		if e == nil || errors.Is(e, errLinksNotChecked) {
			continue
		}
		var pe *agent.PropertyError
		if errors.As(e, &pe) {
			msgs = append(msgs, fmt.Sprintf("property %s: %v", pe.Key, pe.Err))
		} else {
			msgs = append(msgs, e.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("nothing written: %d errors (--no-check skips the checks):\n  %s", len(msgs), strings.Join(msgs, "\n  "))
}
