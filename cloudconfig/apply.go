package cloudconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// WriteFiles writes the entries of files whose Defer is deferred, under
// root, through the rooted file system (a link in the image cannot lead a
// write out of it). Owners are looked up in root's /etc/passwd and
// /etc/group.
func WriteFiles(root string, files []File, deferred bool, log *slog.Logger) (int, error) {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return 0, err
	}
	defer fsys.Close()
	ids := &idDB{fsys: fsys}
	n := 0
	for _, f := range files {
		if f.Defer != deferred {
			continue
		}
		uid, gid, err := ids.owner(f.Owner)
		if err != nil {
			return n, fmt.Errorf("write_files (line %d) %s: %w", f.Line, f.Path, err)
		}
		data := f.Content
		if f.Append {
			old, err := fsys.ReadFile(f.Path, maxFile)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, fmt.Errorf("write_files (line %d) %s: %w", f.Line, f.Path, err)
			}
			data = append(old, data...)
		}
		if err := fsys.WriteFile(f.Path, data, fs.FileMode(f.Permissions), rootfs.WriteOptions{UID: uid, GID: gid}); err != nil {
			return n, fmt.Errorf("write_files (line %d) %s: %w", f.Line, f.Path, err)
		}
		// WriteFile's mode passes through the umask; set it as asked.
		if err := fsys.Chmod(f.Path, fs.FileMode(f.Permissions)); err != nil {
			return n, fmt.Errorf("write_files (line %d) %s: %w", f.Line, f.Path, err)
		}
		log.Info("file written", "path", f.Path, "bytes", len(data), "owner", f.Owner, "mode", fmt.Sprintf("%04o", f.Permissions), "append", f.Append)
		n++
	}
	return n, nil
}

// idDB resolves names to ids from the tree's own account files, with
// internal/passwd (the one reader: the first line of a name wins, as in
// getpwnam, and a malformed line of that name is an error naming it).
type idDB struct {
	fsys          *rootfs.FS
	passwd, group []byte
	loaded        bool
}

// id returns the id (third field) of name in file's data.
func id(data []byte, file, kind, name string) (int, bool, error) {
	line, e := passwd.FindLine(data, name)
	if e == nil {
		return 0, false, nil
	}
	if len(e) < 3 {
		return 0, false, fmt.Errorf("%s:%d: %s: want colon-separated fields, got %d", file, line, name, len(e))
	}
	n, err := strconv.ParseUint(e[2], 10, 32)
	if err != nil {
		return 0, false, fmt.Errorf("%s:%d: %s: bad %s %q", file, line, name, kind, e[2])
	}
	return int(n), true, nil
}

// owner resolves "user:group"; "user" alone keeps the group root, as
// cloud-init leaves a new file's group.
func (d *idDB) owner(owner string) (uid, gid int, err error) {
	u, g, _ := strings.Cut(owner, ":")
	if g == "" {
		g = "root"
	}
	if !d.loaded {
		if d.passwd, err = d.fsys.ReadFile("/etc/passwd", passwd.MaxFile); err != nil {
			return 0, 0, fmt.Errorf("reading /etc/passwd: %w", err)
		}
		if d.group, err = d.fsys.ReadFile("/etc/group", passwd.MaxFile); err != nil {
			return 0, 0, fmt.Errorf("reading /etc/group: %w", err)
		}
		d.loaded = true
	}
	uid, ok, err := id(d.passwd, "/etc/passwd", "uid", u)
	if err != nil {
		return 0, 0, fmt.Errorf("owner %s: %w", u, err)
	}
	if !ok {
		return 0, 0, fmt.Errorf("owner %s: no such user", u)
	}
	gid, ok, err = id(d.group, "/etc/group", "gid", g)
	if err != nil {
		return 0, 0, fmt.Errorf("owner %s: %w", owner, err)
	}
	if !ok {
		return 0, 0, fmt.Errorf("owner %s: no such group %s", owner, g)
	}
	return uid, gid, nil
}

// CommandArgv is the argv a runcmd or bootcmd entry runs: a shell line
// through /bin/sh -c, a list as it is; env (NAME=value) goes before it
// through env(1).
func CommandArgv(c Command, env ...string) []string {
	argv := c.Argv
	if argv == nil {
		argv = []string{"/bin/sh", "-c", c.Shell}
	}
	if len(env) > 0 {
		argv = append(append([]string{"env"}, env...), argv...)
	}
	return argv
}

// RunCommands runs each command in order and stops at the first failure,
// naming the module, the entry and its line.
func RunCommands(ctx context.Context, run cmdrun.Runner, module string, cmds []Command, env ...string) error {
	for i, c := range cmds {
		argv := CommandArgv(c, env...)
		if err := cmdrun.Run(ctx, run, argv...); err != nil {
			return fmt.Errorf("%s[%d] (user-data line %d): %w", module, i, c.Line, err)
		}
	}
	return nil
}

// Package managers PackageCommands knows, and the file that shows each.
var packageManagers = []struct{ name, file string }{
	{"apt", "/usr/bin/apt-get"},
	{"dnf", "/usr/bin/dnf"},
	{"yum", "/usr/bin/yum"},
	{"zypper", "/usr/bin/zypper"},
	{"apk", "/sbin/apk"},
}

// DetectPackageManager names the package manager of the tree at root:
// apt, dnf, yum, zypper or apk; "" when it has none of them.
func DetectPackageManager(root string) string {
	for _, m := range packageManagers {
		if fi, err := rootfs.StatAt(root, m.file); err == nil && !fi.IsDir() {
			return m.name
		}
	}
	return ""
}

// PackageCommands is what the packages modules run with manager m, in
// order: the index update (package_update, or any package to install, as
// cloud-init does), the upgrade (package_upgrade), the install.
func PackageCommands(m string, c *Config) ([][]string, error) {
	if len(c.Packages) == 0 && !c.PackageUpdate && !c.PackageUpgrade {
		return nil, nil
	}
	var update, upgrade, install []string
	ver := "="
	switch m {
	case "apt":
		apt := []string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "--option=Dpkg::Options::=--force-confold", "--assume-yes", "--quiet"}
		update, upgrade, install = append(apt[:3:3], "update"), append(apt, "dist-upgrade"), append(apt, "install")
	case "dnf", "yum":
		update, upgrade, install = []string{m, "makecache"}, []string{m, "-y", "upgrade"}, []string{m, "-y", "install"}
		ver = "-"
	case "zypper":
		z := []string{"zypper", "--non-interactive"}
		update, upgrade, install = append(z[:2:2], "refresh"), append(z[:2:2], "update"), append(z, "install")
	case "apk":
		update, upgrade, install = []string{"apk", "update"}, []string{"apk", "upgrade"}, []string{"apk", "add"}
	default:
		return nil, fmt.Errorf("the image has no package manager ovfinit knows (apt-get, dnf, yum, zypper, apk)")
	}
	var out [][]string
	if c.PackageUpdate || len(c.Packages) > 0 {
		out = append(out, update)
	}
	if c.PackageUpgrade {
		out = append(out, upgrade)
	}
	if len(c.Packages) > 0 {
		for _, p := range c.Packages {
			if p.Version != "" {
				install = append(install, p.Name+ver+p.Version)
			} else {
				install = append(install, p.Name)
			}
		}
		out = append(out, install)
	}
	return out, nil
}

// PowerArgv is cloud-init's power_state command: shutdown with -P, -r or
// -H, the delay (now, +MINUTES) and the message.
func PowerArgv(ps *PowerState) []string {
	flag := map[string]string{"poweroff": "-P", "reboot": "-r", "halt": "-H"}[ps.Mode]
	when := "now"
	if ps.Delay > 0 {
		when = "+" + strconv.Itoa(ps.Delay)
	}
	argv := []string{"shutdown", flag, when}
	if ps.Message != "" {
		argv = append(argv, ps.Message)
	}
	return argv
}
