package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// DefaultCacheDir is where prepare.sh caches kernels when OVFINIT_E2E_CACHE
// is not set.
const DefaultCacheDir = "/var/cache/ovfinit-e2e"

// CacheDir returns OVFINIT_E2E_CACHE, or DefaultCacheDir.
func CacheDir() string {
	if d := os.Getenv("OVFINIT_E2E_CACHE"); d != "" {
		return d
	}
	return DefaultCacheDir
}

// Kernel is a Debian kernel package unpacked by prepare.sh: dpkg -x output
// plus the uncompressed vmlinux beside it.
type Kernel struct {
	Dir     string // the unpacked package
	Vmlinux string // ELF kernel image for qemu -kernel
	Release string // uname -r, e.g. 6.1.0-56-amd64
	ModDir  string // Dir/lib/modules/Release
}

// FindKernel locates the kernel: OVFINIT_KERNEL_DIR if set, else the path
// in $CACHE/current written by prepare.sh.
func FindKernel() (*Kernel, error) {
	dir := os.Getenv("OVFINIT_KERNEL_DIR")
	if dir == "" {
		cur := filepath.Join(CacheDir(), "current")
		b, err := os.ReadFile(cur)
		if err != nil {
			return nil, fmt.Errorf("no kernel: OVFINIT_KERNEL_DIR is unset and %w (run e2e/prepare.sh)", err)
		}
		dir = strings.TrimSpace(string(b))
	}
	return OpenKernel(dir)
}

// OpenKernel checks that dir holds an unpacked kernel with a vmlinux.
func OpenKernel(dir string) (*Kernel, error) {
	k := &Kernel{Dir: dir, Vmlinux: filepath.Join(dir, "vmlinux")}
	if _, err := os.Stat(k.Vmlinux); err != nil {
		return nil, fmt.Errorf("kernel dir %s: %w (run e2e/prepare.sh)", dir, err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "lib", "modules"))
	if err != nil {
		return nil, fmt.Errorf("kernel dir %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if k.Release != "" {
				return nil, fmt.Errorf("kernel dir %s: more than one release under lib/modules (%s, %s)", dir, k.Release, e.Name())
			}
			k.Release = e.Name()
		}
	}
	if k.Release == "" {
		return nil, fmt.Errorf("kernel dir %s: no release under lib/modules", dir)
	}
	k.ModDir = filepath.Join(dir, "lib", "modules", k.Release)
	return k, nil
}

// Module is one loadable kernel module of a Kernel.
type Module struct {
	Name    string   // canonical name, '-' replaced by '_'
	RelPath string   // below ModDir, with the .ko suffix (decompressed name)
	Depends []string // from .modinfo depends=
	Aliases []string // from .modinfo alias=, for modprobe's modules.alias
	Data    []byte   // uncompressed .ko
}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// moduleExts are the suffixes a module file can have, longest match first.
var moduleExts = []string{".ko.zst", ".ko.xz", ".ko.gz", ".ko"}

// ResolveModules returns the named modules and everything they depend on,
// dependencies before their users: the order to insmod them. Dependencies
// come from each module's .modinfo (the unpacked package has no
// modules.dep). Names that are built into the kernel are skipped.
func (k *Kernel) ResolveModules(ctx context.Context, names []string) ([]*Module, error) {
	files := map[string]string{} // name -> path below ModDir
	err := filepath.WalkDir(filepath.Join(k.ModDir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, ext := range moduleExts {
			if base, ok := strings.CutSuffix(d.Name(), ext); ok {
				rel, _ := filepath.Rel(k.ModDir, p)
				files[modName(base)] = filepath.ToSlash(rel)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing modules of %s: %w", k.ModDir, err)
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(k.ModDir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			builtin[modName(strings.TrimSuffix(path.Base(l), ".ko"))] = true
		}
	}

	var order []*Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		name = modName(name)
		switch state[name] {
		case 1:
			return fmt.Errorf("module %s: dependency cycle", name)
		case 2:
			return nil
		}
		rel, ok := files[name]
		if !ok {
			if builtin[name] {
				state[name] = 2
				return nil
			}
			if from != "" {
				return fmt.Errorf("module %s (needed by %s): not found in %s", name, from, k.ModDir)
			}
			return fmt.Errorf("module %s: not found in %s", name, k.ModDir)
		}
		state[name] = 1
		data, err := readModule(ctx, filepath.Join(k.ModDir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		deps, aliases, err := modinfo(data)
		if err != nil {
			return fmt.Errorf("module %s: %w", rel, err)
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		for _, ext := range moduleExts {
			if base, ok := strings.CutSuffix(rel, ext); ok {
				rel = base + ".ko"
				break
			}
		}
		order = append(order, &Module{Name: name, RelPath: rel, Depends: deps, Aliases: aliases, Data: data})
		state[name] = 2
		return nil
	}
	for _, n := range names {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// readModule returns a module file's contents, decompressed: busybox insmod
// does not load .ko.zst, so every module goes into the image as plain .ko.
func readModule(ctx context.Context, p string) ([]byte, error) {
	switch {
	case strings.HasSuffix(p, ".ko"):
		return os.ReadFile(p)
	case strings.HasSuffix(p, ".ko.gz"):
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", p, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", p, err)
		}
		return b, nil
	}
	tool := "xz"
	if strings.HasSuffix(p, ".zst") {
		tool = "zstd"
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "-dc", p)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s -dc %s: %w: %s", tool, p, err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}

// modinfo reads depends= and alias= from a module's .modinfo section.
func modinfo(ko []byte) (deps, aliases []string, err error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, nil, fmt.Errorf("reading ELF: %w", err)
	}
	s := f.Section(".modinfo")
	if s == nil {
		return nil, nil, errors.New("no .modinfo section")
	}
	b, err := s.Data()
	if err != nil {
		return nil, nil, fmt.Errorf("reading .modinfo: %w", err)
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "depends="); ok {
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					deps = append(deps, modName(d))
				}
			}
		}
		if v, ok := strings.CutPrefix(kv, "alias="); ok && v != "" {
			aliases = append(aliases, v)
		}
	}
	return deps, aliases, nil
}
