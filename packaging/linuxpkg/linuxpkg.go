// Package linuxpkg builds the ovfinit .deb, .rpm and .apk with nfpm: the
// binary, the service definition (systemd unit for deb and rpm, with the
// LSB init script too in the deb for sysvinit and Debian's OpenRC; OpenRC
// script for apk), /etc/default/ovfinit, and maintainer scripts that enable
// the service on install and disable and clean up on removal. It is used by
// packaging/cmd/mkpkg only, so nfpm never reaches the agent's binary.
package linuxpkg

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/apk" // registers the apk packager
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager

	"github.com/ovfinit/ovfinit/packaging"
)

// Formats are the package formats Build makes.
var Formats = []string{"deb", "rpm", "apk"}

// Options says what to package.
type Options struct {
	Binary  string    // the linux ovfinit binary for Arch
	Arch    string    // GOARCH: amd64, arm64, s390x, ppc64le
	Version string    // package version, e.g. 1.2.0 or 0.0.0~git1a2b3c4
	MTime   time.Time // every file's time, for reproducible packages
}

// UnitPath is where the packages put the systemd unit.
const UnitPath = "/usr/lib/systemd/system/ovfinit.service"

// PostInstall enables the service; it never starts it, because the
// package is usually installed while building an image, and starting it
// there would configure the build machine. It works in a chroot and with
// dpkg --root --force-script-chrootless ($DPKG_ROOT).
const PostInstall = `#!/bin/sh
# ovfinit: enable the boot service (not started: it runs at the next boot).
root="${DPKG_ROOT:-}"
# systemd: the unit only; the deb's init script is for images without
# systemd, so systemctl must not sync it through update-rc.d (which a bare
# --root tree lacks: systemctl then fails before it enables the unit).
export SYSTEMCTL_SKIP_SYSV=1
if [ -d "$root/usr/lib/systemd/system" ] && command -v systemctl >/dev/null 2>&1; then
	if [ -n "$root" ]; then
		systemctl --root="$root" enable ovfinit.service
	else
		[ -d /run/systemd/system ] && systemctl daemon-reload
		systemctl enable ovfinit.service
	fi
elif [ -z "$root" ] && [ -x /etc/init.d/ovfinit ] && command -v update-rc.d >/dev/null 2>&1; then
	# Debian without systemd: update-rc.d enables the init script for the
	# image's init, sysv-rc (insserv) or OpenRC (rc-update).
	update-rc.d ovfinit defaults
elif [ -x "$root/sbin/openrc-run" ] && command -v rc-update >/dev/null 2>&1; then
	rc-update add ovfinit default
else
	echo "ovfinit: no systemctl, update-rc.d or rc-update: enable the ovfinit service by hand" >&2
fi
exit 0
`

// PreRemove stops and disables the service on removal, not on upgrade
// (deb: upgrade; rpm: an installed count of 1 or more).
const PreRemove = `#!/bin/sh
# ovfinit: stop and disable the service when the package is removed.
case "$1" in
upgrade | failed-upgrade | [1-9]) exit 0 ;;
esac
root="${DPKG_ROOT:-}"
export SYSTEMCTL_SKIP_SYSV=1 # the unit only (PostInstall)
if command -v systemctl >/dev/null 2>&1 && [ -e "$root` + UnitPath + `" ]; then
	if [ -z "$root" ] && [ -d /run/systemd/system ]; then
		systemctl stop ovfinit.service || true
	fi
	systemctl ${root:+--root="$root"} disable ovfinit.service || true
elif [ -z "$root" ] && [ -x /etc/init.d/ovfinit ] && command -v update-rc.d >/dev/null 2>&1; then
	/etc/init.d/ovfinit stop || true
	update-rc.d ovfinit remove || true
elif command -v rc-update >/dev/null 2>&1; then
	rc-service ovfinit stop 2>/dev/null || true
	rc-update del ovfinit default 2>/dev/null || true
fi
exit 0
`

// PostRemove reloads systemd, and on purge (deb) also deletes the state
// (instance id, saved environment, SSH host key) and the logs. rpm and apk
// have no purge: their removal keeps /var/lib/ovfinit, as rpm convention
// keeps data.
const PostRemove = `#!/bin/sh
# ovfinit: clean up after removal; purge also deletes state and logs.
root="${DPKG_ROOT:-}"
if [ "$1" = purge ]; then
	rm -rf "$root/var/lib/ovfinit" "$root/var/log/ovfinit"
fi
if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
fi
exit 0
`

// Info returns the nfpm package description for format. Generated files
// (unit, scripts, defaults) are written into dir.
func Info(o Options, format, dir string) (*nfpm.Info, error) {
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("--bin: %w", err)
	}
	svc := packaging.Service{Bin: packaging.PackageBin}
	write := func(name, data string, mode os.FileMode) (string, error) {
		p := filepath.Join(dir, format+"-"+name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			return p, err
		}
		// nfpm takes the scripts' times from the files: pin them.
		return p, os.Chtimes(p, o.MTime, o.MTime)
	}
	var errs []error
	must := func(p string, err error) string {
		if err != nil {
			errs = append(errs, err)
		}
		return p
	}
	fi := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: o.MTime}
	}
	contents := files.Contents{
		{Source: o.Binary, Destination: packaging.PackageBin, FileInfo: fi(0o755)},
		{Source: must(write("default", packaging.DefaultsFileContent, 0o644)), Destination: packaging.DefaultsFile, Type: files.TypeConfigNoReplace, FileInfo: fi(0o644)},
	}
	if format == "apk" {
		contents = append(contents,
			&files.Content{Source: must(write("openrc", svc.OpenRCScript(), 0o755)), Destination: "/etc/init.d/ovfinit", FileInfo: fi(0o755)},
			&files.Content{Source: must(write("confd", packaging.DefaultsFileContent, 0o644)), Destination: "/etc/conf.d/ovfinit", Type: files.TypeConfigNoReplace, FileInfo: fi(0o644)})
	} else {
		contents = append(contents,
			&files.Content{Source: must(write("unit", svc.SystemdUnit(), 0o644)), Destination: UnitPath, FileInfo: fi(0o644)})
		for i, f := range packaging.SystemdDropIns(path.Dir(UnitPath), packaging.PackageBin) {
			contents = append(contents,
				&files.Content{Source: must(write(fmt.Sprintf("dropin%d", i), f.Data, 0o644)), Destination: f.Path, FileInfo: fi(0o644)})
		}
	}
	if format == "deb" {
		// Debian images without systemd (sysvinit, OpenRC on sysvinit's
		// init) run the LSB script; systemd ignores it beside the unit.
		contents = append(contents,
			&files.Content{Source: must(write("sysv", svc.SysVScript(), 0o755)), Destination: "/etc/init.d/ovfinit", FileInfo: fi(0o755)})
	}
	info := &nfpm.Info{
		Name:          "ovfinit",
		Arch:          o.Arch,
		Platform:      "linux",
		Version:       o.Version,
		VersionSchema: "none",
		Release:       "1",
		Section:       "admin",
		Priority:      "optional",
		Maintainer:    "ovfinit maintainers <ovfinit@example.invalid>",
		Description:   "First-boot agent for VM images driven by the OVF environment\nReads the OVF environment at boot, sets the host name, network, user and\nSSH keys, serves SSH and reports progress to the manager.",
		Vendor:        "ovfinit",
		Homepage:      "https://github.com/ovfinit/ovfinit",
		License:       "Apache-2.0",
		MTime:         o.MTime,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Scripts: nfpm.Scripts{
				PostInstall: must(write("postinstall", PostInstall, 0o755)),
				PreRemove:   must(write("preremove", PreRemove, 0o755)),
				PostRemove:  must(write("postremove", PostRemove, 0o755)),
			},
			RPM: nfpm.RPM{Group: "System Environment/Base", Summary: "First-boot agent for VM images (OVF environment)", BuildHost: "ovfinit"},
		},
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("writing the package files: %v", errs)
	}
	return info, nil
}

// Build writes the package of format (deb, rpm or apk) to w.
func Build(o Options, format string, w io.Writer) error {
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return fmt.Errorf("package format %q: %w", format, err)
	}
	dir, err := os.MkdirTemp("", "ovfinit-pkg")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	info, err := Info(o, format, dir)
	if err != nil {
		return err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return fmt.Errorf("%s package: %w", format, err)
	}
	if err := pkgr.Package(info, w); err != nil {
		return fmt.Errorf("%s package: %w", format, err)
	}
	return nil
}

// FileName is the conventional file name of the package.
func FileName(o Options, format string) (string, error) {
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	info := nfpm.WithDefaults(&nfpm.Info{Name: "ovfinit", Arch: o.Arch, Platform: "linux", Version: o.Version, VersionSchema: "none", Release: "1"})
	return pkgr.ConventionalFileName(info), nil
}
