//go:build linux

package ovfenv

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

// mediaDrivers loads the kernel drivers of the devices an environment
// medium can sit on (storage controllers, CD-ROM drives and disks) that no
// driver has bound yet, the way udev's coldplug does: modprobe of each
// device's modalias, the blacklist respected (-b). On an image whose
// initramfs did not load them, udev reaches these devices late in its
// queue: in a Debian 12 guest under emulation ata_piix was loaded 4 s after
// ovfinit started looking, and /dev/sr0 came 1.3 s after that. Loading them
// at the first look is what udev would do, only sooner; udev's later
// modprobe of the same alias finds the driver loaded. Each alias is asked
// for once per boot.
type mediaDrivers struct {
	root string
	run  cmdrun.Runner
	log  *slog.Logger

	mu    sync.Mutex
	tried map[string]bool
}

// mediaBuses are the sysfs buses looked at and whether a device on one
// can carry a medium.
var mediaBuses = []struct {
	bus  string
	want func(dev string) bool
}{
	// Mass storage controllers (PCI class 0x01: IDE, SATA, SCSI, NVMe).
	{"pci", func(dev string) bool { return strings.HasPrefix(readAttr(dev, "class"), "0x01") }},
	// Disks (type 0) and CD-ROM drives (type 5) behind those controllers.
	{"scsi", func(dev string) bool { t := readAttr(dev, "type"); return t == "0" || t == "5" }},
	// virtio block (2) and virtio SCSI (8) devices.
	{"virtio", func(dev string) bool { d := readAttr(dev, "device"); return d == "0x0002" || d == "0x0008" }},
}

func readAttr(dev, name string) string {
	b, err := os.ReadFile(filepath.Join(dev, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pending returns the modaliases of the medium devices that have no driver
// and were not asked for yet, sorted.
func (m *mediaDrivers) pending() []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range mediaBuses {
		dir := filepath.Join(m.root, "sys", "bus", b.bus, "devices")
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			dev := filepath.Join(dir, e.Name())
			alias := readAttr(dev, "modalias")
			if alias == "" || seen[alias] || m.tried[alias] {
				continue
			}
			if _, err := os.Lstat(filepath.Join(dev, "driver")); err == nil {
				continue // bound
			}
			if !b.want(dev) {
				continue
			}
			seen[alias] = true
			out = append(out, alias)
		}
	}
	sort.Strings(out)
	return out
}

// load asks modprobe for the drivers of the medium devices found unbound.
// Failures are logged at debug level: a device may have no driver at all,
// or modprobe may be missing, and udev still does its own work.
func (m *mediaDrivers) load(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tried == nil {
		m.tried = map[string]bool{}
	}
	aliases := m.pending()
	if len(aliases) == 0 {
		return
	}
	for _, a := range aliases {
		m.tried[a] = true
	}
	argv := append([]string{"modprobe", "-q", "-b", "-a", "--"}, aliases...)
	if _, err := cmdrun.Output(ctx, m.run, argv...); err != nil {
		m.log.Debug("loading the drivers of storage devices", "aliases", strings.Join(aliases, " "), "err", err)
		return
	}
	m.log.Debug("loaded the drivers of storage devices", "aliases", strings.Join(aliases, " "))
}
