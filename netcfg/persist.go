package netcfg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The configuration that outlives the boot, written under a root through
// the rooted file system (a link in an image tree cannot lead a write out
// of it). agent's network step calls these; they hold no state of their
// own.

// maxPersisted bounds what is read back of a file these functions keep.
const maxPersisted = 16 << 20

// WritePersistent writes files (Render's, for manager m) under root. For
// ifupdown, whose file goes into interfaces.d, it also adds the
// source-directory line to /etc/network/interfaces when that file does not
// read interfaces.d. It returns the files written.
func WritePersistent(root string, m Manager, files []File, log *slog.Logger) ([]File, error) {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	if m == ManagerIfupdown {
		const p = "/etc/network/interfaces"
		cur, err := fsys.ReadFile(p, maxPersisted)
		if err != nil {
			return nil, err
		}
		if fixed, ok := IfupdownSourced(cur); !ok {
			fi, err := fsys.Stat(p)
			if err != nil {
				return nil, err
			}
			log.Warn("/etc/network/interfaces did not read interfaces.d: source-directory line added", "file", p)
			files = append(files, File{Path: p, Data: fixed, Mode: fi.Mode().Perm()})
		}
	}
	for _, f := range files {
		log.Info("network config written", "manager", string(m), "file", f.Path)
		if err := writeFile(fsys, f, log); err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return files, nil
}

// writeFile writes one rendered file; a file with a Group (secrets the
// manager's own user reads) is owned by that group of the image, or
// root-only (0600) when the image has no such group.
func writeFile(fsys *rootfs.FS, f File, log *slog.Logger) error {
	if f.Group == "" {
		return fsys.WriteFile(f.Path, f.Data, f.Mode, rootfs.Keep)
	}
	groups, _ := fsys.ReadFile("/etc/group", maxPersisted)
	gid, ok := GroupID(groups, f.Group)
	if !ok {
		log.Warn("group not in the image: file made root-only", "group", f.Group, "file", f.Path)
		return fsys.WriteFile(f.Path, f.Data, 0o600, rootfs.Keep)
	}
	return fsys.WriteFile(f.Path, f.Data, f.Mode, rootfs.WriteOptions{UID: -1, GID: gid})
}

// RemoveStale removes the files ovfinit wrote under root at an earlier
// boot for an interface that is now named differently, or for the
// fallback that is no longer used (Stale): left in place they would
// configure the old name (DHCP on the old fallback NIC) next to files,
// the ones just written. The image's own files are never touched.
func RemoveStale(root string, m Manager, files []File, log *slog.Logger) error {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer fsys.Close()
	present := map[string][]byte{}
	for _, dir := range ManagedDirs(m) {
		entries, err := fsys.ReadDir(dir)
		if err != nil {
			continue // no such directory: nothing left behind
		}
		for _, de := range entries {
			if !de.Type().IsRegular() {
				continue
			}
			p := dir + "/" + de.Name()
			if b, err := fsys.ReadFile(p, maxPersisted); err == nil {
				present[p] = b
			}
		}
	}
	for _, p := range Stale(present, files) {
		log.Info("network config from an earlier boot removed", "manager", string(m), "file", p)
		if err := fsys.Remove(p); err != nil {
			return fmt.Errorf("removing %s: %w", p, err)
		}
	}
	return nil
}

// IfupdownState is ifupdown's (0.8) record of the interfaces it brought
// up: the file lists them as "iface=logical-iface" lines (ifdown -a takes
// those down), and ifstate.IFACE holds the logical name of each; ifup
// skips an interface whose ifstate.IFACE is not empty.
const IfupdownState = "/run/network/ifstate"

// MarkIfupdownUp records the NICs of c in ifupdown's state under root, as
// if ifup had brought them up: the image's networking.service (ifup -a,
// after ovfinit) then leaves them as they are instead of adding the same
// address and route again, which fails ("RTNETLINK answers: File exists")
// and leaves the boot degraded; ifdown -a at shutdown still takes them
// down. Lines for other interfaces are kept.
func MarkIfupdownUp(root string, c Config) error {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer fsys.Close()
	cur, err := fsys.ReadFile(IfupdownState, maxPersisted)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", IfupdownState, err)
	}
	var lines []string
	have := map[string]bool{}
	for _, l := range strings.Split(string(cur), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
			name, _, _ := strings.Cut(l, "=")
			have[name] = true
		}
	}
	if err := fsys.MkdirAll(path.Dir(IfupdownState), 0o755); err != nil {
		return fmt.Errorf("handing the NICs to ifupdown: %w", err)
	}
	for _, n := range c.NICs {
		if n.Name == "" || strings.ContainsAny(n.Name, "/=") {
			continue
		}
		if err := fsys.WriteFile(IfupdownState+"."+n.Name, []byte(n.Name+"\n"), 0o644, rootfs.Keep); err != nil {
			return fmt.Errorf("handing %s to ifupdown: %w", n.Name, err)
		}
		if !have[n.Name] {
			lines = append(lines, n.Name+"="+n.Name)
			have[n.Name] = true
		}
	}
	if err := fsys.WriteFile(IfupdownState, []byte(strings.Join(lines, "\n")+"\n"), 0o644, rootfs.Keep); err != nil {
		return fmt.Errorf("handing the NICs to ifupdown: writing %s: %w", IfupdownState, err)
	}
	return nil
}

// LoadApplied reads what an earlier boot applied (SaveApplied) from name
// under root; a missing file is nothing applied.
func LoadApplied(root, name string) (Applied, error) {
	var a Applied
	b, err := rootfs.ReadFileAt(root, name, maxPersisted)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// SaveApplied records a in name under root (0600), so that the next boot
// removes the addresses and routes its new configuration drops.
func SaveApplied(root, name string, a Applied) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return rootfs.WriteFileAt(root, name, b, 0o600)
}

// LiveAddresses lists the global addresses now on the interfaces c names,
// in c's order (DHCP leases included).
func LiveAddresses(c Config, cur Current) []string {
	var out []string
	for _, n := range c.NICs {
		for _, l := range cur.Links {
			if l.Name != n.Name {
				continue
			}
			for _, a := range l.Addrs {
				out = append(out, a.String())
			}
		}
	}
	return out
}

// Activate has the image's network manager take over, this boot, the files
// WritePersistent wrote on the running system, where it would otherwise
// read them only at the next boot. netplan: its systemd generator ran
// before ovfinit wrote /etc/netplan, so nothing in /run configures the
// NICs and systemd-networkd lists them "unmanaged" (DHCP renewals, the
// routes' lifetimes and networkctl then miss them); `netplan generate`
// renders them, as cloud-init does after writing its netplan file, and a
// systemd-networkd already running reloads (one not started yet reads them
// when it starts, after ovfinit: network-pre.target). Other managers read
// ovfinit's files when they start, after ovfinit, and need nothing.
func Activate(ctx context.Context, m Manager, run cmdrun.Runner) error {
	if m != ManagerNetplan || run == nil {
		return nil
	}
	if err := cmdrun.Run(ctx, run, "netplan", "generate"); err != nil {
		return err
	}
	return cmdrun.Run(ctx, run, "systemctl", "try-reload-or-restart", "systemd-networkd.service")
}
