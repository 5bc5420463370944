// Package ova packs a disk image and the descriptor that declares every
// ovfinit property into an OVA appliance (`ovfinit ova`). Host-side
// tooling, kept out of the guest packages (internal/deptest).
package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/beevik/etree"
	"github.com/ovfinit/ovfinit/manager/descriptor"
)

// OVF namespaces (DSP0243 1.x).
const (
	nsRASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	nsVSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
	nsVMW  = "http://www.vmware.com/schema/ovf"
	// StreamOptimized is the ovf:format of a streamOptimized VMDK.
	StreamOptimized = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
	// Transports is what the appliance asks the deploying platform for:
	// the ovf-env.xml on an ISO, and VMware's guestinfo.ovfEnv.
	Transports = "iso com.vmware.guestInfo"
)

// Options describe an appliance.
type Options struct {
	Name      string // the virtual system's name; also the file names inside
	Disk      string // the boot disk, any format qemu-img reads
	CPUs      int
	MemoryMiB int
	Version   string            // ProductSection <Version>
	Defaults  map[string]string // property defaults (--prop-default)
	// Convert makes the streamOptimized VMDK at dst from src and returns
	// the disk's virtual size in bytes; default ConvertDisk (qemu-img).
	Convert func(ctx context.Context, src, dst string) (int64, error)
	// MTime of the tar entries; zero means the Unix epoch, so the same
	// inputs make the same bytes.
	MTime time.Time
}

var ovaName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if !ovaName.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("--name %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", o.Name))
	}
	if o.Disk == "" {
		errs = append(errs, errors.New("--disk: required"))
	} else if fi, err := os.Stat(o.Disk); err != nil {
		errs = append(errs, fmt.Errorf("--disk: %w", err))
	} else if !fi.Mode().IsRegular() {
		errs = append(errs, fmt.Errorf("--disk %s: not a regular file", o.Disk))
	}
	if o.CPUs < 1 || o.CPUs > 768 {
		errs = append(errs, fmt.Errorf("--cpus %d: want 1 to 768", o.CPUs))
	}
	if o.MemoryMiB < 4 || o.MemoryMiB > 24<<20 {
		errs = append(errs, fmt.Errorf("--memory %d: want 4 to %d MiB", o.MemoryMiB, 24<<20))
	}
	if _, err := descriptor.ProductSection(descriptor.Options{Defaults: o.Defaults}); err != nil {
		errs = append(errs, fmt.Errorf("--prop-default: %w", err))
	}
	return errors.Join(errs...)
}

// ConvertDisk runs qemu-img (Debian: qemu-utils) to write src as a
// streamOptimized VMDK, and returns its virtual size.
func ConvertDisk(ctx context.Context, src, dst string) (int64, error) {
	out, err := exec.CommandContext(ctx, "qemu-img", "info", "--output=json", src).Output()
	if err != nil {
		return 0, fmt.Errorf("qemu-img info %s: %w%s", src, err, stderrOf(err))
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil || info.VirtualSize <= 0 {
		return 0, fmt.Errorf("qemu-img info %s: no virtual size in %q", src, out)
	}
	cmd := exec.CommandContext(ctx, "qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("qemu-img convert %s to a streamOptimized VMDK: %w: %s", src, err, bytes.TrimSpace(out))
	}
	return info.VirtualSize, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + string(bytes.TrimSpace(ee.Stderr))
	}
	return ""
}

// Descriptor renders the OVF descriptor for a disk file of fileSize bytes
// holding a disk of capacity bytes.
func Descriptor(o Options, diskFile string, fileSize, capacity int64) ([]byte, error) {
	ps, err := descriptor.ProductSection(descriptor.Options{Product: o.Name, Version: o.Version, Defaults: o.Defaults})
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	env := doc.CreateElement("Envelope")
	env.CreateAttr("xmlns", descriptor.EnvelopeNS)
	env.CreateAttr("xmlns:ovf", descriptor.EnvelopeNS)
	env.CreateAttr("xmlns:rasd", nsRASD)
	env.CreateAttr("xmlns:vssd", nsVSSD)
	env.CreateAttr("xmlns:vmw", nsVMW)

	refs := env.CreateElement("References")
	f := refs.CreateElement("File")
	f.CreateAttr("ovf:id", "file1")
	f.CreateAttr("ovf:href", diskFile)
	f.CreateAttr("ovf:size", strconv.FormatInt(fileSize, 10))

	ds := env.CreateElement("DiskSection")
	ds.CreateElement("Info").SetText("Virtual disks")
	d := ds.CreateElement("Disk")
	d.CreateAttr("ovf:diskId", "vmdisk1")
	d.CreateAttr("ovf:fileRef", "file1")
	d.CreateAttr("ovf:capacity", strconv.FormatInt(capacity, 10))
	d.CreateAttr("ovf:capacityAllocationUnits", "byte")
	d.CreateAttr("ovf:format", StreamOptimized)

	ns := env.CreateElement("NetworkSection")
	ns.CreateElement("Info").SetText("Logical networks")
	n := ns.CreateElement("Network")
	n.CreateAttr("ovf:name", "VM Network")
	n.CreateElement("Description").SetText("The network the appliance is connected to")

	vs := env.CreateElement("VirtualSystem")
	vs.CreateAttr("ovf:id", o.Name)
	vs.CreateElement("Info").SetText("A virtual machine configured at first boot by ovfinit")
	vs.CreateElement("Name").SetText(o.Name)
	vs.AddChild(ps)

	osec := vs.CreateElement("OperatingSystemSection")
	osec.CreateAttr("ovf:id", "101")
	osec.CreateAttr("vmw:osType", "otherLinux64Guest")
	osec.CreateElement("Info").SetText("The guest operating system")
	osec.CreateElement("Description").SetText("Linux 64-Bit")

	hw := vs.CreateElement("VirtualHardwareSection")
	hw.CreateAttr("ovf:transport", Transports)
	hw.CreateElement("Info").SetText("Virtual hardware requirements")
	sys := hw.CreateElement("System")
	for _, kv := range [][2]string{{"ElementName", "Virtual Hardware Family"}, {"InstanceID", "0"}, {"VirtualSystemIdentifier", o.Name}, {"VirtualSystemType", "vmx-13"}} {
		sys.CreateElement("vssd:" + kv[0]).SetText(kv[1])
	}
	// rasd elements in the schema's (alphabetical) order.
	item := func(fields ...[2]string) {
		it := hw.CreateElement("Item")
		for _, kv := range fields {
			it.CreateElement("rasd:" + kv[0]).SetText(kv[1])
		}
	}
	item([2]string{"AllocationUnits", "hertz * 10^6"}, [2]string{"Description", "Number of virtual CPUs"},
		[2]string{"ElementName", fmt.Sprintf("%d virtual CPU(s)", o.CPUs)}, [2]string{"InstanceID", "1"},
		[2]string{"ResourceType", "3"}, [2]string{"VirtualQuantity", strconv.Itoa(o.CPUs)})
	item([2]string{"AllocationUnits", "byte * 2^20"}, [2]string{"Description", "Memory size"},
		[2]string{"ElementName", fmt.Sprintf("%d MB of memory", o.MemoryMiB)}, [2]string{"InstanceID", "2"},
		[2]string{"ResourceType", "4"}, [2]string{"VirtualQuantity", strconv.Itoa(o.MemoryMiB)})
	item([2]string{"Address", "0"}, [2]string{"Description", "SCSI controller"}, [2]string{"ElementName", "SCSI controller 0"},
		[2]string{"InstanceID", "3"}, [2]string{"ResourceSubType", "lsilogic"}, [2]string{"ResourceType", "6"})
	item([2]string{"Address", "0"}, [2]string{"Description", "IDE controller"}, [2]string{"ElementName", "IDE controller 0"},
		[2]string{"InstanceID", "4"}, [2]string{"ResourceType", "5"})
	item([2]string{"AddressOnParent", "0"}, [2]string{"ElementName", "Hard disk 1"}, [2]string{"HostResource", "ovf:/disk/vmdisk1"},
		[2]string{"InstanceID", "5"}, [2]string{"Parent", "3"}, [2]string{"ResourceType", "17"})
	// The CD-ROM the iso transport puts ovf-env.xml on.
	item([2]string{"AddressOnParent", "0"}, [2]string{"AutomaticAllocation", "false"}, [2]string{"Description", "CD-ROM for the OVF environment (iso transport)"},
		[2]string{"ElementName", "CD/DVD drive 1"}, [2]string{"InstanceID", "6"}, [2]string{"Parent", "4"}, [2]string{"ResourceType", "15"})
	item([2]string{"AddressOnParent", "7"}, [2]string{"AutomaticAllocation", "true"}, [2]string{"Connection", "VM Network"},
		[2]string{"Description", "E1000 ethernet adapter"}, [2]string{"ElementName", "Network adapter 1"}, [2]string{"InstanceID", "7"},
		[2]string{"ResourceSubType", "E1000"}, [2]string{"ResourceType", "10"})
	doc.Indent(2)
	return doc.WriteToBytes()
}

// Write builds the appliance at out: NAME.ovf first (the OVF spec
// requires the descriptor to be the first entry), NAME.mf (SHA256 of the
// others), then NAME-disk1.vmdk. The archive is written to a temporary file
// and renamed, so a failure leaves no partial .ova.
func Write(ctx context.Context, o Options, out string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	convert := o.Convert
	if convert == nil {
		convert = ConvertDisk
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), ".ova-")
	if err != nil {
		return fmt.Errorf("-o %s: %w", out, err)
	}
	defer os.RemoveAll(dir)
	diskName := o.Name + "-disk1.vmdk"
	vmdk := filepath.Join(dir, diskName)
	capacity, err := convert(ctx, o.Disk, vmdk)
	if err != nil {
		return err
	}
	vmdkSum, vmdkSize, err := hashFile(vmdk)
	if err != nil {
		return err
	}
	desc, err := Descriptor(o, diskName, vmdkSize, capacity)
	if err != nil {
		return err
	}
	descSum := sha256.Sum256(desc)
	mf := fmt.Sprintf("SHA256(%s.ovf)= %x\nSHA256(%s)= %s\n", o.Name, descSum, diskName, vmdkSum)

	tmp := filepath.Join(dir, "out.ova")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mtime := o.MTime
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	add := func(name string, size int64, r io.Reader) error {
		h := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR, Uname: "root", Gname: "root"}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("writing %s into the OVA: %w", name, err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("writing %s into the OVA: %w", name, err)
		}
		return nil
	}
	if err := add(o.Name+".ovf", int64(len(desc)), bytes.NewReader(desc)); err != nil {
		return err
	}
	if err := add(o.Name+".mf", int64(len(mf)), bytes.NewReader([]byte(mf))); err != nil {
		return err
	}
	vf, err := os.Open(vmdk)
	if err != nil {
		return err
	}
	defer vf.Close()
	if err := add(diskName, vmdkSize, vf); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("-o %s: %w", out, err)
	}
	return nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
