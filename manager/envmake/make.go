package envmake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/internal/errlist"
	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// Arg is one of the order-sensitive flags of `env make`, as given: Flag is
// "prop", "prop-file" or "entity". Properties after an entity belong to it.
type Arg struct {
	Flag  string
	Value string
}

// Options are `env make`'s flags.
type Options struct {
	ID      string // the Environment's oe:id
	Args    []Arg  // --prop, --prop-file, --entity in command-line order
	Out     string // NAME.iso, NAME.xml, or "-" for the XML on stdout
	Format  string // iso or xml; "": from Out's extension
	NoCheck bool   // do not check the properties the way the agent does
}

// UsageError is a problem with the flags themselves (exit status 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Make builds the environment o describes, checks it (unless NoCheck;
// warnings go to stderr) and writes it: an ISO (WriteISO), an XML file
// (0600: it may hold secrets), or the XML to stdout. A flag problem is a
// *UsageError; nothing is written when anything fails.
func Make(o Options, stdout, stderr io.Writer) error {
	if o.Out == "" {
		return &UsageError{errors.New("-o: the output file is required (env.iso, env.xml, or - for standard output)")}
	}
	kind, err := format(o.Out, o.Format)
	if err != nil {
		return &UsageError{err}
	}
	env, err := Build(o.ID, o.Args)
	if err != nil {
		return &UsageError{err}
	}
	if !o.NoCheck {
		if err := Check(stderr, env); err != nil {
			return err
		}
	}
	doc, err := env.Marshal()
	if err != nil {
		return err
	}
	switch {
	case o.Out == "-":
		_, err = stdout.Write(doc)
	case kind == "iso":
		err = WriteISO(o.Out, doc)
	default:
		err = fsutil.WriteFile(o.Out, doc, 0o600)
	}
	if err != nil {
		return fmt.Errorf("-o %s: %w", o.Out, err)
	}
	return nil
}

// format decides between "iso" and "xml".
func format(out, format string) (string, error) {
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

// Build turns the ordered flags into an environment.
func Build(id string, args []Arg) (*ovfenv.Environment, error) {
	env := &ovfenv.Environment{ID: id, Properties: []ovfenv.Property{}}
	props := &env.Properties
	var errs []error
	for _, a := range args {
		switch a.Flag {
		case "entity":
			if strings.TrimSpace(a.Value) == "" {
				errs = append(errs, errors.New("--entity: the id is empty"))
				continue
			}
			if env.Entity(a.Value) != nil {
				errs = append(errs, fmt.Errorf("--entity %q: given twice", a.Value))
				continue
			}
			env.Entities = append(env.Entities, ovfenv.Entity{ID: a.Value, Properties: []ovfenv.Property{}})
			props = &env.Entities[len(env.Entities)-1].Properties
		case "prop":
			p, err := parsePropArg(a.Value, "")
			if err != nil {
				errs = append(errs, fmt.Errorf("--prop %q: %w", a.Value, err))
				continue
			}
			*props = append(*props, p)
		case "prop-file":
			ps, err := readPropFile(a.Value)
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

// Check runs the agent's checks on the VM's own properties, warns
// about keys it does not read, and returns every error at once.
func Check(w io.Writer, env *ovfenv.Environment) error {
	for _, p := range env.Properties {
		if _, ok := ovfenv.LookupKey(p.Key); !ok {
			fmt.Fprintf(w, "warning: property %s: not a key ovfinit reads (see docs/properties.md)\n", p.Key)
		}
	}
	plan, err := agent.BuildPlan(env, LinksNotChecked)
	for _, pw := range plan.Warnings {
		fmt.Fprintf(w, "warning: property %s: %v\n", pw.Key, pw.Err)
	}
	var msgs []string
	for _, e := range errlist.Flatten(err) {
		if e == nil || errors.Is(e, ErrLinksNotChecked) {
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

// ErrLinksNotChecked is what LinksNotChecked reports; callers drop it.
var ErrLinksNotChecked = errors.New("network interfaces are not checked away from the VM")

// LinksNotChecked stands in for the machine's NICs when an environment is
// checked away from the VM it is for (`env make`, `env validate`):
// BuildPlan then skips only the checks that need the guest's NICs, and
// reports ErrLinksNotChecked.
func LinksNotChecked() (netcfg.Current, netcfg.Applied, error) {
	return netcfg.Current{}, netcfg.Applied{}, ErrLinksNotChecked
}
