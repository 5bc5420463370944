// Package memtrim gives back the resident pages a long-running ovfinit
// process no longer needs once it has started: the garbage of start-up, and
// the pages of its own executable that start-up touched.
//
// ovfinit is one static binary with every capability in it. Start-up runs
// the package initialisers of all of them (the script interpreter, YAML,
// netlink, the service manager, ...) and the command-line parsing, and the
// kernel maps the executable around every page touched (64 KiB of
// "fault-around" on Linux), so a freshly started `ovfinit sshd` holds about
// 10 MiB of its 12.5 MB binary resident although serving SSH uses a fraction
// of it. Those pages are clean and file-backed: unmapping them loses nothing;
// a page used later is mapped again from the page cache on first touch (a
// minor fault). Trim does that once, after start-up.
package memtrim

import (
	"log/slog"
	"runtime"
	"runtime/debug"
)

// Result says what Trim gave back.
type Result struct {
	// Executable is the size of the executable's read-only mappings
	// (code, constants, tables) unmapped, in bytes.
	Executable int64
}

// Trim returns the freed heap to the operating system and unmaps the
// read-only pages of the running executable. It is safe at any time (pages
// still in use fault back in), but meant for once after start-up: what runs
// afterwards maps again only what it touches. On systems where unmapping is
// not implemented, the heap is still returned and the error names the OS.
func Trim() (Result, error) {
	// Two collections: objects in a sync.Pool (the SSH server's 64 KiB copy
	// buffers, three per session) survive the first in the pool's victim
	// cache and are freed by the second, which FreeOSMemory runs before
	// returning the free heap.
	runtime.GC()
	debug.FreeOSMemory()
	n, err := trimExecutable()
	return Result{Executable: n}, err
}

// Func returns a function that calls Trim and logs the outcome at debug
// level: for sshd.Config.OnIdle.
func Func(log *slog.Logger) func() {
	return func() {
		r, err := Trim()
		if err != nil {
			log.Debug("memory trim", "err", err)
			return
		}
		log.Debug("memory trimmed", "executable_bytes", r.Executable)
	}
}
