// Package hostname sets the host name of the machine, in an image tree's
// files and on the running system, the way each OS keeps it:
//
//   - Linux: /etc/hostname (the short name) and the 127.0.1.1 line of
//     /etc/hosts, as Debian's installer writes them; live with
//     sethostname(2).
//   - FreeBSD: hostname="FQDN" in /etc/rc.conf and the /etc/hosts line;
//     live with hostname(1).
//   - Windows: SetComputerNameExW (the DNS host name, from which Windows
//     makes the NetBIOS name, and the DNS domain); no file. It takes
//     effect at the next restart: Set reports the reboot as pending.
//
// The agent's hostname step is a thin wrapper around Set.
package hostname

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// Options are what Set needs.
type Options struct {
	Root string // the tree whose files are written ("/" live)
	Name string // the host name as given: short or fully qualified
	Live bool   // also set the running system's name
	// OS is the operating system of Root ("" is runtime.GOOS): which files
	// are written and which rules the name must follow.
	OS  string
	Log *slog.Logger
	// SetLive sets the running system's name; nil is the OS's own (Live).
	// rebootPending says the new name needs a restart (Windows).
	SetLive func(ctx context.Context, fqdn, short string) (rebootPending bool, err error)
}

// Result is what Set did.
type Result struct {
	Files []string // slash paths under Root that were written
	// RebootPending: the running system takes the new name at its next
	// restart (Windows), which ovfinit does not start itself.
	RebootPending bool
}

// Short returns the first label of name.
func Short(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return name
}

// Check returns an error if name cannot be the host name on goos.
func Check(goos, name string) error {
	if name == "" {
		return errors.New("empty host name")
	}
	if goos == "windows" {
		return CheckNetBIOS(Short(name))
	}
	return nil
}

// MaxNetBIOS is the longest computer name Windows accepts (NetBIOS: 16
// bytes, the last one the service type).
const MaxNetBIOS = 15

// CheckNetBIOS applies Windows' computer name rules to the short name:
// at most 15 characters, only ASCII letters, digits and hyphens, not only
// digits, not starting or ending with a hyphen. Windows would shorten a
// longer name on its own, and two machines could end up with the same
// NetBIOS name: ovfinit refuses instead.
func CheckNetBIOS(short string) error {
	switch {
	case short == "":
		return errors.New("empty computer name")
	case len(short) > MaxNetBIOS:
		return fmt.Errorf("computer name %q is %d characters long: Windows allows at most %d (NetBIOS)", short, len(short), MaxNetBIOS)
	case strings.HasPrefix(short, "-") || strings.HasSuffix(short, "-"):
		return fmt.Errorf("computer name %q starts or ends with a hyphen", short)
	case strings.Trim(short, "0123456789") == "":
		return fmt.Errorf("computer name %q is only digits: Windows does not allow it", short)
	}
	for _, c := range short {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("computer name %q has %q: Windows allows letters, digits and hyphens only", short, c)
		}
	}
	return nil
}

// Set writes the host name into the files of o.OS under o.Root and, when
// o.Live, sets it on the running system.
func Set(ctx context.Context, o Options) (Result, error) {
	var res Result
	goos := o.OS
	if goos == "" {
		goos = runtime.GOOS
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := Check(goos, o.Name); err != nil {
		return res, err
	}
	fqdn, short := o.Name, Short(o.Name)
	write := func(name string, data []byte) error {
		if err := rootfs.WriteFileAt(o.Root, name, data, 0o644); err != nil {
			return err
		}
		res.Files = append(res.Files, name)
		return nil
	}
	edit := func(name string, fn func([]byte) []byte) error {
		old, err := rootfs.ReadFileAt(o.Root, name, 16<<20)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return write(name, fn(old))
	}
	switch goos {
	case "windows":
		// The name lives in the registry; an offline tree's hive is not
		// ovfinit's to edit.
		if !o.Live {
			log.Warn("computer name not set: an offline Windows tree keeps it in its registry", "root", o.Root, "name", fqdn)
			return res, nil
		}
	case "freebsd":
		if err := edit("/etc/rc.conf", func(b []byte) []byte { return RCConf(b, fqdn) }); err != nil {
			return res, err
		}
		if err := edit("/etc/hosts", func(b []byte) []byte { return Hosts(b, fqdn, short) }); err != nil {
			return res, err
		}
	default:
		if err := write("/etc/hostname", []byte(short+"\n")); err != nil {
			return res, err
		}
		if err := edit("/etc/hosts", func(b []byte) []byte { return Hosts(b, fqdn, short) }); err != nil {
			return res, err
		}
	}
	if !o.Live {
		log.Info("not setting the live host name: --root is not /", "root", o.Root)
		return res, nil
	}
	set := o.SetLive
	if set == nil {
		set = Live
	}
	reboot, err := set(ctx, fqdn, short)
	if err != nil {
		return res, fmt.Errorf("setting the live host name: %w", err)
	}
	res.RebootPending = reboot
	return res, nil
}

// StillPending reports whether a host name set on an earlier run is still
// waiting for the restart that makes it the running one: on Windows, when
// running (os.Hostname: the active DNS host name, which SetComputerNameExW
// leaves alone until the restart) is not name's first label. Elsewhere the
// name is set at once, so nothing is ever pending. The agent asks it on a
// boot of the same instance whose hostname step already ran: a restart of
// the agent before the machine's restart must still tell the manager.
func StillPending(goos, name, running string) bool {
	return goos == "windows" && name != "" && !strings.EqualFold(running, Short(name))
}

// Hosts returns /etc/hosts with the 127.0.1.1 line naming the host (as
// Debian's installer writes it), replacing an earlier one.
func Hosts(hosts []byte, fqdn, short string) []byte {
	line := "127.0.1.1\t" + fqdn
	if fqdn != short {
		line += " " + short
	}
	var out []string
	replaced := false
	for _, l := range strings.Split(strings.TrimRight(string(hosts), "\n"), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "127.0.1.1" {
			if !replaced {
				out = append(out, line)
				replaced = true
			}
			continue
		}
		if l != "" || len(out) > 0 {
			out = append(out, l)
		}
	}
	if !replaced {
		if len(out) == 0 {
			out = append(out, "127.0.0.1\tlocalhost")
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

// RCConf returns FreeBSD's /etc/rc.conf with hostname="fqdn", replacing
// every earlier hostname= line (the last one would win) at the place of
// the first, or appended.
func RCConf(rc []byte, fqdn string) []byte {
	line := `hostname="` + fqdn + `"`
	var out []string
	replaced := false
	for _, l := range strings.Split(strings.TrimRight(string(rc), "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "hostname=") {
			if !replaced {
				out = append(out, line)
				replaced = true
			}
			continue
		}
		if l != "" || len(out) > 0 {
			out = append(out, l)
		}
	}
	if !replaced {
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}
