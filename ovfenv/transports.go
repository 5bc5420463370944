package ovfenv

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// Where the file-based transports look, under the root directory.
const (
	// FwCfgPath is the QEMU fw_cfg item the environment is passed in:
	// qemu -fw_cfg name=opt/org.ovfinit/ovfenv,file=ovf-env.xml.
	FwCfgPath = "/sys/firmware/qemu_fw_cfg/by_name/opt/org.ovfinit/ovfenv/raw"
	fwCfgDir  = "/sys/firmware/qemu_fw_cfg"
	// SeedPath is the environment an image builder bakes into the image,
	// used when no deploy-time transport has one.
	SeedPath = "/var/lib/ovfinit/seed/ovf-env.xml"
	// KVPPoolDir holds Hyper-V's KVP pool files (.kvp_pool_0 .. 4).
	KVPPoolDir = "/var/lib/hyperv"
	// KVPKey is the Hyper-V KVP key of the environment; a value longer than
	// one record is split into KVPKey.0, KVPKey.1, ...
	KVPKey = "ovfinit.ovfenv"
	// VirtualBoxProperty is the guest property of the environment.
	VirtualBoxProperty = "/ovfinit/ovfEnv"
	// GuestinfoOVFEnv is the VMware guestinfo key vSphere fills from the
	// vApp options.
	GuestinfoOVFEnv = "guestinfo.ovfEnv"
)

// TransportOptions configure DefaultTransports.
type TransportOptions struct {
	// Root prefixes every path; "" means "/".
	Root string
	// Offline says Root is an image's tree, not the running system's
	// (`ovfinit run --root DIR`): the transports that ask the running host
	// (modprobe for fw_cfg, VMware guestinfo, VirtualBox, the Hyper-V
	// registry) are skipped, each with its reason; the ones that read
	// files (the ISO's /sys and /dev, fw_cfg's sysfs file, the KVP pool
	// files, the seed) read them under Root.
	Offline bool
	// Run runs external commands (modprobe, vmware-rpctool, vmtoolsd,
	// VBoxControl); nil means cmdrun.Exec{Log: Log}.
	Run cmdrun.Runner
	Log *slog.Logger
	// Guestinfo reads one VMware guestinfo key natively; nil means the RPC
	// channel on amd64 inside VMware (checked by CPUID), none elsewhere.
	// Tests set it to a fake. It returns ok false when the key is unset,
	// and an error when the channel is unavailable.
	Guestinfo func(key string) (value string, ok bool, err error)
	// GuestinfoSet sets one guestinfo key natively (WipeGuestinfo); nil
	// means the RPC channel on amd64 inside VMware, none elsewhere.
	GuestinfoSet func(key, value string) error
	// KVP reads Hyper-V's values on Windows (the registry); nil means the
	// system's. Ignored elsewhere.
	KVP func() (map[string]string, error)
}

// DefaultTransports returns every transport in precedence order: ISO,
// fw_cfg, VMware guestinfo, VirtualBox, Hyper-V KVP, then the seed baked
// into the image. docs/transports.md explains the order.
func DefaultTransports(o TransportOptions) []Transport {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Run == nil {
		o.Run = cmdrun.Exec{Log: o.Log}
	}
	if o.Guestinfo == nil {
		o.Guestinfo = nativeGuestinfo
	}
	if o.KVP == nil {
		o.KVP = systemKVP
	}
	return []Transport{
		{Name: TransportISO, Timeout: 10 * time.Second, Probe: isoTransport(o)},
		{Name: TransportFwCfg, Timeout: 5 * time.Second, Probe: func(ctx context.Context) (*Source, error) { return probeFwCfg(ctx, o) }},
		{Name: TransportGuestinfo, Timeout: 10 * time.Second, Once: true, Probe: hostOnly(o, "VMware guestinfo is the running VM's", func(ctx context.Context) (*Source, error) { return probeGuestinfo(ctx, o) })},
		{Name: TransportVirtualBox, Timeout: 5 * time.Second, Once: true, Probe: hostOnly(o, "VBoxControl asks the running VM", func(ctx context.Context) (*Source, error) { return probeVirtualBox(ctx, o) })},
		{Name: TransportHyperV, Timeout: 5 * time.Second, Probe: func(ctx context.Context) (*Source, error) { return probeKVP(o) }},
		{Name: TransportSeed, Timeout: 5 * time.Second, Probe: func(ctx context.Context) (*Source, error) {
			return readFileTransport(o.Root, SeedPath, TransportSeed)
		}},
	}
}

// hostOnly skips a probe that asks the running host when Root is offline.
func hostOnly(o TransportOptions, why string, probe func(ctx context.Context) (*Source, error)) func(ctx context.Context) (*Source, error) {
	if !o.Offline {
		return probe
	}
	return func(ctx context.Context) (*Source, error) {
		return nil, fmt.Errorf("%w: skipped: %s, and %s is an offline tree", ErrNoEnvironment, why, o.Root)
	}
}

// TransportNames lists the names of DefaultTransports, in order.
func TransportNames() []string {
	return []string{TransportISO, TransportFwCfg, TransportGuestinfo, TransportVirtualBox, TransportHyperV, TransportSeed}
}

// readFileTransport reads the file name under root a transport exposes,
// through rootfs (a link in an offline tree stays in it); a missing file is
// ErrNoEnvironment.
func readFileTransport(root, name, transport string) (*Source, error) {
	p := hostPath(root, name)
	data, err := rootfs.ReadFileAt(root, name, MaxEnvSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no %s", ErrNoEnvironment, p)
		}
		return nil, fmt.Errorf("reading OVF environment %s: %w", p, err)
	}
	src := &Source{Transport: TransportFile, Location: p, Data: data}
	if len(bytes.TrimSpace(src.Data)) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrNoEnvironment, p)
	}
	src.Transport = transport
	return src, nil
}

func probeFwCfg(ctx context.Context, o TransportOptions) (*Source, error) {
	stat := func() error {
		f, err := rootfs.Open(o.Root)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.Stat(fwCfgDir)
		return err
	}
	if err := stat(); errors.Is(err, fs.ErrNotExist) && o.Offline {
		return nil, fmt.Errorf("%w: no %s under %s (an offline tree: modprobe is not run)", ErrNoEnvironment, fwCfgDir, o.Root)
	} else if errors.Is(err, fs.ErrNotExist) {
		// The driver is a module on most distributions' kernels.
		if _, err := cmdrun.Output(ctx, o.Run, "modprobe", "qemu_fw_cfg"); err != nil {
			return nil, fmt.Errorf("%w: no %s, and modprobe qemu_fw_cfg failed: %v", ErrNoEnvironment, fwCfgDir, err)
		}
		for i := 0; i < 20; i++ { // the directory appears as the driver probes
			if err := stat(); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return readFileTransport(o.Root, FwCfgPath, TransportFwCfg)
}

// guestinfoGetter reads one guestinfo key through the first channel that
// works: native RPC, vmware-rpctool, vmtoolsd --cmd.
type guestinfoGetter struct {
	ctx     context.Context
	o       TransportOptions
	channel string // the channel that answered, once one has
	tried   []string
}

// errNoChannel means no guestinfo channel could be used at all.
var errNoChannel = errors.New("no VMware RPC channel")

func (g *guestinfoGetter) get(key string) (string, bool, error) {
	try := func(name string, f func() (string, bool, error)) (string, bool, bool) {
		v, ok, err := f()
		if err != nil {
			g.tried = append(g.tried, fmt.Sprintf("%s: %v", name, err))
			return "", false, false
		}
		g.channel = name
		return v, ok, true
	}
	channels := []struct {
		name string
		f    func() (string, bool, error)
	}{
		{"rpc", func() (string, bool, error) { return g.o.Guestinfo(key) }},
		{"vmware-rpctool", func() (string, bool, error) { return g.runTool("vmware-rpctool", "info-get "+key) }},
		{"vmtoolsd", func() (string, bool, error) { return g.runTool("vmtoolsd", "--cmd", "info-get "+key) }},
	}
	for _, c := range channels {
		if g.channel != "" && g.channel != c.name {
			continue
		}
		if v, ok, worked := try(c.name, c.f); worked {
			return v, ok, nil
		}
		if g.channel != "" {
			return "", false, fmt.Errorf("%s stopped answering", c.name)
		}
	}
	return "", false, fmt.Errorf("%w (%s)", errNoChannel, strings.Join(g.tried, "; "))
}

// runTool runs vmware-rpctool or vmtoolsd. They exit non-zero with "No
// value found" for an unset key: that is "unset", not a broken channel.
func (g *guestinfoGetter) runTool(name string, args ...string) (string, bool, error) {
	out, err := cmdrun.Output(g.ctx, g.o.Run, append([]string{name}, args...)...)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()+string(out)), "no value found") {
			return "", false, nil
		}
		return "", false, err
	}
	v := strings.TrimRight(string(out), "\r\n")
	return v, !IsUnset(v), nil
}

func probeGuestinfo(ctx context.Context, o TransportOptions) (*Source, error) {
	g := &guestinfoGetter{ctx: ctx, o: o}
	doc, ok, err := g.get(GuestinfoOVFEnv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEnvironment, err)
	}
	src := &Source{Transport: TransportGuestinfo, Location: GuestinfoOVFEnv + " via " + g.channel}
	if ok {
		src.Data = []byte(doc)
	}
	var errs []error
	for _, k := range Keys() {
		if !strings.HasPrefix(k.Name, "ovfinit.") {
			continue
		}
		key := GuestinfoPrefix + k.Name
		v, ok, err := g.get(key)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", key, err)
		}
		if !ok {
			continue
		}
		enc, _, err := g.get(key + ".encoding")
		if err != nil {
			return nil, fmt.Errorf("reading %s.encoding: %w", key, err)
		}
		v, err = decodeGuestinfo(v, enc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		src.Extra = append(src.Extra, Property{Key: k.Name, Value: v})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(src.Data) == 0 && len(src.Extra) == 0 {
		return nil, fmt.Errorf("%w: %s and every guestinfo.ovfinit.* key are unset (via %s)", ErrNoEnvironment, GuestinfoOVFEnv, g.channel)
	}
	if len(src.Data) == 0 {
		src.Location = "guestinfo.ovfinit.* keys via " + g.channel
	} else if len(src.Extra) > 0 {
		src.Location += " and guestinfo.ovfinit.* keys"
	}
	return src, nil
}

// decodeGuestinfo applies a key's .encoding: "" (plain), "base64" or
// "gzip+base64" (also spelled "gz+b64", "gzip+b64").
func decodeGuestinfo(v, enc string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "null", "plain":
		return v, nil
	case "base64", "b64":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return "", fmt.Errorf("encoding base64: %w", err)
		}
		return string(b), nil
	case "gzip+base64", "gz+b64", "gzip+b64":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return "", fmt.Errorf("encoding %s: %w", enc, err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return "", fmt.Errorf("encoding %s: %w", enc, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, MaxEnvSize+1))
		if err != nil {
			return "", fmt.Errorf("encoding %s: %w", enc, err)
		}
		if len(out) > MaxEnvSize {
			return "", fmt.Errorf("encoding %s: more than %d bytes decompressed", enc, MaxEnvSize)
		}
		return string(out), nil
	}
	return "", fmt.Errorf("unknown encoding %q: want base64 or gzip+base64", enc)
}

func probeVirtualBox(ctx context.Context, o TransportOptions) (*Source, error) {
	out, err := cmdrun.Output(ctx, o.Run, "VBoxControl", "--nologo", "guestproperty", "get", VirtualBoxProperty)
	s := string(out)
	if strings.Contains(s, "No value set") {
		return nil, fmt.Errorf("%w: guest property %s is not set", ErrNoEnvironment, VirtualBoxProperty)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: VBoxControl: %v", ErrNoEnvironment, err)
	}
	v, ok := strings.CutPrefix(s, "Value: ")
	if !ok {
		return nil, fmt.Errorf("VBoxControl guestproperty get %s: unexpected output %q", VirtualBoxProperty, truncate(s, 80))
	}
	v = strings.TrimRight(v, "\r\n")
	if IsUnset(v) {
		return nil, fmt.Errorf("%w: guest property %s is empty", ErrNoEnvironment, VirtualBoxProperty)
	}
	return &Source{Transport: TransportVirtualBox, Location: "guest property " + VirtualBoxProperty, Data: []byte(v)}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// KVP record layout of the Linux pool files (hv_kvp_daemon).
const (
	kvpKeySize   = 512
	kvpValueSize = 2048
)

// ReadKVPPool decodes one Hyper-V KVP pool file: records of a 512-byte key
// and a 2048-byte value, each NUL-terminated.
func ReadKVPPool(data []byte) (map[string]string, error) {
	const rec = kvpKeySize + kvpValueSize
	if len(data)%rec != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d-byte records", len(data), rec)
	}
	m := map[string]string{}
	for off := 0; off < len(data); off += rec {
		k := cstring(data[off : off+kvpKeySize])
		if k == "" {
			continue
		}
		m[k] = cstring(data[off+kvpKeySize : off+rec])
	}
	return m, nil
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// kvpValue returns KVPKey's value, or the concatenation of its chunks
// KVPKey.0, KVPKey.1, ... up to the first missing one.
func kvpValue(m map[string]string) (string, string, bool) {
	if v, ok := m[KVPKey]; ok && !IsUnset(v) {
		return v, KVPKey, true
	}
	var b strings.Builder
	n := 0
	for ; ; n++ {
		v, ok := m[KVPKey+"."+strconv.Itoa(n)]
		if !ok {
			break
		}
		b.WriteString(v)
	}
	if n == 0 {
		return "", "", false
	}
	return b.String(), fmt.Sprintf("%s.0..%d", KVPKey, n-1), true
}

func probeKVP(o TransportOptions) (*Source, error) {
	var pools []map[string]string
	var where []string
	if o.KVP != nil && o.Root == "/" && !o.Offline {
		if m, err := o.KVP(); err == nil && m != nil {
			pools = append(pools, m)
			where = append(where, "registry")
		}
	}
	// Pool 0 is what the host sets (external); the others follow.
	for i := 0; i <= 4; i++ {
		name := KVPPoolDir + "/.kvp_pool_" + strconv.Itoa(i)
		p := hostPath(o.Root, name)
		data, err := rootfs.ReadFileAt(o.Root, name, MaxEnvSize)
		if err != nil {
			continue
		}
		m, err := ReadKVPPool(data)
		if err != nil {
			return nil, fmt.Errorf("KVP pool %s: %w", p, err)
		}
		pools = append(pools, m)
		where = append(where, p)
	}
	if len(pools) == 0 {
		return nil, fmt.Errorf("%w: no KVP pool in %s", ErrNoEnvironment, KVPPoolDir)
	}
	for i, m := range pools {
		if v, key, ok := kvpValue(m); ok {
			return &Source{Transport: TransportHyperV, Location: where[i] + " " + key, Data: []byte(v)}, nil
		}
	}
	return nil, fmt.Errorf("%w: no %s key in %s", ErrNoEnvironment, KVPKey, strings.Join(where, ", "))
}

// hostPath is name under root as a host path, for messages only: the file
// is read through rootfs, never by this path.
func hostPath(root, name string) string {
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, filepath.FromSlash(name))
}
