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

// idDB resolves names to ids from the tree's own account files.
type idDB struct {
	fsys          *rootfs.FS
	passwd, group map[string]int
}

func (d *idDB) load(name string) (map[string]int, error) {
	data, err := d.fsys.ReadFile(name, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	out := map[string]int{}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			out[f[0]] = id
		}
	}
	return out, nil
}

// owner resolves "user:group"; "user" alone keeps the group root, as
// cloud-init leaves a new file's group.
func (d *idDB) owner(owner string) (uid, gid int, err error) {
	u, g, _ := strings.Cut(owner, ":")
	if g == "" {
		g = "root"
	}
	if d.passwd == nil {
		if d.passwd, err = d.load("/etc/passwd"); err != nil {
			return 0, 0, err
		}
		if d.group, err = d.load("/etc/group"); err != nil {
			return 0, 0, err
		}
	}
	uid, ok := d.passwd[u]
	if !ok {
		return 0, 0, fmt.Errorf("owner %s: no such user", u)
	}
	gid, ok = d.group[g]
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
