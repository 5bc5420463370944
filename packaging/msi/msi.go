// Package msi builds the Windows installer (.msi) of ovfinit with Debian's
// wixl (msitools): ovfinit.exe in Program Files\ovfinit, registered as an
// automatic-start service running `ovfinit run`, stopped and removed on
// uninstall. wixl has no ServiceConfigFailureActions (a WiX util extension),
// so the recovery actions are set by the agent itself when the service
// manager first starts it (packaging.SetRecovery). Used by
// packaging/cmd/mkpkg, never by the agent.
package msi

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/beevik/etree"

	"github.com/ovfinit/ovfinit/packaging"
)

// Fixed GUIDs: UpgradeCode ties every version together for upgrades; the
// component's GUID must not change while its key file's path does not.
// Upper case: Windows Installer compares GUIDs as strings.
const (
	UpgradeCode   = "6B1C3C52-5D0E-4C38-9A57-4A0F3F1D2B71"
	componentGUID = "0D8F3B8E-8A7E-4E53-9F0F-2B7F1F6F7C11"
)

var leadingVersion = regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?`)

// ProductVersion turns a release version (v1.2.3, 1.2.3~rc1,
// 0.0.0~git1a2b3c4) into the MSI's numeric major.minor.build.
func ProductVersion(v string) (string, error) {
	m := leadingVersion.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("version %q: an MSI needs a numeric major.minor.build", v)
	}
	parts := []string{m[1], m[2], m[3]}
	for i, p := range parts {
		if p == "" {
			parts[i] = "0"
		}
	}
	return strings.Join(parts, "."), nil
}

// WXS renders the WiX source wixl builds; exe is the path of ovfinit.exe
// relative to wixl's working directory.
func WXS(exe, version, arch string) ([]byte, error) {
	pv, err := ProductVersion(version)
	if err != nil {
		return nil, err
	}
	pf, win64 := "ProgramFiles64Folder", "yes"
	if arch == "x86" {
		pf, win64 = "ProgramFilesFolder", "no"
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	wix := doc.CreateElement("Wix")
	wix.CreateAttr("xmlns", "http://schemas.microsoft.com/wix/2006/wi")
	p := wix.CreateElement("Product")
	for _, kv := range [][2]string{{"Id", "*"}, {"Name", "ovfinit"}, {"Language", "1033"}, {"Version", pv}, {"Manufacturer", "ovfinit"}, {"UpgradeCode", UpgradeCode}} {
		p.CreateAttr(kv[0], kv[1])
	}
	pkg := p.CreateElement("Package")
	pkg.CreateAttr("InstallerVersion", "500")
	pkg.CreateAttr("Compressed", "yes")
	pkg.CreateAttr("InstallScope", "perMachine")
	pkg.CreateAttr("Description", packaging.DisplayName)
	media := p.CreateElement("Media")
	media.CreateAttr("Id", "1")
	media.CreateAttr("Cabinet", "ovfinit.cab")
	media.CreateAttr("EmbedCab", "yes")
	p.CreateElement("MajorUpgrade").CreateAttr("DowngradeErrorMessage", "A newer version of ovfinit is already installed.")
	target := p.CreateElement("Directory")
	target.CreateAttr("Id", "TARGETDIR")
	target.CreateAttr("Name", "SourceDir")
	pfd := target.CreateElement("Directory")
	pfd.CreateAttr("Id", pf)
	dir := pfd.CreateElement("Directory")
	dir.CreateAttr("Id", "INSTALLDIR")
	dir.CreateAttr("Name", "ovfinit")
	c := dir.CreateElement("Component")
	c.CreateAttr("Id", "Main")
	c.CreateAttr("Guid", componentGUID)
	c.CreateAttr("Win64", win64)
	f := c.CreateElement("File")
	f.CreateAttr("Id", "ovfinit.exe")
	f.CreateAttr("Name", "ovfinit.exe")
	f.CreateAttr("Source", exe)
	f.CreateAttr("KeyPath", "yes")
	si := c.CreateElement("ServiceInstall")
	for _, kv := range [][2]string{{"Id", "Service"}, {"Name", packaging.Name}, {"DisplayName", packaging.DisplayName}, {"Description", packaging.Description},
		{"Type", "ownProcess"}, {"Start", "auto"}, {"ErrorControl", "normal"}, {"Arguments", "run"}} {
		si.CreateAttr(kv[0], kv[1])
	}
	// Not started at install (an image is being built); stopped before an
	// upgrade or removal, and removed with the package.
	sc := c.CreateElement("ServiceControl")
	for _, kv := range [][2]string{{"Id", "ServiceControl"}, {"Name", packaging.Name}, {"Stop", "both"}, {"Remove", "uninstall"}, {"Wait", "yes"}} {
		sc.CreateAttr(kv[0], kv[1])
	}
	feat := p.CreateElement("Feature")
	feat.CreateAttr("Id", "All")
	feat.CreateAttr("Level", "1")
	feat.CreateElement("ComponentRef").CreateAttr("Id", "Main")
	doc.Indent(2)
	return doc.WriteToBytes()
}

// Build writes the .msi to out with wixl. arch is wixl's: x64, x86 (wixl
// has no arm64).
func Build(ctx context.Context, exe, version, arch, out string) error {
	wixl, err := exec.LookPath("wixl")
	if err != nil {
		return fmt.Errorf("building the MSI needs wixl (apt-get install wixl): %w", err)
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("--bin: %w", err)
	}
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	// wixl resolves File/@Source relative to its working directory only.
	src, err := WXS("ovfinit.exe", version, arch)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ovfinit-msi")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Symlink(abs, filepath.Join(dir, "ovfinit.exe")); err != nil {
		return err
	}
	wxs := filepath.Join(dir, "ovfinit.wxs")
	if err := os.WriteFile(wxs, src, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, wixl, "-a", arch, "-o", outAbs, wxs)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wixl -a %s -o %s: %w: %s", arch, out, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
