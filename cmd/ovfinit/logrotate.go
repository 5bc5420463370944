package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/internal/winacl"
)

// logFileMax is the size at which the log file is rotated: the current file
// becomes FILE.1 (replacing the previous one) and a new FILE is started, so
// the log takes at most about twice this much. A variable for tests.
var logFileMax int64 = 10 << 20

// rotatingFile is an append-only log file rotated by size, keeping one old
// generation. slog handlers write each record with one Write, so records
// are never split between the two files.
//
// The file is a slash path under a root directory reached through rootfs,
// so a link in an offline image tree (var/log -> /var/log) never leads the
// log onto the host running ovfinit --root.
type rotatingFile struct {
	fsys *rootfs.FS
	path string // slash path under fsys
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64
}

// openRotating opens the log file name under root (a slash path), creating
// its directory (0750) when missing.
func openRotating(root, name string, max int64) (*rotatingFile, error) {
	fsys, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS == "windows" {
		// The log holds no secret (redacted) but is the administrators':
		// its directory gets the DACL of ovfinit's others at creation.
		if err := winacl.MkdirAll(filepath.Join(fsys.Dir(), filepath.FromSlash(path.Dir(name))), 0o750); err != nil {
			fsys.Close()
			return nil, err
		}
	}
	if err := fsys.MkdirAll(path.Dir(name), 0o750); err != nil {
		fsys.Close()
		return nil, err
	}
	r := &rotatingFile{fsys: fsys, path: name, max: max}
	if err := r.open(); err != nil {
		fsys.Close()
		return nil, err
	}
	return r, nil
}

// open (re)opens path for appending; r.mu is held or r is not shared yet.
func (r *rotatingFile) open() error {
	f, err := r.fsys.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("%s is not a regular file", r.path)
	}
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.size = f, fi.Size()
	return nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		// On failure keep appending to the current file: a log line
		// matters more than the size bound.
		r.rotate()
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate renames the file to FILE.1 and starts a new one. When another
// ovfinit process already rotated it (path is no longer our file), it only
// reopens path.
func (r *rotatingFile) rotate() error {
	cur, err1 := r.f.Stat()
	onDisk, err2 := r.statPath()
	if err1 == nil && err2 == nil && !os.SameFile(cur, onDisk) {
		return r.open()
	}
	if err := r.fsys.Rename(r.path, r.path+".1"); err != nil {
		return err
	}
	return r.open()
}

// statPath describes the file now at path, as os does (for os.SameFile).
func (r *rotatingFile) statPath() (os.FileInfo, error) {
	f, err := r.fsys.OpenFile(r.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.f.Close()
	r.fsys.Close()
	return err
}
