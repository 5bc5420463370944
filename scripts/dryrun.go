package scripts

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// DryRun is a Host that does nothing to the machine: every effect (a file
// written, appended, removed, a directory made, a mode changed, a command
// run, progress) is written to Out as one line and kept in Effects, and
// reads see the files as the script would have left them (the writes are
// kept in memory, over Base). Commands "succeed" with an empty output
// unless Commands says otherwise.
type DryRun struct {
	// Base answers reads and host facts; its effects are never called.
	Base Host
	// Out receives one line per effect; nil keeps them in Effects only.
	Out io.Writer
	// Commands, if set, gives the result of a command (argv joined by
	// spaces) in place of success with no output.
	Commands func(argv []string) Result

	mu      sync.Mutex
	Effects []string
	files   map[string][]byte // written or appended, by local path
	removed map[string]bool
}

func (d *DryRun) effect(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	d.mu.Lock()
	d.Effects = append(d.Effects, line)
	d.mu.Unlock()
	if d.Out != nil {
		fmt.Fprintln(d.Out, line)
	}
}

func (d *DryRun) key(path string) (string, error) {
	rel, err := rootfs.Local(path)
	if err != nil {
		return "", err
	}
	return "/" + strings.ReplaceAll(rel, `\`, "/"), nil
}

// ReadFile implements Host: what the script wrote, else Base's file.
func (d *DryRun) ReadFile(path string) ([]byte, error) {
	k, err := d.key(path)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	data, ok := d.files[k]
	gone := d.removed[k]
	d.mu.Unlock()
	if ok {
		return append([]byte(nil), data...), nil
	}
	if gone {
		return nil, &fs.PathError{Op: "open", Path: k, Err: fs.ErrNotExist}
	}
	return d.Base.ReadFile(path)
}

func (d *DryRun) store(k string, data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.files == nil {
		d.files = map[string][]byte{}
	}
	d.files[k] = data
	delete(d.removed, k)
}

// WriteFile implements Host.
func (d *DryRun) WriteFile(path string, data []byte, mode fs.FileMode, owner string) error {
	k, err := d.key(path)
	if err != nil {
		return err
	}
	own := ""
	if owner != "" {
		own = " owner " + owner
	}
	d.effect("write %s (%d bytes, mode %#o%s)", k, len(data), mode.Perm(), own)
	d.store(k, append([]byte(nil), data...))
	return nil
}

// AppendFile implements Host.
func (d *DryRun) AppendFile(path string, data []byte) error {
	k, err := d.key(path)
	if err != nil {
		return err
	}
	old, err := d.ReadFile(path)
	if err != nil && !isNotExist(err) {
		return err
	}
	d.effect("append %s (%d bytes)", k, len(data))
	d.store(k, append(old, data...))
	return nil
}

// Exists implements Host.
func (d *DryRun) Exists(path string) (bool, error) {
	k, err := d.key(path)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	_, ok := d.files[k]
	gone := d.removed[k]
	d.mu.Unlock()
	if ok || gone {
		return ok, nil
	}
	return d.Base.Exists(path)
}

// Remove implements Host.
func (d *DryRun) Remove(path string) (bool, error) {
	k, err := d.key(path)
	if err != nil {
		return false, err
	}
	ok, err := d.Exists(path)
	if err != nil {
		return false, err
	}
	if ok {
		d.effect("remove %s", k)
		d.mu.Lock()
		delete(d.files, k)
		if d.removed == nil {
			d.removed = map[string]bool{}
		}
		d.removed[k] = true
		d.mu.Unlock()
	}
	return ok, nil
}

// Mkdir implements Host.
func (d *DryRun) Mkdir(path string, mode fs.FileMode) error {
	k, err := d.key(path)
	if err != nil {
		return err
	}
	d.effect("mkdir %s (mode %#o)", k, mode.Perm())
	return nil
}

// Chmod implements Host.
func (d *DryRun) Chmod(path string, mode fs.FileMode) error {
	k, err := d.key(path)
	if err != nil {
		return err
	}
	d.effect("chmod %s %#o", k, mode.Perm())
	return nil
}

// Exec implements Host.
func (d *DryRun) Exec(ctx context.Context, c Command) (Result, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{}, fmt.Errorf("empty command")
	}
	line := "exec " + cmdrun.Quote(c.Argv)
	if len(c.Env) > 0 {
		line += " env " + strings.Join(c.Env, " ")
	}
	if c.Stdin != nil {
		line += fmt.Sprintf(" stdin (%d bytes)", len(c.Stdin))
	}
	d.effect("%s", line)
	if d.Commands != nil {
		return d.Commands(c.Argv), nil
	}
	return Result{}, nil
}

// Info implements Host with Base's facts.
func (d *DryRun) Info() (HostInfo, error) { return d.Base.Info() }

// Interfaces implements Host with Base's interfaces.
func (d *DryRun) Interfaces() ([]Interface, error) { return d.Base.Interfaces() }

// Progress implements Host.
func (d *DryRun) Progress(percent int, message string) {
	d.effect("progress %d%% %s", percent, strconv.Quote(message))
}
