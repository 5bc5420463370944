//go:build linux

package ovfenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Find looks for the OVF environment medium until it finds one, the
// Timeout passes or ctx ends. It lists <SysRoot>/sys/block, CD-ROMs (sr*)
// first, then removable devices, then the rest, skipping loop and ram
// devices and empty drives; it opens <SysRoot>/dev/NAME, checks the volume
// label with one small read (IsEnvLabel) and then reads the environment
// file with ReadISO. When nothing is found the error wraps
// ErrNoEnvironment and says which devices were seen and why each was
// rejected.
func (f *ISOFinder) Find(ctx context.Context) (*Source, error) {
	root := f.SysRoot
	if root == "" {
		root = "/"
	}
	poll := f.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	log := f.logger()
	wait := ctx
	if f.Timeout > 0 {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, f.Timeout)
		defer cancel()
	}
	start := time.Now()
	for looks := 1; ; looks++ {
		src, rejected := scanDevices(root, log)
		if src != nil {
			return src, nil
		}
		log.Debug("no OVF environment ISO yet", "look", looks, "devices", rejected)
		if f.Timeout <= 0 {
			return nil, fmt.Errorf("%w: no OVF environment ISO among the block devices (%s)", ErrNoEnvironment, rejected)
		}
		timer := time.NewTimer(poll)
		select {
		case <-wait.Done():
			timer.Stop()
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("finding the OVF environment ISO: %w (last look: %s)", err, rejected)
			}
			return nil, fmt.Errorf("%w: no OVF environment ISO within %v (%d looks over %v; last look: %s)",
				ErrNoEnvironment, f.Timeout, looks, time.Since(start).Round(time.Millisecond), rejected)
		case <-timer.C:
		}
	}
}

// rejections says, device by device, why none was the medium.
type rejections []string

func (r rejections) String() string {
	if len(r) == 0 {
		return "no block devices"
	}
	return strings.Join(r, "; ")
}

type blockDevice struct {
	name  string
	class int // 0 CD-ROM, 1 removable, 2 other
}

// scanDevices makes one look at the block devices.
func scanDevices(root string, log *slog.Logger) (*Source, rejections) {
	var rejected rejections
	sysBlock := filepath.Join(root, "sys", "block")
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, append(rejected, fmt.Sprintf("listing block devices: %v", err))
	}
	var devs []blockDevice
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			rejected = append(rejected, name+": skipped")
			continue
		}
		size, err := readSysfsInt(filepath.Join(sysBlock, name, "size"))
		if err != nil {
			rejected = append(rejected, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if size == 0 {
			rejected = append(rejected, name+": no medium (size 0)")
			continue
		}
		d := blockDevice{name: name, class: 2}
		if strings.HasPrefix(name, "sr") {
			d.class = 0
		} else if r, err := readSysfsInt(filepath.Join(sysBlock, name, "removable")); err == nil && r == 1 {
			d.class = 1
		}
		devs = append(devs, d)
	}
	sort.SliceStable(devs, func(i, j int) bool { return devs[i].class < devs[j].class })
	for _, d := range devs {
		dev := filepath.Join(root, "dev", d.name)
		src, label, name, err := readDevice(dev)
		if err != nil {
			rejected = append(rejected, fmt.Sprintf("%s: %v", d.name, err))
			continue
		}
		log.Info("found the OVF environment", "device", dev, "label", label, "file", name, "bytes", len(src.Data))
		return src, rejected
	}
	return nil, rejected
}

func readSysfsInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	return n, nil
}

// readDevice reads the environment from one device, checking its label
// cheaply first.
func readDevice(dev string) (src *Source, label, name string, err error) {
	// O_NONBLOCK: opening a CD-ROM drive must not wait for its tray.
	f, err := os.OpenFile(dev, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", "", fmt.Errorf("opening %s: %w", dev, err)
	}
	defer f.Close()
	label, err = peekLabel(f)
	if err != nil {
		return nil, "", "", err
	}
	if !IsEnvLabel(label) {
		return nil, label, "", fmt.Errorf("label %q is not an OVF environment label", label)
	}
	_, data, name, err := ReadISO(f)
	if err != nil {
		return nil, label, name, fmt.Errorf("ISO labelled %q: %w", label, err)
	}
	return &Source{Transport: TransportISO, Location: dev, Data: data}, label, name, nil
}
