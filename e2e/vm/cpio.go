package vm

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// File modes of cpio entries (the S_IF* bits of stat(2)).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// cpioEntry is one member of an initramfs archive.
type cpioEntry struct {
	name         string // without a leading slash
	mode         uint32 // type bits | permission bits
	data         []byte // file contents or symlink target
	major, minor uint32 // for device nodes
}

// archive collects the members of a newc ("070701") cpio archive, the format
// the kernel unpacks as an initramfs. Building it in Go lets an unprivileged
// user add device nodes such as /dev/console.
type archive struct {
	entries map[string]cpioEntry
}

func newArchive() *archive { return &archive{entries: map[string]cpioEntry{}} }

func (a *archive) add(e cpioEntry) {
	e.name = strings.TrimPrefix(path.Clean("/"+e.name), "/")
	if e.name == "" {
		return
	}
	// Parents first: the kernel does not create missing directories.
	if dir := path.Dir(e.name); dir != "." {
		if _, ok := a.entries[dir]; !ok {
			a.add(cpioEntry{name: dir, mode: modeDir | 0o755})
		}
	}
	a.entries[e.name] = e
}

func (a *archive) dir(name string, perm uint32) {
	a.add(cpioEntry{name: name, mode: modeDir | perm&0o7777})
}

func (a *archive) file(name string, perm uint32, data []byte) {
	a.add(cpioEntry{name: name, mode: modeRegular | perm&0o7777, data: data})
}

func (a *archive) symlink(name, target string) {
	a.add(cpioEntry{name: name, mode: modeSymlink | 0o777, data: []byte(target)})
}

func (a *archive) charDev(name string, perm uint32, major, minor uint32) {
	a.add(cpioEntry{name: name, mode: modeCharDev | perm&0o7777, major: major, minor: minor})
}

// writeTo writes the archive sorted by name, so a directory always comes
// before its contents and the output is reproducible.
func (a *archive) writeTo(w io.Writer) error {
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if err := writeCpioEntry(w, uint32(i+1), a.entries[n]); err != nil {
			return fmt.Errorf("writing cpio entry %s: %w", n, err)
		}
	}
	return writeCpioEntry(w, 0, cpioEntry{name: "TRAILER!!!"})
}

func writeCpioEntry(w io.Writer, ino uint32, e cpioEntry) error {
	nlink := uint32(1)
	if e.mode&0o170000 == modeDir {
		nlink = 2
	}
	name := e.name + "\x00"
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.major, e.minor, len(name), 0)
	buf := make([]byte, 0, len(hdr)+len(name)+3)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(e.data) == 0 {
		return nil
	}
	if _, err := w.Write(e.data); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad4(len(e.data))))
	return err
}

// pad4 is the number of NUL bytes that bring n up to a multiple of four.
func pad4(n int) int { return (4 - n%4) % 4 }
