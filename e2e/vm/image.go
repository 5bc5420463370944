package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Real distribution images (issue 20): prepare.sh debootstraps a Debian
// root per release into the cache (images/debian-<suite>/root); a test
// installs the .deb built from the tree into a copy of it, the way
// docs/image-builders.md tells image builders to, makes an ext4 disk of
// it, and boots it: Debian's kernel, a tiny initramfs that mounts
// /dev/vda and switch_roots to the image's systemd.

// ImageCmdline is the kernel command line of an image boot: the image's
// root on the virtio disk, the serial console, no crypto self tests, and
// no check of the timer interrupt through the IO-APIC: on a loaded host
// the emulated CPU is too slow for it, and the kernel panics with "IO-APIC
// + timer doesn't work" (as cloud images boot under KVM with
// no_timer_check for the same reason).
const ImageCmdline = "console=ttyS0 root=/dev/vda rw quiet panic=-1 cryptomgr.notests no_timer_check"

// ImageModules are what the boot initramfs loads to mount the root.
var ImageModules = []string{"virtio_pci", "virtio_blk", "crc32c_generic", "ext4"}

// ImageTree returns the cached root of the Debian release suite
// (bookworm, trixie) that prepare.sh built.
func ImageTree(suite string) (string, error) {
	dir := filepath.Join(CacheDir(), "images", "debian-"+suite)
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err != nil {
		return "", fmt.Errorf("no Debian %s image at %s (run e2e/prepare.sh): %w", suite, dir, err)
	}
	return filepath.Join(dir, "root"), nil
}

// BuildDeb packages agent (static, linux/amd64) as dir/ovfinit_*.deb with
// packaging/cmd/mkpkg, the tool make packages runs, and returns its path.
func BuildDeb(ctx context.Context, agent, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./packaging/cmd/mkpkg", "--bin", agent, "--arch", "amd64",
		"--version", "0.0.0~e2e", "--formats", "deb", "--mtime", "0", "-o", dir)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the .deb (go run ./packaging/cmd/mkpkg): %w\n%s", err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// ImageFile is a file an image builder bakes into the image besides the
// .deb (a key of its own for root, say): Path is absolute in the image;
// missing parent directories are made 0700, root's.
type ImageFile struct {
	Path string
	Mode os.FileMode
	Data []byte
}

// BuildImageDisk writes out, a raw ext4 disk labelled root of sizeMB: tree
// (through an overlay, so the cache stays clean) with deb installed by
// `dpkg -i` in a chroot, as an image build step does, and extra written.
// It needs root.
func BuildImageDisk(ctx context.Context, tree, deb, out string, sizeMB int, extra ...ImageFile) error {
	work, err := os.MkdirTemp(filepath.Dir(out), "overlay")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	upper, wdir, merged := filepath.Join(work, "upper"), filepath.Join(work, "work"), filepath.Join(work, "root")
	for _, d := range []string{upper, wdir, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := run("mount", "-t", "overlay", "overlay", "-o", "lowerdir="+tree+",upperdir="+upper+",workdir="+wdir, merged); err != nil {
		return fmt.Errorf("the image tree needs an overlay (and root): %w", err)
	}
	defer exec.Command("umount", merged).Run()
	data, err := os.ReadFile(deb)
	if err != nil {
		return err
	}
	inTree := path.Join("/tmp", filepath.Base(deb))
	if err := os.WriteFile(filepath.Join(merged, inTree), data, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "chroot", merged, "dpkg", "-i", inTree)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg -i %s in the image: %w\n%s", inTree, err, b)
	}
	os.Remove(filepath.Join(merged, inTree))
	for _, f := range extra {
		p := filepath.Join(merged, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			return fmt.Errorf("baking %s into the image: %w", f.Path, err)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(sizeMB) << 20); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return run("mkfs.ext4", "-F", "-q", "-L", "root", "-d", merged, out)
}

// BuildBootInitramfs writes out, an initramfs whose /init loads
// ImageModules, mounts /dev/vda and hands over to the image's /sbin/init
// (what the image's own initramfs-tools would do, without its size).
func BuildBootInitramfs(ctx context.Context, k *Kernel, out string) error {
	bbPath, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox not found (apt-get install busybox-static): %w", err)
	}
	bb, err := os.ReadFile(bbPath)
	if err != nil {
		return err
	}
	if err := checkStatic(bbPath, bb); err != nil {
		return err
	}
	a := newArchive()
	for _, d := range []string{"bin", "dev", "proc", "sys", "newroot"} {
		a.dir(d, 0o755)
	}
	a.charDev("dev/console", 0o600, 5, 1)
	a.file("bin/busybox", 0o755, bb)
	for _, l := range []string{"sh", "mount", "umount", "insmod", "switch_root", "sleep", "echo"} {
		a.symlink("bin/"+l, "busybox")
	}
	mods, err := k.ResolveModules(ctx, ImageModules)
	if err != nil {
		return err
	}
	var load strings.Builder
	for i, m := range mods {
		name := fmt.Sprintf("m%02d.ko", i)
		a.file(name, 0o644, m.Data)
		load.WriteString("insmod /" + name + "\n")
	}
	a.file("init", 0o755, []byte(`#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
`+load.String()+`i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "OVFINIT-E2E cannot mount /dev/vda"; sleep 2; echo b >/proc/sysrq-trigger; }
umount /proc /sys
mount --move /dev /newroot/dev || umount /dev
exec switch_root /newroot /sbin/init
`))
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := a.writeTo(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
