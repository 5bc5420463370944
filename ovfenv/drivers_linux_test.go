//go:build linux

package ovfenv

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// sysDevice adds a device under root's /sys/bus/<bus>/devices with the
// given attribute files; bound adds a driver link.
func sysDevice(t *testing.T, root, bus, name string, bound bool, attrs map[string]string) {
	t.Helper()
	dev := filepath.Join(root, "sys", "bus", bus, "devices", name)
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range attrs {
		if err := os.WriteFile(filepath.Join(dev, k), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if bound {
		if err := os.Symlink("../../../../bus/"+bus+"/drivers/x", filepath.Join(dev, "driver")); err != nil {
			t.Fatal(err)
		}
	}
}

// The ISO transport loads the drivers of unbound storage controllers and
// CD-ROM drives, once per alias, before udev gets to them; never those of
// other devices, of bound ones, or in an offline tree.
func TestISOLoadsMediaDrivers(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	ide := "pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80"
	sysDevice(t, root, "pci", "0000:00:01.1", false, map[string]string{"class": "0x010180", "modalias": ide})
	sysDevice(t, root, "pci", "0000:00:02.0", false, map[string]string{"class": "0x030000", "modalias": "pci:vga"})            // display: not ours
	sysDevice(t, root, "pci", "0000:00:04.0", true, map[string]string{"class": "0x010000", "modalias": "pci:virtio-blk"})      // bound
	sysDevice(t, root, "scsi", "host0", false, map[string]string{})                                                            // no modalias
	sysDevice(t, root, "virtio", "virtio0", false, map[string]string{"device": "0x0001", "modalias": "virtio:d00000001v1AF4"}) // a NIC
	run := &cmdrun.Fake{}
	o := TransportOptions{Root: root, Log: testLogger(t), Run: run}
	probe := transport(t, o, TransportISO).Probe
	if _, err := probe(t.Context()); err == nil {
		t.Fatal("Probe() found an environment in an empty /sys/block")
	}
	want := []string{"modprobe -q -b -a -- " + ide}
	if got := run.Lines(); !slices.Equal(got, want) {
		t.Fatalf("first look ran %q, want %q", got, want)
	}
	// A drive that turns up later (udev loaded its controller's driver) is
	// loaded in the next look, the controller's is not asked for again.
	sysDevice(t, root, "scsi", "1:0:0:0", false, map[string]string{"type": "5", "modalias": "scsi:t-0x05"})
	sysDevice(t, root, "scsi", "2:0:0:0", false, map[string]string{"type": "1", "modalias": "scsi:t-0x01"}) // a tape
	probe(t.Context())
	probe(t.Context())
	want = append(want, "modprobe -q -b -a -- scsi:t-0x05")
	if got := run.Lines(); !slices.Equal(got, want) {
		t.Fatalf("later looks ran %q, want %q", got, want)
	}

	offline := &cmdrun.Fake{}
	o = TransportOptions{Root: root, Offline: true, Log: testLogger(t), Run: offline}
	transport(t, o, TransportISO).Probe(t.Context())
	if got := offline.Lines(); got != nil {
		t.Errorf("an offline tree ran %q, want nothing", got)
	}
}

// The controller's driver finds its drive while modprobe runs (the kernel
// waits for the probe): the drive's driver is loaded in the same look, and
// the medium is found in the first round, not a poll later.
func TestISOLoadsDriveDriverInSameLook(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	ide := "pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80"
	sysDevice(t, root, "pci", "0000:00:01.1", false, map[string]string{"class": "0x010180", "modalias": ide})
	iso := goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})
	run := &cmdrun.Fake{Answers: map[string]func() ([]byte, error){
		"modprobe -q -b -a -- " + ide: func() ([]byte, error) {
			sysDevice(t, root, "scsi", "1:0:0:0", false, map[string]string{"type": "5", "modalias": "scsi:t-0x05"})
			return nil, nil
		},
		"modprobe -q -b -a -- scsi:t-0x05": func() ([]byte, error) {
			addDevice(t, root, fakeDevice{name: "sr0", size: -1, image: iso})
			return nil, nil
		},
	}}
	o := TransportOptions{Root: root, Log: testLogger(t), Run: run}
	src, err := transport(t, o, TransportISO).Probe(t.Context())
	if err != nil || src.Location != filepath.Join(root, "dev", "sr0") {
		t.Fatalf("first look = %+v, %v; want the medium on sr0", src, err)
	}
	want := []string{"modprobe -q -b -a -- " + ide, "modprobe -q -b -a -- scsi:t-0x05"}
	if got := run.Lines(); !slices.Equal(got, want) {
		t.Fatalf("first look ran %q, want %q", got, want)
	}
}

// A missing modprobe or a device with no driver does not stop the look.
func TestISOMediaDriversFailure(t *testing.T) {
	root := t.TempDir()
	addDevice(t, root, fakeDevice{name: "sr0", size: -1, image: goISO(t, "OVF ENV", map[string][]byte{"ovf-env.xml": sampleEnv})})
	sysDevice(t, root, "pci", "0000:00:01.1", false, map[string]string{"class": "0x010180", "modalias": "pci:x"})
	o := TransportOptions{Root: root, Log: testLogger(t), Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}}
	p := &Prober{Transports: []Transport{transport(t, o, TransportISO)}, Wait: time.Second, Log: testLogger(t)}
	if src, err := p.Probe(t.Context()); err != nil || src.Location != filepath.Join(root, "dev", "sr0") {
		t.Fatalf("Probe() = %+v, %v; want the medium on sr0", src, err)
	}
}
