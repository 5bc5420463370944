package netcfg

import (
	"bytes"
	"path"
	"slices"
	"strings"
)

// ManagedDirs are the directories (under the root) where m's renderer
// writes files named per interface, and so where a file from an earlier
// boot can be left behind when an interface is renamed or the fallback is
// left.
func ManagedDirs(m Manager) []string {
	switch m {
	case ManagerNetworkd:
		return []string{"/etc/systemd/network", "/etc/udev/rules.d"}
	case ManagerNetworkManager:
		return []string{"/etc/NetworkManager/system-connections", "/etc/udev/rules.d"}
	case ManagerIfcfg:
		return []string{"/etc/sysconfig/network-scripts", "/etc/udev/rules.d"}
	case ManagerIfupdown:
		return []string{"/etc/udev/rules.d"}
	}
	return nil
}

// Stale returns the files in present (path to content, in ManagedDirs)
// that ovfinit wrote at an earlier boot and that files no longer has:
// their names say ovfinit (10-ovfinit-*, ovfinit-*.nmconnection,
// ifcfg-ovfinit-fallback, 70-ovfinit-net-names.rules) or, for the
// network-scripts that must be named ifcfg-<if>, route-<if>, rule-<if>,
// their first line is ovfinit's header. A file of the image is never
// stale: it has neither.
func Stale(present map[string][]byte, files []File) []string {
	var out []string
	for p, data := range present {
		if slices.ContainsFunc(files, func(f File) bool { return f.Path == p }) {
			continue
		}
		if !bytes.HasPrefix(data, []byte(header)) {
			continue
		}
		base := path.Base(p)
		dir := path.Dir(p)
		ours := strings.Contains(base, "ovfinit")
		if dir == "/etc/sysconfig/network-scripts" {
			for _, pre := range []string{"ifcfg-", "route-", "route6-", "rule-", "rule6-"} {
				ours = ours || strings.HasPrefix(base, pre)
			}
		}
		if ours {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}
