//go:build linux

package ovfenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/ovfinit/ovfinit/internal/modalias"
)

// rejections says, device by device, why none was the medium.
type rejections []string

func (r rejections) String() string {
	if len(r) == 0 {
		return "no block devices"
	}
	return strings.Join(r, "; ")
}

type blockDevice struct {
	name    string
	class   int   // 0 CD-ROM, 1 removable, 2 other
	sectors int64 // size in 512-byte sectors
}

// maxContentSize bounds the devices whose content is looked at when their
// label is not an OVF environment label: a medium that carries only an
// ovf-env.xml is small, and reading into a large disk would cost boot time.
const maxContentSize = 64 << 20

// scanDevices makes one look at the block devices. broken is non-nil when a
// device labelled as an OVF environment medium could not be read.
func scanDevices(root string, log *slog.Logger) (src *Source, rejected rejections, broken error) {
	sysBlock := filepath.Join(root, "sys", "block")
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, append(rejected, fmt.Sprintf("listing block devices: %v", err)), nil
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
		d := blockDevice{name: name, class: 2, sectors: size}
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
		src, label, name, err := readDevice(dev, d.sectors*512)
		if err != nil {
			rejected = append(rejected, fmt.Sprintf("%s: %v", d.name, err))
			var be *brokenError
			if errors.As(err, &be) && broken == nil {
				broken = fmt.Errorf("%w: %s: %v", ErrBrokenMedium, dev, be.err)
			}
			continue
		}
		log.Info("found the OVF environment", "device", dev, "label", label, "file", name, "bytes", len(src.Data))
		return src, rejected, nil
	}
	if broken != nil {
		broken = fmt.Errorf("%w (every device: %s)", broken, rejected)
	}
	return nil, rejected, broken
}

// brokenError marks a device that is an OVF environment medium by its label
// but cannot be read.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return e.err.Error() }

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
// cheaply first. A device whose label is not an environment label is still
// accepted by its content when it is at most maxContentSize bytes: an ISO
// whose ovf-env.xml holds the environment namespace, or a raw device whose
// data is an ovf-env.xml (padded with NULs).
func readDevice(dev string, size int64) (src *Source, label, name string, err error) {
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
	small := size > 0 && size <= maxContentSize
	label, err = peekLabel(f)
	if errors.Is(err, ErrNotISO) && small {
		data, rerr := readRaw(f, size)
		if rerr != nil {
			return nil, "", "", fmt.Errorf("%v, and by content: %v", err, rerr)
		}
		return &Source{Transport: TransportISO, Location: dev, Data: data}, "", "(raw device)", nil
	}
	if err != nil {
		return nil, "", "", err
	}
	if !IsEnvLabel(label) {
		if !small {
			return nil, label, "", fmt.Errorf("label %q is not an OVF environment label", label)
		}
		_, data, name, rerr := ReadISO(f)
		if rerr != nil {
			return nil, label, "", fmt.Errorf("label %q is not an OVF environment label (and by content: %v)", label, rerr)
		}
		if !bytes.Contains(data, []byte(NamespaceEnv)) {
			return nil, label, "", fmt.Errorf("label %q is not an OVF environment label, and its %s does not use the namespace %s", label, name, NamespaceEnv)
		}
		return &Source{Transport: TransportISO, Location: dev, Data: data}, label, name, nil
	}
	_, data, name, err := ReadISO(f)
	if err != nil {
		return nil, label, name, &brokenError{fmt.Errorf("ISO labelled %q: %w", label, err)}
	}
	return &Source{Transport: TransportISO, Location: dev, Data: data}, label, name, nil
}

// readRaw reads a device that is not an ISO and returns its data when it
// is an OVF environment document: text starting with '<' that names the
// environment namespace, ending at the first NUL.
func readRaw(f io.ReaderAt, size int64) ([]byte, error) {
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if n == 0 {
		return nil, fmt.Errorf("reading the first sector: %v", err)
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head[:n], []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 || t[0] != '<' {
		return nil, errors.New("data is not XML")
	}
	buf := make([]byte, min(size, MaxEnvSize+1))
	n, err = f.ReadAt(buf, 0)
	if n == 0 {
		return nil, fmt.Errorf("reading: %v", err)
	}
	buf = buf[:n]
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	} else if len(buf) > MaxEnvSize {
		return nil, fmt.Errorf("data is larger than %d bytes", MaxEnvSize)
	}
	if !bytes.Contains(buf, []byte(NamespaceEnv)) {
		return nil, fmt.Errorf("data does not use the namespace %s", NamespaceEnv)
	}
	return bytes.TrimRight(buf, " \t\r\n"), nil
}

// isoTransport is the ISO transport's probe: on the running system it
// first loads the drivers of storage devices udev has not reached yet
// (mediaBuses), then looks at the block devices.
func isoTransport(o TransportOptions) func(ctx context.Context) (*Source, error) {
	drivers := &modalias.Loader{Root: o.Root, Run: o.Run, Log: o.Log, What: "storage devices"}
	return func(ctx context.Context) (*Source, error) {
		// modprobe returns once the module's probe is done (the kernel
		// waits for its asynchronous part), so a controller's drives are
		// there when it returns: their drivers (sr_mod for a CD-ROM) are
		// loaded in the same look, not a poll later. Three passes cover
		// controller, drive and one bus in between.
		for pass := 0; pass < 3 && !o.Offline && drivers.Load(ctx, mediaBuses); pass++ {
		}
		return probeISO(o.Root, o.Log)
	}
}

// probeISO is the ISO transport's single look for DefaultTransports.
func probeISO(root string, log *slog.Logger) (*Source, error) {
	src, rejected, broken := scanDevices(root, log)
	if src != nil {
		return src, nil
	}
	if broken != nil {
		return nil, broken
	}
	return nil, fmt.Errorf("%w: no OVF environment medium among the block devices (%s)", ErrNoEnvironment, rejected)
}
