package ovfenv

import (
	"errors"
	"fmt"
	"io/fs"
	slashpath "path"
	"path/filepath"
	"strings"

	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The copies of the last valid environment a boot keeps, so that a boot
// that finds none (an ejected ISO) keeps what was applied. Both are 0600.
//
//   - SavedClearName is the environment in clear, secrets included, in the
//     runtime directory (a tmpfs: never on the persistent disk, never in
//     the state directory). It exists only while the instance may still
//     need it: the agent removes it (Saved.ForgetClear) once every step of
//     the boot has run; a reboot loses it.
//   - SavedRedactedName has every secret replaced (RedactedCopy): what
//     `ovfinit status` and `ovfinit env show` read, and what a later boot
//     uses when the clear copy is gone; its redacted values read as unset.
const (
	SavedClearName    = "ovf-env.xml"
	SavedRedactedName = "ovf-env.redacted.xml"
)

// maxSavedFile bounds what is read back of a saved copy.
const maxSavedFile = MaxEnvSize

// Saved is where the copies of the environment live under a root.
type Saved struct {
	Root       string // the tree: "/" on a live system; "" means "/"
	RuntimeDir string // slash path under Root of the clear copy's directory
	StateDir   string // slash path under Root of the redacted copy's directory
	// Redact makes the redacted copy; nil means RedactedCopy. A caller
	// that knows more secrets than the key table (a password inside
	// user-data) passes its own, built on RedactedCopy.
	Redact func(*Environment) *Environment
}

// ClearPath is the clear copy's slash path under Root.
func (s Saved) ClearPath() string { return slashpath.Join("/", s.RuntimeDir, SavedClearName) }

// RedactedPath is the redacted copy's slash path under Root.
func (s Saved) RedactedPath() string { return slashpath.Join("/", s.StateDir, SavedRedactedName) }

func (s Saved) root() string {
	if s.Root == "" {
		return "/"
	}
	return s.Root
}

// Save writes the clear and the redacted copies of env, read from src
// (0600). The clear copy is src's document as read, unless direct keys were
// merged in (src.Extra) or there is none: then it is env marshalled whole.
func (s Saved) Save(src *Source, env *Environment) error {
	clear := src.Data
	if len(src.Extra) > 0 || len(clear) == 0 {
		var err error
		if clear, err = env.Marshal(); err != nil {
			return err
		}
	}
	redactFn := s.Redact
	if redactFn == nil {
		redactFn = RedactedCopy
	}
	redacted, err := redactFn(env).Marshal()
	if err != nil {
		return err
	}
	if err := rootfs.WriteFileAt(s.root(), s.RedactedPath(), redacted, 0o600); err != nil {
		return err
	}
	fsys, err := rootfs.Open(s.root())
	if err != nil {
		return err
	}
	err = fsys.MkdirAll(slashpath.Dir(s.ClearPath()), 0o700)
	fsys.Close()
	if err != nil {
		return err
	}
	return rootfs.WriteFileAt(s.root(), s.ClearPath(), clear, 0o600)
}

// Load returns the clear copy when it is there, else the redacted one, as a
// Source of TransportSaved whose Environment drops the redacted values. It
// returns an error wrapping ErrNoEnvironment when there is neither.
func (s Saved) Load() (*Source, error) {
	for _, p := range []string{s.ClearPath(), s.RedactedPath()} {
		data, err := rootfs.ReadFileAt(s.root(), p, maxSavedFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the saved environment %s: %w", p, err)
		}
		return &Source{
			Transport: TransportSaved,
			Location:  filepath.Join(s.root(), filepath.FromSlash(p)),
			Data:      data,
			redacted:  p == s.RedactedPath(),
		}, nil
	}
	return nil, fmt.Errorf("no environment saved from an earlier boot: %w", ErrNoEnvironment)
}

// ForgetClear removes the clear copy when the redacted one is there (it is
// enough from then on). It says what it did, or why it did nothing
// (done false).
func (s Saved) ForgetClear() (note string, done bool, err error) {
	fsys, err := rootfs.Open(s.root())
	if err != nil {
		return "", false, err
	}
	defer fsys.Close()
	if _, err := fsys.Stat(s.RedactedPath()); err != nil {
		return "no redacted copy saved; keeping the clear one", false, nil
	}
	switch err := fsys.Remove(s.ClearPath()); {
	case errors.Is(err, fs.ErrNotExist):
		return "no clear copy of the environment to remove", false, nil
	case err != nil:
		return "", false, fmt.Errorf("removing the clear copy of the environment: %w", err)
	}
	return fmt.Sprintf("removed %s; %s stays", SavedClearName, SavedRedactedName), true, nil
}

// RedactedCopy is env as the state directory keeps it and `ovfinit env
// show` prints it: every secret replaced by Redaction (Redacted), and the
// user information and query values of every URL by redact.URLMark.
func RedactedCopy(env *Environment) *Environment {
	c := env.Redacted()
	urls := func(props []Property) {
		for i, p := range props {
			if v, ok := redact.URL(p.Value); ok {
				props[i].Value = v
			}
		}
	}
	urls(c.Properties)
	for _, en := range c.Entities {
		urls(en.Properties)
	}
	return c
}

// unredact drops the redacted values of a saved redacted copy, so that they
// read as unset rather than as the text "(redacted)": the secrets, and the
// URLs whose credentials were redacted (a callback URL with a token is not
// used on a later boot that has only the redacted copy).
func unredact(env *Environment) *Environment {
	keep := env.Properties[:0]
	for _, p := range env.Properties {
		if p.Value == Redaction { // a secret, or user-data holding one
			continue
		}
		if r, ok := redact.URL(p.Value); ok && r == strings.TrimSpace(p.Value) {
			continue
		}
		keep = append(keep, p)
	}
	env.Properties = keep
	return env
}

// Secrets returns what must never be shown of env: the values of the set
// secret properties (IsSecret), its own and its entities', and the
// credentials of every URL value (redact.URLSecrets). short names the
// secret properties too short to be searched for in text (redact.MinLen).
func (e *Environment) Secrets() (values, short []string) {
	learn := func(props []Property) {
		for _, p := range props {
			if IsSecret(p.Key) && !IsUnset(p.Value) {
				values = append(values, p.Value)
				if len(p.Value) < redact.MinLen {
					short = append(short, p.Key)
				}
			}
			values = append(values, redact.URLSecrets(p.Value)...)
		}
	}
	if e == nil {
		return nil, nil
	}
	learn(e.Properties)
	for _, en := range e.Entities {
		learn(en.Properties)
	}
	return values, short
}
