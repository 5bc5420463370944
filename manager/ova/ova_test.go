package ova

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/vmware/govmomi/ovf"
)

// readOVA returns the tar's entries in order.
func readOVA(t *testing.T, p string) ([]string, map[string][]byte) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	data := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		names = append(names, h.Name)
		data[h.Name], _ = io.ReadAll(tr)
	}
	return names, data
}

func TestWriteOVA(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.raw")
	os.WriteFile(disk, bytes.Repeat([]byte{0}, 1<<20), 0o644)
	o := Options{Name: "appliance", Disk: disk, CPUs: 2, MemoryMiB: 1024, Version: "1.0",
		Defaults: map[string]string{"ovfinit.ssh.port": "2222"}}
	realDisk := true
	if _, err := exec.LookPath("qemu-img"); err != nil {
		// The descriptor, manifest and tar are still checked.
		t.Logf("qemu-img not installed (apt-get install qemu-utils): using a fake VMDK")
		realDisk = false
		o.Convert = func(_ context.Context, src, dst string) (int64, error) {
			return 1 << 20, os.WriteFile(dst, []byte("# fake vmdk\n"), 0o644)
		}
	}
	out := filepath.Join(dir, "appliance.ova")
	if err := Write(t.Context(), o, out); err != nil {
		t.Fatalf("Write: %v", err)
	}
	names, data := readOVA(t, out)
	if diff := cmp.Diff([]string{"appliance.ovf", "appliance.mf", "appliance-disk1.vmdk"}, names); diff != "" {
		t.Fatalf("OVA entries (-want +got):\n%s", diff)
	}

	// The manifest matches every other entry.
	sc := bufio.NewScanner(bytes.NewReader(data["appliance.mf"]))
	checked := 0
	for sc.Scan() {
		var name, sum string
		if _, err := fmt.Sscanf(strings.Replace(sc.Text(), ")= ", " ", 1), "SHA256(%s %s", &name, &sum); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		got := sha256.Sum256(data[name])
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("manifest SHA256(%s) = %s, want %x", name, sum, got)
		}
		checked++
	}
	if checked != 2 {
		t.Errorf("manifest checks %d files, want 2:\n%s", checked, data["appliance.mf"])
	}

	// An independent OVF reader (govmomi) accepts the descriptor.
	env, err := ovf.Unmarshal(bytes.NewReader(data["appliance.ovf"]))
	if err != nil {
		t.Fatalf("govmomi ovf.Unmarshal: %v\n%s", err, data["appliance.ovf"])
	}
	vs := env.VirtualSystem
	if vs == nil || vs.ID != "appliance" || len(vs.VirtualHardware) != 1 || len(vs.Product) != 1 {
		t.Fatalf("descriptor: VirtualSystem %+v, want one with id appliance, one hardware and one product section", vs)
	}
	hw := vs.VirtualHardware[0]
	if hw.Transport == nil || *hw.Transport != Transports {
		t.Errorf("transport = %v, want %q", hw.Transport, Transports)
	}
	types := map[uint16]string{}
	for _, it := range hw.Item {
		if it.ResourceType == nil {
			t.Errorf("item %s without a ResourceType", it.InstanceID)
			continue
		}
		q := ""
		if it.VirtualQuantity != nil {
			q = fmt.Sprint(*it.VirtualQuantity)
		}
		types[uint16(*it.ResourceType)] = q
	}
	for rt, want := range map[uint16]string{3: "2", 4: "1024", 17: "", 15: "", 10: ""} {
		if got, ok := types[rt]; !ok || got != want {
			t.Errorf("item of ResourceType %d: quantity %q (present %v), want %q", rt, got, ok, want)
		}
	}
	props := map[string]ovf.Property{}
	for _, p := range vs.Product[0].Property {
		props[p.Key] = p
	}
	if len(props) != len(ovfenv.Keys()) {
		t.Errorf("ProductSection has %d properties, want %d (every key)", len(props), len(ovfenv.Keys()))
	}
	if p := props["ovfinit.ssh.port"]; p.Default == nil || *p.Default != "2222" {
		t.Errorf("ovfinit.ssh.port default = %v, want 2222", p.Default)
	}
	if env.Disk == nil || len(env.Disk.Disks) != 1 || env.Disk.Disks[0].Capacity != "1048576" || *env.Disk.Disks[0].Format != StreamOptimized {
		t.Errorf("DiskSection = %+v, want one streamOptimized disk of 1048576 bytes", env.Disk)
	}
	if len(env.References) != 1 || env.References[0].Href != "appliance-disk1.vmdk" || int(env.References[0].Size) != len(data["appliance-disk1.vmdk"]) {
		t.Errorf("References = %+v, want the VMDK with its size %d", env.References, len(data["appliance-disk1.vmdk"]))
	}
	if realDisk {
		vmdk := filepath.Join(dir, "check.vmdk")
		os.WriteFile(vmdk, data["appliance-disk1.vmdk"], 0o644)
		out, err := exec.Command("qemu-img", "info", vmdk).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "create type: streamOptimized") {
			t.Errorf("qemu-img info on the VMDK: %v\n%s", err, out)
		}
	}
}

func TestOVAValidate(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "d.raw")
	os.WriteFile(disk, []byte{0}, 0o644)
	o := Options{Name: "bad name", Disk: filepath.Join(dir, "missing.raw"), CPUs: 0, MemoryMiB: 1, Defaults: map[string]string{"nope": "1"}}
	err := Write(t.Context(), o, filepath.Join(dir, "x.ova"))
	if err == nil {
		t.Fatal("Write with bad options = nil error")
	}
	for _, want := range []string{"--name", "--disk", "--cpus", "--memory", "--prop-default", `"nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Write error = %v; want it to name %s", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.ova")); err == nil {
		t.Error("a failed Write left x.ova")
	}
	// A converter failure leaves nothing behind either.
	o = Options{Name: "a", Disk: disk, CPUs: 1, MemoryMiB: 512, Convert: func(context.Context, string, string) (int64, error) {
		return 0, errors.New("qemu-img convert: boom")
	}}
	if err := Write(t.Context(), o, filepath.Join(dir, "a.ova")); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Write with a failing converter = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after failures the directory holds %v, want only the disk", entries)
	}
}
