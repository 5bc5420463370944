package packaging

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/sshd"
)

// Init is an init system ovfinit can be installed into.
type Init string

// The init systems.
const (
	Systemd Init = "systemd"
	SysV    Init = "sysv"
	OpenRC  Init = "openrc"
	FreeBSD Init = "freebsd"
	Windows Init = "windows"
)

// Inits lists the names --init accepts.
var Inits = []Init{Systemd, SysV, OpenRC, FreeBSD, Windows}

// ErrUnsupportedInit says the target's init system is not one ovfinit knows.
var ErrUnsupportedInit = errors.New("init system not supported (supported: systemd, SysV init, OpenRC, FreeBSD rc.d, the Windows service manager)")

// ParseInit reads an --init value.
func ParseInit(s string) (Init, error) {
	for _, i := range Inits {
		if string(i) == s {
			return i, nil
		}
	}
	return "", fmt.Errorf("--init %q: want one of systemd, sysv, openrc, freebsd, windows", s)
}

// DetectInit looks at an image tree to tell which init system it boots
// with. The order matters: Debian images with systemd still have
// /etc/init.d, and OpenRC systems have it too.
func DetectInit(root string) (Init, error) {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return "", err
	}
	defer fsys.Close()
	exists := func(p string) bool {
		_, err := fsys.Lstat(p)
		return err == nil
	}
	switch {
	case exists("/lib/systemd/systemd"), exists("/usr/lib/systemd/systemd"):
		return Systemd, nil
	case exists("/sbin/openrc-run"), exists("/usr/sbin/openrc-run"):
		return OpenRC, nil
	case exists("/etc/rc.subr"):
		return FreeBSD, nil
	case exists("/Windows/System32"):
		return Windows, nil
	case exists("/etc/init.d"), exists("/etc/rc.d/init.d"):
		return SysV, nil
	}
	return "", fmt.Errorf("%s: no systemd, OpenRC, FreeBSD rc.subr or /etc/init.d found: %w", root, ErrUnsupportedInit)
}

// File is one file or link an install puts under the root.
type File struct {
	Path    string      // absolute, in the target system
	Mode    os.FileMode // for files
	Data    string      // file content
	Link    string      // if set, a symlink to this target instead of a file
	FromBin bool        // the content is the ovfinit binary (copied, not Data)
}

func (f File) String() string {
	switch {
	case f.Link != "":
		return fmt.Sprintf("link %s -> %s", f.Path, f.Link)
	case f.FromBin:
		return fmt.Sprintf("file %s %04o (the ovfinit binary)", f.Path, f.Mode)
	}
	return fmt.Sprintf("file %s %04o (%d bytes)", f.Path, f.Mode, len(f.Data))
}

// ServiceFile is where the service definition of init lives in the target,
// and its content.
func ServiceFile(init Init, s Service) (File, error) {
	switch init {
	case Systemd:
		return File{Path: "/etc/systemd/system/ovfinit.service", Mode: 0o644, Data: s.SystemdUnit()}, nil
	case SysV:
		return File{Path: "/etc/init.d/ovfinit", Mode: 0o755, Data: s.SysVScript()}, nil
	case OpenRC:
		return File{Path: "/etc/init.d/ovfinit", Mode: 0o755, Data: s.OpenRCScript()}, nil
	case FreeBSD:
		return File{Path: "/usr/local/etc/rc.d/ovfinit", Mode: 0o755, Data: s.FreeBSDScript()}, nil
	}
	return File{}, fmt.Errorf("%s: %w", init, ErrUnsupportedInit)
}

// SystemdDropIns are the drop-ins ovfinit puts beside other units, in the
// systemd unit directory dir:
//   - for each of OpenSSH's unit names, the one that makes the image's
//     OpenSSH ask ovfinit's interim SSH server for its port before binding
//     it (sshd.HandoverDropIn);
//   - for udev's units, ovfinit's own CPU share while the system starts
//     (StartupShareDropIn).
func SystemdDropIns(dir, bin string) []File {
	var files []File
	for _, u := range sshd.HandoverUnits {
		files = append(files, File{Path: path.Join(dir, u+".d", sshd.HandoverDropInName), Mode: 0o644, Data: sshd.HandoverDropIn(bin)})
	}
	for _, u := range StartupShareUnits {
		files = append(files, File{Path: path.Join(dir, u+".d", StartupShareDropInName), Mode: 0o644, Data: StartupShareDropIn})
	}
	return files
}

// StartupShareUnits are the units on the way to udev naming the NICs,
// which ovfinit's network step waits for: the static device nodes udev's
// start waits for (-early: systemd 254 and later), udev's daemon and its
// workers, and its coldplug. Given only to ovfinit, the ten-fold share
// (StartupCPUWeight) held them back: in a Debian 12 guest under emulation
// udev started 5-6 s later and the NIC was renamed later still.
var StartupShareUnits = []string{
	"systemd-tmpfiles-setup-dev-early.service",
	"systemd-tmpfiles-setup-dev.service",
	"systemd-udevd.service",
	"systemd-udev-trigger.service",
}

// StartupShareDropInName is the drop-in's file name in each unit's .d
// directory; an administrator overrides it with an empty file of the same
// name in /etc/systemd/system/<unit>.d.
const StartupShareDropInName = "ovfinit-startup-share.conf"

// StartupShareDropIn gives a unit ovfinit's CPU share while the system
// starts; once it has, the unit's own share applies again.
const StartupShareDropIn = `# Installed by ovfinit: while the system starts, this unit gets the CPU
# share of ovfinit's first-boot agent, which waits for udev to name the
# NICs (docs/image-builders.md).
[Service]
StartupCPUWeight=` + StartupCPUWeight + `
`

// Installed says whether a service definition for init is under root: the
// one install writes, or the one the packages ship. Windows is never
// "installed" in a root (ask the service manager).
func Installed(root string, init Init) bool {
	var paths []string
	switch init {
	case Systemd:
		paths = []string{"/etc/systemd/system/ovfinit.service", "/usr/lib/systemd/system/ovfinit.service", "/lib/systemd/system/ovfinit.service"}
	case SysV, OpenRC:
		paths = []string{"/etc/init.d/ovfinit"}
	case FreeBSD:
		paths = []string{"/usr/local/etc/rc.d/ovfinit"}
	case Windows:
		return true
	}
	for _, p := range paths {
		if _, err := rootfs.StatAt(root, p); err == nil {
			return true
		}
	}
	return false
}

// PlanInstall lists what an offline install into an image tree writes: the
// binary, the service definition, the defaults file if there is none, and
// what enables the service at boot. Windows images cannot be installed
// offline (the service database is a registry hive): install on the running
// Windows instead.
func PlanInstall(init Init, s Service) ([]File, error) {
	if init == Windows {
		// Before Validate: a Windows --bin is no slash path, and the
		// reason this cannot work is the registry, not the path.
		return nil, fmt.Errorf("--root with a Windows image: the service is registered in the registry, which an offline install cannot write; run `ovfinit install` on the running Windows (for example from the image build's provisioner)")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	svc, err := ServiceFile(init, s)
	if err != nil {
		return nil, err
	}
	files := []File{{Path: s.Bin, Mode: 0o755, FromBin: true}, svc}
	switch init {
	case Systemd:
		files = append(files,
			File{Path: DefaultsFile, Mode: 0o644, Data: DefaultsFileContent},
			File{Path: "/etc/systemd/system/multi-user.target.wants/ovfinit.service", Link: svc.Path})
		files = append(files, SystemdDropIns("/etc/systemd/system", s.Bin)...)
	case SysV:
		files = append(files, File{Path: DefaultsFile, Mode: 0o644, Data: DefaultsFileContent})
		// What update-rc.d/insserv would make; insserv renumbers them
		// when it next runs, from the LSB header.
		for _, rl := range []string{"2", "3", "4", "5"} {
			files = append(files, File{Path: "/etc/rc" + rl + ".d/S01ovfinit", Link: "../init.d/ovfinit"})
		}
		for _, rl := range []string{"0", "1", "6"} {
			files = append(files, File{Path: "/etc/rc" + rl + ".d/K01ovfinit", Link: "../init.d/ovfinit"})
		}
	case OpenRC:
		files = append(files,
			File{Path: "/etc/conf.d/ovfinit", Mode: 0o644, Data: DefaultsFileContent},
			File{Path: "/etc/runlevels/default/ovfinit", Link: svc.Path})
	case FreeBSD:
		files = append(files, File{Path: "/etc/rc.conf.d/ovfinit", Mode: 0o644, Data: "ovfinit_enable=\"YES\"\n"})
	}
	return files, nil
}

// Install writes files under root. bin is the ovfinit binary to copy where
// a File has FromBin. Defaults files that already exist are kept (they are
// the administrator's); everything else is replaced. Every file is written
// to a temporary name and renamed, so a failed install leaves no half file.
func Install(root string, files []File, bin string) error {
	// A new image tree is made (the root itself is a host path the user
	// named); everything in it goes through the rooted file system: an
	// image's absolute links (lib -> /usr/lib) mean the image's
	// directories, never the build host's.
	if root != "" {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
	}
	rfs, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer rfs.Close()
	for _, f := range files {
		switch {
		case f.Link != "":
			if err := rfs.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("installing %s: %w", f.Path, err)
			}
			if err := rfs.Symlink(f.Link, f.Path); err != nil {
				return fmt.Errorf("installing %s: %w", f.Path, err)
			}
		case f.FromBin:
			data, err := readBin(bin)
			if err != nil {
				return err
			}
			if err := rfs.WriteFile(f.Path, data, f.Mode, rootfs.Keep); err != nil {
				return fmt.Errorf("installing %s: %w", f.Path, err)
			}
		default:
			if isDefaults(f.Path) {
				if _, err := rfs.Stat(f.Path); err == nil {
					continue
				}
			}
			if err := rfs.WriteFile(f.Path, []byte(f.Data), f.Mode, rootfs.Keep); err != nil {
				return fmt.Errorf("installing %s: %w", f.Path, err)
			}
		}
	}
	return nil
}

func isDefaults(p string) bool {
	return p == DefaultsFile || p == "/etc/conf.d/ovfinit"
}

func readBin(bin string) ([]byte, error) {
	f, err := os.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("reading the ovfinit binary: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading the ovfinit binary %s: %w", bin, err)
	}
	return data, nil
}

// Uninstall removes what PlanInstall lists from under root, except the
// administrator's defaults file and the state in /var/lib/ovfinit. Missing
// files are not an error. It returns the paths it removed, sorted.
func Uninstall(root string, files []File) ([]string, error) {
	rfs, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer rfs.Close()
	var removed []string
	var errs []error
	for _, f := range files {
		if isDefaults(f.Path) {
			continue
		}
		err := rfs.Remove(f.Path)
		switch {
		case err == nil:
			removed = append(removed, f.Path)
		case !errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("removing %s: %w", f.Path, err))
		}
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

// RemoveSysVLinks removes the /etc/rc?.d/[SK]NNovfinit links under root,
// whoever made them (install, update-rc.d, kardianos).
func RemoveSysVLinks(root string) error {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer fsys.Close()
	dirs, _ := fsys.ReadDir("/etc")
	var errs []error
	for _, d := range dirs {
		if ok, _ := path.Match("rc[0-6S].d", d.Name()); !ok {
			continue
		}
		dir := path.Join("/etc", d.Name())
		ents, _ := fsys.ReadDir(dir)
		for _, e := range ents {
			if ok, _ := path.Match("[SK][0-9][0-9]ovfinit", e.Name()); !ok || e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			l := path.Join(dir, e.Name())
			if err := fsys.Remove(l); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", l, err))
			}
		}
	}
	return errors.Join(errs...)
}

// linkTarget resolves a relative link target against the link's directory,
// for tests and checks.
func linkTarget(f File) string {
	if strings.HasPrefix(f.Link, "/") {
		return f.Link
	}
	return path.Join(path.Dir(f.Path), f.Link)
}
