//go:build linux

package ovfenv

import (
	"strings"

	"github.com/ovfinit/ovfinit/internal/modalias"
)

// mediaBuses are the devices an environment medium can sit on: storage
// controllers, disks and CD-ROM drives. The ISO transport loads their
// drivers at its first look (modalias.Loader), as udev's coldplug would,
// only sooner: in a Debian 12 guest under emulation udev loaded ata_piix 4
// s after ovfinit started looking, and /dev/sr0 came 1.3 s after that.
var mediaBuses = []modalias.Bus{
	// Mass storage controllers (PCI class 0x01: IDE, SATA, SCSI, NVMe).
	{Name: "pci", Want: func(dev string) bool { return strings.HasPrefix(modalias.Attr(dev, "class"), "0x01") }},
	// Disks (type 0) and CD-ROM drives (type 5) behind those controllers.
	{Name: "scsi", Want: func(dev string) bool { t := modalias.Attr(dev, "type"); return t == "0" || t == "5" }},
	// virtio block (2) and virtio SCSI (8) devices.
	{Name: "virtio", Want: func(dev string) bool { d := modalias.Attr(dev, "device"); return d == "0x0002" || d == "0x0008" }},
}
