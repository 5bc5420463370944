package vm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the directory of the ovfinit module's go.mod, as the go
// tool sees it from the current directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// BuildAgent builds ./cmd/ovfinit as a static linux/amd64 binary at
// dir/ovfinit and returns its path.
func BuildAgent(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "ovfinit")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s", "-o", out, "./cmd/ovfinit")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the agent (go build ./cmd/ovfinit in %s): %w\n%s", root, err, b)
	}
	return out, nil
}

// BuildISO writes envXML as ovf-env.xml into an ISO image labelled "OVF ENV"
// at dir/env.iso, the way vSphere attaches the OVF environment.
func BuildISO(dir string, envXML []byte) (string, error) {
	src, err := os.MkdirTemp(dir, "isoroot")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "ovf-env.xml"), envXML, 0o644); err != nil {
		return "", err
	}
	iso := filepath.Join(dir, "env.iso")
	if err := run("genisoimage", "-quiet", "-V", "OVF ENV", "-J", "-r", "-o", iso, filepath.Join(src, "ovf-env.xml")); err != nil {
		return "", err
	}
	return iso, nil
}

// NewDisk creates a raw 64 MiB ext4 image labelled ovfstate at path: the
// guest's persistent state disk.
func NewDisk(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(64 << 20); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return run("mkfs.ext4", "-F", "-q", "-L", "ovfstate", path)
}

func run(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Tools are the host programs the harness runs.
var Tools = []string{"qemu-system-x86_64", "genisoimage", "mkfs.ext4", "busybox"}

// Missing lists what a VM test needs and this host lacks: tools not on
// PATH and the prepared kernel. Empty means a VM can boot.
func Missing() []string {
	var m []string
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			m = append(m, t)
		}
	}
	if _, err := FindKernel(); err != nil {
		m = append(m, "kernel ("+err.Error()+")")
	}
	return m
}

// Assets are the built pieces one or more VMs boot from.
type Assets struct {
	Kernel    *Kernel
	Agent     string // the static ovfinit binary
	Initramfs string
}

// Prepare finds the kernel, builds the agent and the initramfs in dir. The
// environment variable OVFINIT_E2E_AGENT names a prebuilt static agent to
// use instead of building ./cmd/ovfinit.
func Prepare(ctx context.Context, dir string) (*Assets, error) {
	return PrepareInitramfs(ctx, dir, InitramfsOptions{})
}

// PrepareInitramfs is Prepare with initramfs options (extra on-demand
// modules, an image tree, say); its Kernel and Agent fields, where empty,
// are filled in with FindKernel and Agent.
func PrepareInitramfs(ctx context.Context, dir string, o InitramfsOptions) (*Assets, error) {
	var err error
	if o.Kernel == nil {
		if o.Kernel, err = FindKernel(); err != nil {
			return nil, err
		}
	}
	if o.Agent == "" {
		if o.Agent, err = Agent(ctx, dir); err != nil {
			return nil, err
		}
	}
	initrd := filepath.Join(dir, "initramfs.cpio.gz")
	if err := BuildInitramfs(ctx, initrd, o); err != nil {
		return nil, err
	}
	return &Assets{Kernel: o.Kernel, Agent: o.Agent, Initramfs: initrd}, nil
}

// Agent returns the static agent a VM runs: the file OVFINIT_E2E_AGENT
// names, or else ./cmd/ovfinit built into dir (BuildAgent).
func Agent(ctx context.Context, dir string) (string, error) {
	if agent := os.Getenv("OVFINIT_E2E_AGENT"); agent != "" {
		return agent, nil
	}
	return BuildAgent(ctx, dir)
}
