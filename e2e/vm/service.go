package vm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// addTree adds the directory tree under dir to the archive (nothing when
// dir is empty).
func addTree(a *archive, dir string) error {
	if dir == "" {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			a.symlink(rel, target)
		case fi.IsDir():
			a.dir(rel, uint32(fi.Mode().Perm()))
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			a.file(rel, uint32(fi.Mode().Perm()), data)
		default:
			return fmt.Errorf("tree %s: %s is not a file, directory or symlink", dir, rel)
		}
		return nil
	})
}

// serviceInitScript replaces the direct start in script with start, the
// way an init system runs a service: start forks the agent and writes
// /run/ovfinit.pid; the agent is then not /init's child, so its exit is
// seen by polling the pid, and its status is not known ("service").
func serviceInitScript(script, start string) string {
	if start == "" {
		return script
	}
	// The default block, as initScript rendered it: from the agent's start
	// to its exit report.
	i := strings.Index(script, "\t/bin/ovfinit ")
	j := strings.Index(script, "\techo \"OVFINIT-EXIT $?\"\n")
	if i < 0 || j < i {
		panic("vm: initTemplate's agent block changed; update serviceInitScript")
	}
	block := "\t" + start + "\n" +
		"\tpid=$(cat /run/ovfinit.pid 2>/dev/null)\n" +
		"\twhile [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && ! grep -q '^State:.*Z' \"/proc/$pid/status\" 2>/dev/null; do sleep 1; done\n" +
		"\techo \"OVFINIT-EXIT service\"\n"
	return script[:i] + block + script[j+len("\techo \"OVFINIT-EXIT $?\"\n"):]
}
