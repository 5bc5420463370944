package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/winacl"
	"golang.org/x/sys/windows"
)

// DefaultRuntimeDir is where the secrets of the running boot are kept.
// Windows has no tmpfs: the directory is under %ProgramData%\ovfinit, made
// with a DACL for SYSTEM and Administrators only (secureDirs), EndBoot
// deletes what it holds when the agent stops, and the next start deletes
// what a machine stopped hard left there (removeStale).
const DefaultRuntimeDir = "/ProgramData/ovfinit/run"

// DefaultStatusDir is the directory of the world-readable status file:
// outside %ProgramData%\ovfinit, whose DACL keeps every other user out, so
// it keeps ProgramData's own (users may read).
const DefaultStatusDir = "/ProgramData/ovfinit-status"

// liveRoot reports whether root is the running system's: "/" (the current
// drive) or the system drive's root ("C:\\"), which is what to give when the
// current drive may be another (Wine maps the host's / to Z:).
func liveRoot(root string) bool {
	if root == "/" || root == `\` {
		return true
	}
	sys := os.Getenv("SystemDrive")
	if sys == "" {
		sys = "C:"
	}
	return strings.EqualFold(filepath.Clean(root), sys+`\`)
}

// secureDirs makes the state and runtime directories before anything is
// written in them, with winacl.SDDL's DACL set at creation (their files
// inherit it): without it they would inherit the drive's permissions, and
// every local user could read the clear environment, the SSH host keys and
// the callback secret.
func secureDirs(e *Env) error {
	for _, d := range []string{e.StateDir, e.runtimeDir()} {
		if d == "" {
			continue
		}
		p := filepath.Join(e.Root, filepath.FromSlash(d))
		if err := winacl.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("making %s: %w", p, err)
		}
	}
	removeStale(e, filepath.Join(e.Root, filepath.FromSlash(e.runtimeDir())), time.Now().Add(-windows.DurationSinceBoot()))
	return nil
}

// removeStale deletes what the runtime directory holds from before this
// start of Windows (osBoot): EndBoot deletes it when the agent stops, but
// a machine that was reset or powered off hard never stopped the agent,
// and Windows has no tmpfs to lose it. Files of this boot (an agent
// restarted by the service manager) stay. What cannot be deleted is
// logged, not fatal: the directory's DACL still keeps it private.
func removeStale(e *Env, dir string, osBoot time.Time) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // just made: there is nothing, or nothing to be done
	}
	for _, ent := range ents {
		fi, err := ent.Info()
		if err != nil || !fi.ModTime().Before(osBoot) {
			continue
		}
		p := filepath.Join(dir, ent.Name())
		if err := os.RemoveAll(p); err != nil {
			e.Log.Warn("a secret of an earlier boot left on disk", "path", p, "err", err)
			continue
		}
		e.Log.Info("deleted a secret of an earlier boot that did not end cleanly", "path", p, "written", fi.ModTime().UTC().Format(time.RFC3339))
	}
}

// EndBoot deletes the runtime directory's files (the clear environment,
// the callback secret) when the agent stops at the end of the boot: what a
// tmpfs does on Linux. The directory itself stays, with its DACL.
func (e *Env) EndBoot() error {
	dir := filepath.Join(e.Root, filepath.FromSlash(e.runtimeDir()))
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting this boot's secrets: %w", err)
	}
	var errs []error
	for _, ent := range ents {
		if err := os.RemoveAll(filepath.Join(dir, ent.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("deleting this boot's secrets: %w", errors.Join(errs...))
	}
	return nil
}
