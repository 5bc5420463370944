//go:build linux

package netcfg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtool commands (linux/ethtool.h).
const (
	ethtoolGWOL      = 0x05
	ethtoolSWOL      = 0x06
	ethtoolGStrings  = 0x1b
	ethtoolGSSetInfo = 0x37
	ethtoolGFeatures = 0x3a
	ethtoolSFeatures = 0x3b
	ethSSFeatures    = 4
	wakeMagic        = 1 << 5
)

// offloadFeatures are the kernel feature names (ethtool -k) each netplan
// offload switch sets, as systemd-networkd's .link file sets them.
var offloadFeatures = map[string][]string{
	"receive-checksum-offload":     {"rx-checksum"},
	"transmit-checksum-offload":    {"tx-checksum-ipv4", "tx-checksum-ip-generic", "tx-checksum-ipv6", "tx-checksum-fcoe-crc", "tx-checksum-sctp"},
	"tcp-segmentation-offload":     {"tx-tcp-segmentation", "tx-tcp-ecn-segmentation", "tx-tcp-mangleid-segmentation"},
	"tcp6-segmentation-offload":    {"tx-tcp6-segmentation"},
	"generic-segmentation-offload": {"tx-generic-segmentation"},
	"generic-receive-offload":      {"rx-gro"},
	"large-receive-offload":        {"rx-lro"},
}

// ethtool is an SIOCETHTOOL socket in the caller's network namespace.
type ethtool struct{ fd int }

func openEthtool() (*ethtool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ethtool socket: %w", err)
	}
	return &ethtool{fd: fd}, nil
}

func (e *ethtool) Close() error { return unix.Close(e.fd) }

// ioctl runs one SIOCETHTOOL with buf as the command's struct.
func (e *ethtool) ioctl(name string, buf []byte) error {
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [16]byte
	}
	copy(ifr.name[:], name)
	ifr.data = unsafe.Pointer(&buf[0])
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(e.fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(buf)
	if errno != 0 {
		return errno
	}
	return nil
}

var ne = binary.NativeEndian

// featureNames lists the device's feature names, by bit.
func (e *ethtool) featureNames(name string) ([]string, error) {
	info := make([]byte, 8+8+4)
	ne.PutUint32(info[0:], ethtoolGSSetInfo)
	ne.PutUint64(info[8:], 1<<ethSSFeatures)
	if err := e.ioctl(name, info); err != nil {
		return nil, err
	}
	if ne.Uint64(info[8:])&(1<<ethSSFeatures) == 0 {
		return nil, unix.EOPNOTSUPP
	}
	n := int(ne.Uint32(info[16:]))
	if n <= 0 || n > 4096 {
		return nil, fmt.Errorf("ethtool: %d features", n)
	}
	gs := make([]byte, 12+n*32)
	ne.PutUint32(gs[0:], ethtoolGStrings)
	ne.PutUint32(gs[4:], ethSSFeatures)
	ne.PutUint32(gs[8:], uint32(n))
	if err := e.ioctl(name, gs); err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i := range names {
		s := gs[12+i*32 : 12+(i+1)*32]
		for j, c := range s {
			if c == 0 {
				s = s[:j]
				break
			}
		}
		names[i] = string(s)
	}
	return names, nil
}

// features returns each feature's (available, active) state by name.
func (e *ethtool) features(name string) (names []string, avail, active map[string]bool, err error) {
	names, err = e.featureNames(name)
	if err != nil {
		return nil, nil, nil, err
	}
	blocks := (len(names) + 31) / 32
	g := make([]byte, 8+blocks*16)
	ne.PutUint32(g[0:], ethtoolGFeatures)
	ne.PutUint32(g[4:], uint32(blocks))
	if err := e.ioctl(name, g); err != nil {
		return nil, nil, nil, err
	}
	avail, active = map[string]bool{}, map[string]bool{}
	for i, f := range names {
		b := g[8+(i/32)*16:]
		bit := uint32(1) << (i % 32)
		avail[f] = ne.Uint32(b[0:])&bit != 0 && ne.Uint32(b[12:])&bit == 0 // available and not never-changed
		active[f] = ne.Uint32(b[8:])&bit != 0
	}
	return names, avail, active, nil
}

// offload reads the device's offload switches: a switch is on when its
// first feature that the device has is active.
func (e *ethtool) offload(name string) (Offload, error) {
	names, _, active, err := e.features(name)
	if err != nil {
		return Offload{}, err
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	var o Offload
	for _, k := range o.keys() {
		for _, f := range offloadFeatures[k.Netplan] {
			if has[f] {
				v := active[f]
				*k.V = &v
				break
			}
		}
	}
	return o, nil
}

// setOffload sets the switches o sets. A switch the device cannot change
// is an error naming it.
func (e *ethtool) setOffload(name string, o Offload) error {
	names, avail, _, err := e.features(name)
	if err != nil {
		return fmt.Errorf("reading the offload features of %s: %w", name, err)
	}
	blocks := (len(names) + 31) / 32
	s := make([]byte, 8+blocks*8)
	ne.PutUint32(s[0:], ethtoolSFeatures)
	ne.PutUint32(s[4:], uint32(blocks))
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	var errs []error
	for _, k := range o.keys() {
		if *k.V == nil {
			continue
		}
		set := false
		for _, f := range offloadFeatures[k.Netplan] {
			i, ok := idx[f]
			if !ok || !avail[f] {
				continue
			}
			b := s[8+(i/32)*8:]
			bit := uint32(1) << (i % 32)
			ne.PutUint32(b[0:], ne.Uint32(b[0:])|bit)
			if **k.V {
				ne.PutUint32(b[4:], ne.Uint32(b[4:])|bit)
			}
			set = true
		}
		if !set {
			errs = append(errs, fmt.Errorf("%s: %s cannot be changed on this device", name, k.Netplan))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return e.ioctl(name, s)
}

// wol reports whether wake-on-LAN by magic packet is on.
func (e *ethtool) wol(name string) (bool, error) {
	w := make([]byte, 20)
	ne.PutUint32(w[0:], ethtoolGWOL)
	if err := e.ioctl(name, w); err != nil {
		return false, err
	}
	return ne.Uint32(w[8:])&wakeMagic != 0, nil
}

// setWOL turns on wake-on-LAN by magic packet (keeping other wake modes).
func (e *ethtool) setWOL(name string) error {
	w := make([]byte, 20)
	ne.PutUint32(w[0:], ethtoolGWOL)
	if err := e.ioctl(name, w); err != nil {
		return err
	}
	if ne.Uint32(w[4:])&wakeMagic == 0 {
		return fmt.Errorf("%s: the device has no wake-on-LAN by magic packet", name)
	}
	ne.PutUint32(w[0:], ethtoolSWOL)
	ne.PutUint32(w[8:], ne.Uint32(w[8:])|wakeMagic)
	return e.ioctl(name, w)
}

// readEthtool fills a link's offload switches and wake-on-LAN state; a
// device without them (or without ethtool support) leaves them unset.
func readEthtool(l *Link) {
	e, err := openEthtool()
	if err != nil {
		return
	}
	defer e.Close()
	if o, err := e.offload(l.Name); err == nil {
		l.Offload = o
	}
	if w, err := e.wol(l.Name); err == nil {
		l.WakeOnLAN = w
	}
}

// applyEthtool runs an OpLinkOffload or OpLinkWOL.
func (s *Linux) applyEthtool(op Op) error {
	e, err := openEthtool()
	if err != nil {
		return err
	}
	defer e.Close()
	if op.Kind == OpLinkWOL {
		// As systemd-networkd: a NIC without wake-on-LAN (virtio-net has
		// none) is a warning, not a failed boot.
		if err := e.setWOL(op.Link); err != nil {
			if s.Log != nil {
				s.Log.Warn("wakeonlan not applied: the NIC does not support it", "interface", op.Link, "err", err)
			}
			return nil
		}
		return nil
	}
	return e.setOffload(op.Link, op.Offload)
}
