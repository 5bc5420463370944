package netcfg

import (
	"errors"
	"strings"

	"github.com/ovfinit/ovfinit/internal/modalias"
)

// NICBuses are the network devices whose drivers the agent loads itself
// while it waits for a NIC (modalias.Loader): udev's coldplug loaded
// virtio_net 4-8 s after ovfinit started in emulated Debian guests, and
// nothing of the network can be planned before the NIC exists.
var NICBuses = []modalias.Bus{
	// Network controllers (PCI class 0x02: e1000, vmxnet3, ...).
	{Name: "pci", Want: func(dev string) bool { return strings.HasPrefix(modalias.Attr(dev, "class"), "0x02") }},
	// virtio network devices (1), behind virtio_pci.
	{Name: "virtio", Want: func(dev string) bool { return modalias.Attr(dev, "device") == "0x0001" }},
}

// ErrLinkGone is the error of an op whose interface does not exist (any
// more); IsLinkGone also recognises netlink's own.
var ErrLinkGone = errors.New("network interface not found")
