package scripts

import (
	"context"
	"io/fs"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// Host is everything a script can do to the machine. The builtins touch the
// machine only through it: the agent hands in a LiveHost, `ovfinit script
// run --dry-run` a DryRun that prints every effect instead of doing it, and
// tests a LiveHost over t.TempDir().
//
// Paths are the script's own ("/etc/motd"): the Host resolves them in its
// root directory and refuses those that leave it.
type Host interface {
	// ReadFile returns a file's content (at most MaxReadSize bytes).
	ReadFile(path string) ([]byte, error)
	// WriteFile replaces a file atomically with the given mode, creating
	// missing parent directories 0755. owner is "" (leave it to ovfinit's
	// user), "user", "user:group", or numeric "uid:gid".
	WriteFile(path string, data []byte, mode fs.FileMode, owner string) error
	// AppendFile adds data to the end of a file, creating it 0644.
	AppendFile(path string, data []byte) error
	// Exists reports whether something (file, directory, link) is at path.
	Exists(path string) (bool, error)
	// Remove removes a file or an empty directory; it reports whether
	// there was one.
	Remove(path string) (bool, error)
	// Mkdir creates a directory and its missing parents with mode.
	Mkdir(path string, mode fs.FileMode) error
	// Chmod sets a file's permission bits.
	Chmod(path string, mode fs.FileMode) error

	// Exec runs a command, without a shell, until it exits or ctx ends.
	// The error is for a command that could not run at all (not found, or
	// exec not allowed); a non-zero exit is Result.Code.
	Exec(ctx context.Context, c Command) (Result, error)

	// Info describes the operating system.
	Info() (HostInfo, error)
	// Interfaces lists the network interfaces and their addresses.
	Interfaces() ([]Interface, error)

	// Progress reports how far the script is, to the manager.
	Progress(percent int, message string)
}

// Command is one program to run: its argv, the "KEY=value" pairs added to
// ovfinit's own environment, its standard input.
type Command = cmdrun.Cmd

// Result is what a command did: its output (bounded) and exit code (-1
// when killed by a signal or the timeout).
type Result = cmdrun.Result

// HostInfo is what host.* reports.
type HostInfo struct {
	OS       string // runtime.GOOS: linux, windows, freebsd, darwin
	Arch     string // runtime.GOARCH: amd64, arm64, ...
	Distro   string // os-release ID (debian, ubuntu, rhel); "windows" on Windows; "" if unknown
	Version  string // os-release VERSION_ID ("12"); the Windows build on Windows
	Hostname string
}

// Interface is one network interface.
type Interface struct {
	Name      string
	MAC       string // "52:54:00:12:34:56"; "" for loopback
	Up        bool
	Addresses []string // CIDR, "10.0.2.15/24", "fe80::1/64"
}
