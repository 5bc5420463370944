package users

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// End states of `ovfinit seal`.
const (
	EndOff    = "off"
	EndReboot = "reboot"
	EndOn     = "on"
)

// ValidEndState checks an --end-state value.
func ValidEndState(s string) error {
	switch s {
	case EndOff, EndReboot, EndOn:
		return nil
	}
	return fmt.Errorf("--end-state: %q is not off, reboot or on", s)
}

// SealItem is one thing seal removes or empties.
type SealItem struct {
	Action string // "userdel", "remove", "truncate"
	Path   string // path on the target system (under the root), or the user
}

func (i SealItem) String() string { return i.Action + " " + i.Path }

// rotatedLog matches the names logrotate and friends give old logs.
var rotatedLog = regexp.MustCompile(`(\.[0-9]+(\.(gz|xz|bz2|zst))?|\.(gz|xz|bz2|zst)|\.old|-[0-9]{8}(\.(gz|xz|bz2|zst))?|\.journal~?)$`)

// shellHistories are the files shells and tools keep their history in.
var shellHistories = []string{".bash_history", ".zsh_history", ".ash_history", ".sh_history", ".history", ".python_history", ".lesshst", ".mysql_history", ".psql_history", ".local/share/fish/fish_history"}

// dhcpLeases are the lease files of the common DHCP clients.
var dhcpLeases = []string{
	"/var/lib/dhcp/*.lease*", "/var/lib/dhclient/*.lease*", "/var/lib/NetworkManager/*.lease",
	"/var/lib/dhcpcd/*.lease*", "/var/lib/dhcpcd5/*.lease*", "/var/lib/wicked/lease-*",
	"/var/db/dhclient.leases.*", "/var/db/dhcpcd/*.lease*", "/var/lib/systemd/network/*.lease",
}

// PlanSeal lists what sealing the image under root removes: reservation
// users, SSH host keys (the system's and ovfinit's), the machine id
// (truncated, as systemd expects, so the next boot makes a new one), the
// D-Bus machine id file, ovfinit's state and saved environment (and, when
// runtimeDir is set, its runtime directory: the callback secret), DHCP
// leases, logs (rotated ones removed, the others truncated), shell
// histories and the contents of /tmp and /var/tmp. It changes nothing.
func PlanSeal(root, stateDir, runtimeDir string) ([]SealItem, error) {
	var items []SealItem
	rs, err := Reservations(root, stateDir)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		items = append(items, SealItem{"userdel", r.User})
	}
	fsys, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	readDir := func(dir string) ([]fs.DirEntry, error) {
		ents, err := fsys.ReadDir(dir)
		slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		return ents, err
	}
	// Every look goes through rootfs: a link in an offline image (var ->
	// /var) must not list, and so have seal remove, the build host's files.
	glob := func(action string, patterns ...string) {
		for _, p := range patterns {
			dir, pat := path.Split(p)
			ents, _ := readDir(dir)
			for _, e := range ents {
				if ok, _ := path.Match(pat, e.Name()); ok {
					items = append(items, SealItem{action, path.Join(dir, e.Name())})
				}
			}
		}
	}
	glob("remove", "/etc/ssh/ssh_host_*")
	if fi, err := fsys.Stat("/etc/machine-id"); err == nil && fi.Size() > 0 {
		items = append(items, SealItem{"truncate", "/etc/machine-id"})
	}
	if fi, err := fsys.Lstat("/var/lib/dbus/machine-id"); err == nil && fi.Mode().IsRegular() {
		items = append(items, SealItem{"remove", "/var/lib/dbus/machine-id"})
	}
	items = append(items, contents(readDir, stateDir)...)
	if runtimeDir != "" {
		items = append(items, contents(readDir, runtimeDir)...)
	}
	glob("remove", dhcpLeases...)
	var walkLogs func(dir string)
	walkLogs = func(dir string) {
		ents, _ := readDir(dir)
		for _, d := range ents {
			p := path.Join(dir, d.Name())
			switch {
			case d.IsDir():
				walkLogs(p)
			case !d.Type().IsRegular():
			case rotatedLog.MatchString(d.Name()):
				items = append(items, SealItem{"remove", p})
			default:
				if fi, err := fsys.Lstat(p); err == nil && fi.Size() > 0 {
					items = append(items, SealItem{"truncate", p})
				}
			}
		}
	}
	walkLogs("/var/log")
	homes := []string{"/root"}
	if ents, err := readDir("/home"); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				homes = append(homes, "/home/"+e.Name())
			}
		}
	}
	for _, h := range homes {
		for _, f := range shellHistories {
			p := path.Join(h, f)
			if fi, err := fsys.Lstat(p); err == nil && !fi.IsDir() {
				items = append(items, SealItem{"remove", p})
			}
		}
	}
	items = append(items, contents(readDir, "/tmp")...)
	items = append(items, contents(readDir, "/var/tmp")...)
	return items, nil
}

// contents lists the entries of dir (under the root) for removal.
func contents(readDir func(string) ([]fs.DirEntry, error), dir string) []SealItem {
	ents, err := readDir(dir)
	if err != nil {
		return nil
	}
	var items []SealItem
	for _, e := range ents {
		items = append(items, SealItem{"remove", path.Join("/", dir, e.Name())})
	}
	return items
}

// SealOptions are `ovfinit seal`'s options.
type SealOptions struct {
	StateDir   string
	RuntimeDir string // ovfinit's runtime directory (secrets of this boot); "" leaves it
	EndState   string
	DryRun     bool
	Kill       func(uid int) error // ends a reservation user's processes; nil: none
	// Power brings the machine to the end state once everything is
	// removed; nil leaves it as it is (an offline root).
	Power func(ctx context.Context, endState string) error
}

// Seal generalizes the image under m.Root for capture (see PlanSeal), then
// calls Power. With DryRun it only returns the plan. Items that fail to go
// are all reported, and the machine is then not powered off.
func Seal(ctx context.Context, m *Manager, o SealOptions) ([]SealItem, error) {
	if o.EndState == "" {
		o.EndState = EndOff
	}
	if err := ValidEndState(o.EndState); err != nil {
		return nil, err
	}
	items, err := PlanSeal(m.Root, o.StateDir, o.RuntimeDir)
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		return items, nil
	}
	// Users first: sanitize needs the reservations in the state directory.
	if slices.ContainsFunc(items, func(i SealItem) bool { return i.Action == "userdel" }) {
		if _, err := Sanitize(ctx, m, o.StateDir, SanitizeOptions{All: true, Kill: o.Kill}); err != nil {
			return items, fmt.Errorf("removing reservation users: %w", err)
		}
	}
	// The plan was made by path; the removals go through the rooted file
	// system, so a link (an image's absolute one, or one a user left in
	// /tmp or their home) never takes them outside the root or into a
	// directory they should not reach.
	rfs, err := m.openFS()
	if err != nil {
		return items, err
	}
	defer rfs.Close()
	var errs []error
	for _, it := range items {
		switch it.Action {
		case "remove":
			if err := rfs.RemoveAll(it.Path); err != nil {
				errs = append(errs, err)
			}
		case "truncate":
			f, err := rfs.OpenFile(it.Path, os.O_WRONLY|os.O_TRUNC, 0)
			if err == nil {
				err = f.Close()
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return items, err
	}
	syncAll()
	m.log().Info("sealed", "items", len(items), "end-state", o.EndState)
	if o.Power != nil {
		if err := o.Power(ctx, o.EndState); err != nil {
			return items, fmt.Errorf("end state %s: %w", o.EndState, err)
		}
	}
	return items, nil
}

// SysprepArgs is the Windows sysprep command line that generalizes the
// image and leaves it in the end state.
func SysprepArgs(endState string) ([]string, error) {
	if err := ValidEndState(endState); err != nil {
		return nil, err
	}
	mode := map[string]string{EndOff: "/shutdown", EndReboot: "/reboot", EndOn: "/quit"}[endState]
	return []string{`C:\Windows\System32\Sysprep\sysprep.exe`, "/generalize", "/oobe", mode, "/quiet"}, nil
}

// Sysprep runs sysprep through run for the end state.
func Sysprep(ctx context.Context, run cmdrun.Runner, endState string) error {
	argv, err := SysprepArgs(endState)
	if err != nil {
		return err
	}
	return cmdrun.Run(ctx, run, argv...)
}

// powerArgs is the command that brings a Unix system to the end state
// when systemd (or FreeBSD's shutdown) does it.
func powerArgs(goos string, systemd bool, endState string) []string {
	if endState == EndOn {
		return nil
	}
	if systemd {
		return []string{"systemctl", map[string]string{EndOff: "poweroff", EndReboot: "reboot"}[endState]}
	}
	if goos == "freebsd" {
		return []string{"shutdown", map[string]string{EndOff: "-p", EndReboot: "-r"}[endState], "now"}
	}
	return nil
}
