package scripts

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// ImageDir is where image builders put scripts, under the root:
// /etc/ovfinit/scripts.d, or %ProgramData%\ovfinit\scripts.d on Windows.
func ImageDir(goos string) string {
	if goos == "windows" {
		return "/ProgramData/ovfinit/scripts.d"
	}
	return "/etc/ovfinit/scripts.d"
}

// ImageName checks a name from ovfinit.scripts: a plain file name in the
// scripts directory, not starting with "_" (a library for load()); ".star"
// is added when missing.
func ImageName(name string) (string, error) {
	if strings.ContainsAny(name, `/\:`) || name == "." || name == ".." || strings.HasPrefix(name, "_") {
		return "", fmt.Errorf("%q is not the name of a script in the scripts directory (a file name, not starting with _)", name)
	}
	if !strings.HasSuffix(name, ".star") {
		name += ".star"
	}
	return name, nil
}

// ImageScripts are the image's scripts, compiled, in the order they run,
// with the directory their load() statements resolve in.
type ImageScripts struct {
	Programs []*Program
	Library  fs.FS
	// Missing are names asked for (FindImage's names) that the
	// directory does not hold; the caller names its property.
	Missing []string
}

// FindImage finds, reads and compiles the image's scripts in dir under
// root, once: the given names in their order, or, when names is nil, every
// regular *.star file not starting with "_" or "." in name order. Every
// problem is returned at once; the scripts that compiled are kept.
func FindImage(root, dir string, names []string, d Dialect) (ImageScripts, error) {
	out := ImageScripts{Library: rootfs.DirFS(root, dir)}
	chosen := names != nil // a chosen script that is missing is reported
	if !chosen {
		fsys, err := rootfs.Open(root)
		if err != nil {
			return out, err
		}
		entries, err := fsys.ReadDir(dir)
		fsys.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return out, fmt.Errorf("reading %s: %w", dir, err)
		}
		for _, en := range entries {
			n := en.Name()
			if strings.HasSuffix(n, ".star") && !strings.HasPrefix(n, "_") && !strings.HasPrefix(n, ".") && en.Type().IsRegular() {
				names = append(names, n)
			}
		}
		slices.Sort(names)
	}
	var errs []error
	for _, n := range names {
		src, err := fs.ReadFile(out.Library, n)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && chosen {
				out.Missing = append(out.Missing, n)
			} else {
				errs = append(errs, fmt.Errorf("reading image script: %w", err))
			}
			continue
		}
		prog, err := Compile(n, src, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Programs = append(out.Programs, prog)
	}
	return out, errors.Join(errs...)
}
