package scripts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// MaxReadSize bounds file.read: scripts edit configuration files, not images.
const MaxReadSize = 16 << 20

// LiveHost is the Host of a real machine: files under Root, commands run
// with os/exec, facts from the running system.
//
// Files go through internal/rootfs: no path or link leads out of the root
// (an absolute link means the image's path); a link is followed only where
// root alone could have made it (a directory owned by root that nobody
// else may write), so a link a user left in their home or in /tmp is
// refused, not followed; writes replace a link at the path, never write
// through it.
type LiveHost struct {
	root *rootfs.FS
	dir  string

	// ExecDisabled, when set, is why commands are refused (for example
	// "the root directory is not /": a command would change the machine
	// ovfinit runs on, not the image under the root).
	ExecDisabled string
	// OnProgress receives progress(); nil drops it.
	OnProgress func(percent int, message string)
	// Run runs the commands; nil means cmdrun.Exec{} (which keeps at most
	// cmdrun.MaxOutput bytes of each output stream).
	Run cmdrun.Runner
}

// NewLiveHost opens root; Close releases it.
func NewLiveHost(root string) (*LiveHost, error) {
	r, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	return &LiveHost{root: r, dir: root}, nil
}

// Close releases the root directory.
func (h *LiveHost) Close() error { return h.root.Close() }

// ReadFile implements Host.
func (h *LiveHost) ReadFile(path string) ([]byte, error) {
	rel, err := rootfs.Local(path)
	if err != nil {
		return nil, err
	}
	// A FIFO is read (a script may wait on one); a device is not.
	return h.root.ReadFileCheck(rel, MaxReadSize, rootfs.Check{AllowFIFO: true})
}

// WriteFile implements Host.
func (h *LiveHost) WriteFile(path string, data []byte, mode fs.FileMode, owner string) error {
	rel, err := rootfs.Local(path)
	if err != nil {
		return err
	}
	o := rootfs.Keep
	if owner != "" {
		if o.UID, o.GID, err = h.lookupOwner(owner); err != nil {
			return err
		}
	}
	return h.root.WriteFile(rel, data, mode, o)
}

// AppendFile implements Host.
func (h *LiveHost) AppendFile(path string, data []byte) error {
	rel, err := rootfs.Local(path)
	if err != nil {
		return err
	}
	return h.root.AppendFile(rel, data)
}

// Exists implements Host.
func (h *LiveHost) Exists(path string) (bool, error) {
	rel, err := rootfs.Local(path)
	if err != nil {
		return false, err
	}
	_, err = h.root.Lstat(rel)
	return found(err)
}

// Remove implements Host.
func (h *LiveHost) Remove(path string) (bool, error) {
	rel, err := rootfs.Local(path)
	if err != nil {
		return false, err
	}
	return found(h.root.Remove(rel))
}

// found is the answer of Exists and Remove from their call's error: nil
// means the path was there, "not exist" that it was not; any other error
// is returned.
func found(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// Mkdir implements Host.
func (h *LiveHost) Mkdir(path string, mode fs.FileMode) error {
	rel, err := rootfs.Local(path)
	if err != nil {
		return err
	}
	if err := h.root.MkdirAll(rel, mode); err != nil {
		return err
	}
	// MkdirAll leaves an existing directory alone and applies the umask:
	// set the mode asked for on the last one.
	return h.root.Chmod(rel, mode|fs.ModeDir)
}

// Chmod implements Host.
func (h *LiveHost) Chmod(path string, mode fs.FileMode) error {
	rel, err := rootfs.Local(path)
	if err != nil {
		return err
	}
	return h.root.Chmod(rel, mode)
}

// Exec implements Host. A command that runs and exits non-zero is a
// Result with its Code, not an error, unless the context ended it (a
// timeout): then the error says why.
func (h *LiveHost) Exec(ctx context.Context, c Command) (Result, error) {
	if h.ExecDisabled != "" {
		return Result{}, fmt.Errorf("commands are not run: %s", h.ExecDisabled)
	}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{}, errors.New("empty command")
	}
	run := h.Run
	if run == nil {
		run = cmdrun.Exec{}
	}
	res, err := run.Run(ctx, c)
	var exitErr *cmdrun.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		if ctx.Err() != nil {
			return res, fmt.Errorf("%w (after %s)", context.Cause(ctx), exitErr.Err)
		}
	default:
		// Not started. exec.run names the command itself: hand back the
		// cause without cmdrun's argv prefix.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		return res, err
	}
	return res, nil
}

// Info implements Host: the OS and architecture of this build, the distro
// from os-release under the root, the host name.
func (h *LiveHost) Info() (HostInfo, error) {
	info := HostInfo{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if runtime.GOOS == "windows" {
		info.Distro = "windows"
	}
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		data, err := h.root.ReadFile(p, 64<<10)
		if err != nil {
			continue
		}
		rel := ParseOSRelease(data)
		info.Distro, info.Version = rel["ID"], rel["VERSION_ID"]
		break
	}
	if h.dir == "/" || runtime.GOOS == "windows" {
		info.Hostname, _ = os.Hostname()
	} else if data, err := h.root.ReadFile("etc/hostname", 4096); err == nil {
		info.Hostname = strings.TrimSpace(string(data))
	}
	return info, nil
}

// ParseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted; comments and malformed lines are skipped.
func ParseOSRelease(data []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") || k == "" {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil && (strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "`")) {
			v = uq
		} else if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}

// Interfaces implements Host with the running system's interfaces.
func (h *LiveHost) Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []Interface
	for _, ifc := range ifs {
		i := Interface{Name: ifc.Name, MAC: ifc.HardwareAddr.String(), Up: ifc.Flags&net.FlagUp != 0, Addresses: []string{}}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			i.Addresses = append(i.Addresses, a.String())
		}
		out = append(out, i)
	}
	return out, nil
}

// Progress implements Host.
func (h *LiveHost) Progress(percent int, message string) {
	if h.OnProgress != nil {
		h.OnProgress(percent, message)
	}
}

// lookupOwner resolves "user", "user:group", "uid:gid" or "uid" with the
// passwd and group files under the root (the image's users, not the
// running system's).
func (h *LiveHost) lookupOwner(owner string) (uid, gid int, err error) {
	if runtime.GOOS == "windows" {
		return -1, -1, fmt.Errorf("owner %q: file owners are not supported on %s", owner, runtime.GOOS)
	}
	user, group, hasGroup := strings.Cut(owner, ":")
	uid, gid = -1, -1
	if user != "" {
		var ent []string
		if uid, ent, err = h.lookupID(owner, "etc/passwd", "uid", user); err != nil {
			return -1, -1, err
		}
		if !hasGroup && ent != nil {
			if gid, err = strconv.Atoi(ent[3]); err != nil {
				return -1, -1, fmt.Errorf("owner %q: bad gid in /etc/passwd", owner)
			}
		}
	}
	if hasGroup && group != "" {
		if gid, _, err = h.lookupID(owner, "etc/group", "gid", group); err != nil {
			return -1, -1, err
		}
	}
	return uid, gid, nil
}

// lookupID resolves name, a user or group of owner, to its id: a number
// stands for itself; a name is looked up in file (etc/passwd or
// etc/group), whose line's fields are returned too. kind names the id
// ("uid", "gid") in errors.
func (h *LiveHost) lookupID(owner, file, kind, name string) (int, []string, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil, nil
	}
	ent, err := h.lookupEntry(file, name)
	if err != nil {
		return -1, nil, fmt.Errorf("owner %q: %w", owner, err)
	}
	id, err := strconv.Atoi(ent[2])
	if err != nil {
		return -1, nil, fmt.Errorf("owner %q: bad %s in /%s", owner, kind, file)
	}
	return id, ent, nil
}

// lookupEntry finds the line of name (exactly: "bob" is not "bobby") in a
// passwd-format file and returns its fields.
func (h *LiveHost) lookupEntry(file, name string) ([]string, error) {
	data, err := h.root.ReadFile(file, passwd.MaxFile)
	if err != nil {
		return nil, err
	}
	// A line too short to hold an id is not an account.
	if e := passwd.Find(passwd.Parse(data), name); len(e) >= 4 {
		return e, nil
	}
	return nil, fmt.Errorf("no %q in /%s", name, file)
}
