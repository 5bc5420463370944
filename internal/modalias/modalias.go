// Package modalias loads the kernel drivers of devices no driver has bound
// yet, the way udev's coldplug does: modprobe of each device's modalias,
// the blacklist respected (-b). ovfinit starts before udev has gone
// through its queue (on an emulated machine udev loaded the CD-ROM's and
// the NIC's drivers 4-8 s after ovfinit started), so the devices it needs
// first (the environment's medium, the NICs) are asked for directly;
// udev's own modprobe of the same alias later finds the driver loaded.
package modalias

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// A Bus is a sysfs bus (/sys/bus/NAME/devices) and which of its devices
// are wanted, given the device's sysfs directory.
type Bus struct {
	Name string
	Want func(dev string) bool
}

// Attr reads one attribute file of a device, trimmed; "" when missing.
func Attr(dev, name string) string {
	b, err := os.ReadFile(filepath.Join(dev, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Loader asks modprobe for the drivers of wanted devices, each alias once.
// Root is the tree whose /sys is read ("" or "/" for the running system).
type Loader struct {
	Root string
	Run  cmdrun.Runner
	Log  *slog.Logger
	// What says what the drivers are for, in the log ("storage devices").
	What string

	mu    sync.Mutex
	tried map[string]bool
}

// pending returns the modaliases of the wanted devices that have no driver
// and were not asked for yet, sorted.
func (l *Loader) pending(buses []Bus) []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range buses {
		dir := filepath.Join(l.Root, "sys", "bus", b.Name, "devices")
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			dev := filepath.Join(dir, e.Name())
			alias := Attr(dev, "modalias")
			if alias == "" || seen[alias] || l.tried[alias] {
				continue
			}
			if _, err := os.Lstat(filepath.Join(dev, "driver")); err == nil {
				continue // bound
			}
			if !b.Want(dev) {
				continue
			}
			seen[alias] = true
			out = append(out, alias)
		}
	}
	sort.Strings(out)
	return out
}

// Load runs modprobe for the wanted devices on buses found unbound.
// Failures are logged at debug level only: a device may have no driver,
// modprobe may be missing, and udev still does its own work. It reports
// whether it ran modprobe: a driver loaded may have found devices of its
// own (a disk controller its drives), whose drivers a next Load loads.
func (l *Loader) Load(ctx context.Context, buses []Bus) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tried == nil {
		l.tried = map[string]bool{}
	}
	aliases := l.pending(buses)
	if len(aliases) == 0 {
		return false
	}
	for _, a := range aliases {
		l.tried[a] = true
	}
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	argv := append([]string{"modprobe", "-q", "-b", "-a", "--"}, aliases...)
	if _, err := cmdrun.Output(ctx, l.Run, argv...); err != nil {
		log.Debug("loading drivers", "for", l.What, "aliases", strings.Join(aliases, " "), "err", err)
		return true
	}
	log.Debug("loaded drivers", "for", l.What, "aliases", strings.Join(aliases, " "))
	return true
}
