// Command bootbench boots the same Debian image three ways under qemu TCG,
// interleaved, and compares them (issue 20, point 5; bench/boot.sh runs
// it, docs/performance.md has its tables):
//
//   - cloud-init: the image with cloud-init (its OVF data source reads the
//     environment from the CD-ROM; phone_home posts when it is done);
//   - ovfinit: the image with the .deb built from this tree, installed the
//     way docs/image-builders.md says; the ready event is the POST;
//   - none: the image with no agent: host keys, the user and its key, the
//     host name and the image's own DHCP (ifupdown) baked in at build time,
//     and a one-shot unit after network-online.target that POSTs once;
//   - base (only when -base names a binary): the ovfinit variant with that
//     binary, an earlier build, so that a change is measured against it in
//     the same interleaved rounds (its "variant / ovfinit" ratios are the
//     change's speed-up) rather than against another session's figures.
//
// For each boot it measures, from qemu's start, the first SSH login (a new
// attempt every second, overlapping, so that a hung attempt does not hide
// a server that has come up) and the POST; then, logged in, the agent's
// unit time in guest time, the cgroup memory peak of the agent's units,
// and the failed units. Per suite it prints the medians and the medians of
// the per-pair ratios.
//
//	go run ./bench/bootbench -suites bookworm,trixie -pairs 5
//
// Needs root (overlay mounts, chroot) and the images of e2e/prepare.sh
// with OVFINIT_BENCH_IMAGES=1.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// guestUser is the login user of every variant: cloud-init's default user
// on Debian.
const guestUser = "debian"

// variants in the order of the first pair; later pairs rotate it.
var allVariants = []string{"cloud-init", "ovfinit", "none"}

type result struct {
	Suite, Variant string
	Pair           int
	SSH, Ready     time.Duration // from qemu start; 0: never
	UnitStart      float64       // guest seconds: the agent's first unit started
	UnitTime       float64       // guest seconds in the agent's units (start to active)
	FirstLine      float64       // guest seconds from ovfinit's start to its first log line (exec, runtime and package init, first step)
	VersionS       float64       // guest seconds of a warm `ovfinit version` (runtime and package init)
	InitMS         float64       // guest ms in package initialisers (GODEBUG=inittrace=1) of that run
	PeakMiB        float64       // the agent's units' cgroup memory.peak, the largest
	HWMMiB         float64       // ovfinit's VmHWM while it still runs
	CPU            float64       // guest CPU seconds of ovfinit up to the end of its pipeline
	ChildCPU       float64       // the same for the commands it ran (modprobe, useradd, ...)
	Failed         string        // systemctl --failed
	State          string        // is-system-running
	Err            string
}

type bench struct {
	dir     string
	kernel  *vm.Kernel
	initrd  map[string]string // suite -> the initramfs it boots
	journal bool              // -journal: keep <boot>.journal
	profile bool              // -profile: keep <boot>.pprof, ovfinit's CPU profile
	signer  ssh.Signer
	pubLine string
	port    int
	timeout time.Duration
	baseDeb string // -base's .deb, for the variant base

	mu    sync.Mutex
	posts map[string]time.Time // boot name -> first POST (ovfinit: ready)
}

func main() {
	suites := flag.String("suites", "bookworm,trixie", "Debian suites, comma-separated")
	pairs := flag.Int("pairs", 5, "interleaved rounds (one boot of each variant per round)")
	variants := flag.String("variants", strings.Join(allVariants, ","), "variants to boot")
	agent := flag.String("agent", "", "the ovfinit binary (default: built from this tree)")
	dir := flag.String("dir", "", "work directory (default: a new one under /tmp)")
	timeout := flag.Duration("timeout", 6*time.Minute, "per boot: qemu start to SSH and POST")
	journal := flag.Bool("journal", false, "keep each boot's journal (monotonic times) and systemd-analyze's critical chain beside its serial log")
	initrd := flag.String("initrd", "stub", "the boot initramfs: stub (the VM tests' own: it loads the root disk's drivers and mounts it) or image (each release's own, made by its initramfs-tools: udev loads the drivers it carries and names the NIC before systemd starts, as on a real image; e2e/prepare.sh builds it with OVFINIT_BENCH_IMAGES=1)")
	base := flag.String("base", "", "an earlier ovfinit binary to boot as the variant base, interleaved with the others (add base to -variants)")
	profile := flag.Bool("profile", false, "keep a CPU profile of each ovfinit boot's pipeline (OVFINIT_CPUPROFILE) beside its serial log: go tool pprof -top <agent> <boot>.pprof")
	flag.Parse()
	log.SetFlags(log.Ltime)
	ctx := context.Background()

	b := &bench{timeout: *timeout, posts: map[string]time.Time{}}
	var err error
	b.journal, b.profile = *journal, *profile
	if b.dir = *dir; b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "ovfinit-bench-boot."); err != nil {
			log.Fatal(err)
		}
	}
	if b.kernel, err = vm.FindKernel(); err != nil {
		log.Fatal(err)
	}
	if b.initrd, err = b.initramfs(ctx, *initrd, strings.Split(*suites, ",")); err != nil {
		log.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if b.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		log.Fatal(err)
	}
	b.pubLine = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(b.signer.PublicKey())))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	b.port = ln.Addr().(*net.TCPAddr).Port
	go http.Serve(ln, http.HandlerFunc(b.handle))

	bin := *agent
	if bin == "" {
		if bin, err = vm.Agent(ctx, b.dir); err != nil {
			log.Fatal(err)
		}
	}
	deb, err := vm.BuildDeb(ctx, bin, b.dir)
	if err != nil {
		log.Fatal(err)
	}
	vs := strings.Split(*variants, ",")
	if slices.Contains(vs, "base") != (*base != "") {
		log.Fatal("-base and the variant base go together")
	}
	if *base != "" {
		bdir := filepath.Join(b.dir, "base")
		if err := os.MkdirAll(bdir, 0o755); err != nil {
			log.Fatal(err)
		}
		if b.baseDeb, err = vm.BuildDeb(ctx, *base, bdir); err != nil {
			log.Fatal(err)
		}
	}
	var all []result
	out, err := os.Create(filepath.Join(b.dir, "boots.tsv"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(out, "suite\tpair\tvariant\tssh_s\tready_s\tunit_start_s\tunit_s\tfirst_line_s\tpeak_mib\thwm_mib\tstate\tfailed\terr\tcpu_s\tchild_cpu_s")
	for _, suite := range strings.Split(*suites, ",") {
		disks := map[string]string{}
		for _, v := range vs {
			t0 := time.Now()
			d, err := b.disk(ctx, suite, v, deb)
			if err != nil {
				log.Fatalf("%s %s: %v", suite, v, err)
			}
			log.Printf("%s %s: disk made in %v", suite, v, time.Since(t0).Round(time.Second))
			disks[v] = d
		}
		for p := range *pairs {
			order := slices.Clone(vs)
			for range p % len(order) {
				order = append(order[1:], order[0])
			}
			for _, v := range order {
				r := b.boot(ctx, suite, v, p, disks[v])
				log.Printf("%s pair %d %-10s ssh %5.1f s  ready %5.1f s  unit %.2f s (started at %.2f s, first line after %.2f s; warm start %.2f s, inits %.0f ms; CPU %.2f s + commands %.2f s)  peak %.1f MiB  state %s %s %s",
					suite, p, v, r.SSH.Seconds(), r.Ready.Seconds(), r.UnitTime, r.UnitStart, r.FirstLine, r.VersionS, r.InitMS, r.CPU, r.ChildCPU, r.PeakMiB, r.State, r.Failed, r.Err)
				fmt.Fprintf(out, "%s\t%d\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%s\t%s\t%s\t%.2f\t%.2f\n", r.Suite, r.Pair, r.Variant,
					r.SSH.Seconds(), r.Ready.Seconds(), r.UnitStart, r.UnitTime, r.FirstLine, r.PeakMiB, r.HWMMiB, r.State, r.Failed, r.Err, r.CPU, r.ChildCPU)
				all = append(all, r)
			}
		}
	}
	out.Close()
	report(os.Stdout, all, vs)
	log.Printf("raw figures in %s", filepath.Join(b.dir, "boots.tsv"))
}

// handle records the first POST per boot; for ovfinit only its ready (or
// failed) event counts.
func (b *bench) handle(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	name := strings.Trim(r.URL.Path, "/")
	variant, _, _ := strings.Cut(name, "-")
	if isAgent(variant) && !bytes.Contains(body, []byte(`"org.ovfinit.ready"`)) && !bytes.Contains(body, []byte(`"org.ovfinit.failed"`)) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if bytes.Contains(body, []byte(`"org.ovfinit.failed"`)) {
		log.Printf("%s: failed event: %s", name, body)
	}
	b.mu.Lock()
	if _, ok := b.posts[name]; !ok {
		b.posts[name] = now
	}
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (b *bench) posted(name string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.posts[name]
	return t, ok
}

// disk makes the variant's disk image (raw ext4, labelled root).
func (b *bench) disk(ctx context.Context, suite, variant, deb string) (string, error) {
	out := filepath.Join(b.dir, suite+"-"+variant+".img")
	switch variant {
	case "ovfinit", "base":
		if variant == "base" {
			deb = b.baseDeb
		}
		tree, err := vm.ImageTree(suite)
		if err != nil {
			return "", err
		}
		if err := vm.BuildImageDisk(ctx, tree, deb, out, 1536); err != nil {
			return "", err
		}
		// ovfinit exits when the image's OpenSSH serves SSH: its peak
		// memory is recorded as cloud-init's is.
		if err := debugfsMkdirWrite(out, "/etc/systemd/system/ovfinit.service.d", "bench-peak.conf", peakDropIn); err != nil {
			return "", err
		}
		if b.profile {
			return out, debugfsWrite(out, "/etc/systemd/system/ovfinit.service.d/bench-profile.conf", profileDropIn)
		}
		return out, nil
	case "cloud-init":
		tree := filepath.Join(vm.CacheDir(), "images", "debian-"+suite+"-cloud-init", "root")
		if _, err := os.Stat(tree); err != nil {
			return "", fmt.Errorf("no cloud-init image (OVFINIT_BENCH_IMAGES=1 bash e2e/prepare.sh): %w", err)
		}
		return out, b.customDisk(tree, out, b.cloudInitPeaks)
	case "none":
		tree, err := vm.ImageTree(suite)
		if err != nil {
			return "", err
		}
		return out, b.customDisk(tree, out, b.bakeNoAgent)
	}
	return "", fmt.Errorf("unknown variant %q", variant)
}

// customDisk makes a disk of tree changed by edit (through an overlay, so
// the cache stays clean).
func (b *bench) customDisk(tree, out string, edit func(root string) error) error {
	work, err := os.MkdirTemp(b.dir, "overlay")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	upper, wdir, merged := filepath.Join(work, "u"), filepath.Join(work, "w"), filepath.Join(work, "root")
	for _, d := range []string{upper, wdir, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := run("mount", "-t", "overlay", "overlay", "-o", "lowerdir="+tree+",upperdir="+upper+",workdir="+wdir, merged); err != nil {
		return err
	}
	defer run("umount", merged)
	if err := edit(merged); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	f.Truncate(1536 << 20)
	f.Close()
	return run("mkfs.ext4", "-F", "-q", "-L", "root", "-d", merged, out)
}

// profileDropIn has ovfinit write a CPU profile of its pipeline, which the
// bench's user may read once the unit is ready (ovfinit writes it before
// it notifies systemd).
const profileDropIn = `[Service]
Environment=OVFINIT_CPUPROFILE=` + guestProfile + `
ExecStartPost=-/bin/chmod 0644 ` + guestProfile + `
`

const guestProfile = "/run/ovfinit-cpu.pprof"

// peakDropIn makes a oneshot unit record its cgroup's memory.peak while
// the cgroup still exists (ExecStartPost runs before the unit's processes
// are gone), for units that have exited by the time the bench logs in.
const peakDropIn = `[Service]
ExecStartPost=-/bin/sh -c 'cat /sys/fs/cgroup/system.slice/%n/memory.peak >/run/bench-peak-%n'
`

// cloudInitPeaks adds peakDropIn to cloud-init's units.
func (b *bench) cloudInitPeaks(root string) error {
	for _, u := range cloudInitUnits {
		d := filepath.Join(root, "etc/systemd/system", u+".d")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "bench-peak.conf"), []byte(peakDropIn), 0o644); err != nil {
			return err
		}
	}
	return nil
}

var cloudInitUnits = []string{"cloud-init-main.service", "cloud-init-local.service", "cloud-init-network.service",
	"cloud-init.service", "cloud-config.service", "cloud-final.service"}

// initramfs returns the boot initramfs of each suite, of the kind -initrd
// names.
func (b *bench) initramfs(ctx context.Context, kind string, suites []string) (map[string]string, error) {
	m := map[string]string{}
	switch kind {
	case "stub":
		p := filepath.Join(b.dir, "boot.cpio.gz")
		if err := vm.BuildBootInitramfs(ctx, b.kernel, p); err != nil {
			return nil, err
		}
		for _, s := range suites {
			m[s] = p
		}
	case "image":
		for _, s := range suites {
			p := filepath.Join(vm.CacheDir(), "images", "debian-"+s+"-initrd", "initrd.img")
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("-initrd image: no initramfs of the %s image (OVFINIT_BENCH_IMAGES=1 e2e/prepare.sh makes it): %w", s, err)
			}
			m[s] = p
		}
	default:
		return nil, fmt.Errorf("-initrd: %q is not stub or image", kind)
	}
	return m, nil
}

// bakeNoAgent makes the image with no agent: what the agent would have
// set, done at build time.
func (b *bench) bakeNoAgent(root string) error {
	chroot := func(args ...string) error {
		return run("chroot", append([]string{root}, args...)...)
	}
	if err := chroot("ssh-keygen", "-A"); err != nil {
		return err
	}
	if err := chroot("useradd", "-m", "-s", "/bin/bash", "-G", "systemd-journal", guestUser); err != nil {
		return err
	}
	ssh := filepath.Join(root, "home", guestUser, ".ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ssh, "authorized_keys"), []byte(b.pubLine+"\n"), 0o600); err != nil {
		return err
	}
	if err := chroot("chown", "-R", guestUser+":"+guestUser, "/home/"+guestUser+"/.ssh"); err != nil {
		return err
	}
	files := map[string]string{
		"etc/hostname": "bench-guest\n",
		// The NIC, as the Debian installer writes it (its name under qemu's pc
		// machine: slot 2).
		"etc/network/interfaces.d/ens2": "allow-hotplug ens2\niface ens2 inet dhcp\n",
		"etc/systemd/system/bench-post.service": `[Unit]
Description=One POST once the network is online (bench: the image with no agent)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/bash -c 'for i in $$(seq 120); do if (exec 3<>/dev/tcp/10.0.2.2/` + strconv.Itoa(b.port) + ` && printf "POST /none-%%s HTTP/1.0\\r\\nContent-Length: 2\\r\\n\\r\\n{}" "$$(cat /etc/bench-boot)" >&3 && cat <&3 >/dev/null); then exit 0; fi; sleep 0.5; done; exit 1'

[Install]
WantedBy=multi-user.target
`,
	}
	for p, s := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			return err
		}
	}
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return os.Symlink("/etc/systemd/system/bench-post.service", filepath.Join(wants, "bench-post.service"))
}

// boot boots one variant on a copy of its disk and measures it.
func (b *bench) boot(ctx context.Context, suite, variant string, pair int, disk string) result {
	r := result{Suite: suite, Variant: variant, Pair: pair}
	name := fmt.Sprintf("%s-%s-%d-%d", variant, suite, pair, time.Now().UnixNano())
	bdir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		r.Err = err.Error()
		return r
	}
	defer os.RemoveAll(bdir)
	copyDisk := filepath.Join(bdir, "disk.img")
	if err := run("cp", "--sparse=always", disk, copyDisk); err != nil {
		r.Err = err.Error()
		return r
	}
	o := vm.Options{
		Assets:        &vm.Assets{Kernel: b.kernel, Initramfs: b.initrd[suite]},
		Disk:          copyDisk,
		Cmdline:       vm.ImageCmdline,
		MemoryMB:      768,
		MonitorSocket: filepath.Join(bdir, "monitor.sock"),
		SerialLog:     filepath.Join(b.dir, name+".serial"),
	}
	var err error
	switch variant {
	case "none":
		// The boot's name, for the POST's path: the only per-boot file.
		err = debugfsWrite(copyDisk, "/etc/bench-boot", name[len("none-"):])
	default:
		o.ISO, err = b.iso(bdir, variant, name)
	}
	if err != nil {
		r.Err = err.Error()
		return r
	}
	m, err := vm.Boot(ctx, o)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer m.Kill()
	var sshAt atomic.Int64
	client := make(chan *ssh.Client, 1)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go b.probe(pctx, m, &sshAt, client)
	deadline := time.After(b.timeout)
	var c *ssh.Client
wait:
	for {
		select {
		case c = <-client:
		case <-deadline:
			r.Err = "timeout"
			break wait
		case <-m.Done():
			r.Err = "qemu exited"
			break wait
		case <-time.After(200 * time.Millisecond):
		}
		if t, ok := b.posted(name); ok && r.Ready == 0 {
			r.Ready = t.Sub(m.Started)
		}
		if c != nil && r.Ready != 0 {
			break
		}
	}
	stop()
	if v := sshAt.Load(); v != 0 {
		r.SSH = time.Duration(v)
	}
	if c != nil {
		b.inspect(c, variant, &r)
		if b.journal {
			b.saveJournal(c, filepath.Join(b.dir, name+".journal"))
		}
		if b.profile && isAgent(variant) {
			b.saveFile(c, guestProfile, filepath.Join(b.dir, name+".pprof"))
		}
		c.Close()
	}
	return r
}

// probe starts an SSH login attempt every second, each in its own
// goroutine, until one succeeds; it records the time of the first.
func (b *bench) probe(ctx context.Context, m *vm.Machine, at *atomic.Int64, out chan<- *ssh.Client) {
	cfg := &ssh.ClientConfig{User: guestUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(b.signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var once sync.Once
	for {
		go func() {
			c, err := ssh.Dial("tcp", m.SSHAddr(), cfg)
			if err != nil {
				return
			}
			s, err := c.NewSession()
			if err == nil {
				err = s.Run("true")
				s.Close()
			}
			if err != nil {
				c.Close()
				return
			}
			won := false
			once.Do(func() {
				at.Store(int64(time.Since(m.Started)))
				out <- c
				won = true
			})
			if !won {
				c.Close()
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if at.Load() != 0 {
			return
		}
	}
}

// iso writes the variant's environment for boot name.
func (b *bench) iso(dir, variant, name string) (string, error) {
	props := []vm.Property{
		{Key: "instance-id", Value: name},
		{Key: "hostname", Value: "bench-guest"},
		{Key: "public-keys", Value: b.pubLine},
	}
	url := fmt.Sprintf("http://10.0.2.2:%d/%s", b.port, name)
	switch {
	case isAgent(variant):
		// No network property: DHCP on the first NIC, as cloud-init does.
		props = append(props,
			vm.Property{Key: "ovfinit.user", Value: guestUser},
			vm.Property{Key: "ovfinit.user.groups", Value: "systemd-journal"},
			vm.Property{Key: "ovfinit.callback.url", Value: url})
	case variant == "cloud-init":
		ud := "#cloud-config\nphone_home:\n  url: " + url + "\n  post: [instance_id]\n  tries: 30\n"
		props = append(props, vm.Property{Key: "user-data", Value: base64.StdEncoding.EncodeToString([]byte(ud))})
	}
	x, err := vm.EnvironmentXML(props)
	if err != nil {
		return "", err
	}
	return vm.BuildISO(dir, x)
}

// saveFile copies the guest's file src to dst.
func (b *bench) saveFile(c *ssh.Client, src, dst string) {
	s, err := c.NewSession()
	if err != nil {
		log.Printf("%s: %v", src, err)
		return
	}
	defer s.Close()
	o, err := s.Output("cat " + src)
	if err != nil {
		log.Printf("%s: %v", src, err)
		return
	}
	if err := os.WriteFile(dst, o, 0o644); err != nil {
		log.Printf("%s: %v", dst, err)
	}
}

// saveJournal writes the boot's journal with monotonic times (the kernel's
// lines included, so devices and drivers can be placed) and systemd's
// critical chain, for finding where a boot's time goes.
func (b *bench) saveJournal(c *ssh.Client, path string) {
	s, err := c.NewSession()
	if err != nil {
		log.Printf("journal: %v", err)
		return
	}
	defer s.Close()
	o, err := s.Output("journalctl -b -o short-monotonic --no-pager 2>&1; " +
		"echo; systemd-analyze 2>&1; systemd-analyze critical-chain 2>&1; systemd-analyze blame 2>&1 | head -40")
	if err != nil {
		log.Printf("journal: %v", err)
	}
	if err := os.WriteFile(path, o, 0o644); err != nil {
		log.Printf("journal: %v", err)
	}
}

// inspect reads, logged in, the agent's unit times, memory peak and the
// failed units.
func (b *bench) inspect(c *ssh.Client, variant string, r *result) {
	sh := func(cmd string) string {
		s, err := c.NewSession()
		if err != nil {
			return ""
		}
		defer s.Close()
		o, _ := s.Output(cmd)
		return strings.TrimSpace(string(o))
	}
	// ovfinit can be ready before the rest of the boot has finished, and
	// before dbus, which systemctl needs as a user: ask until the state
	// is known and the boot is over ("starting" while jobs run).
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		r.State = sh("systemctl is-system-running --wait")
		if r.State != "" && r.State != "starting" && r.State != "initializing" || time.Now().After(deadline) {
			break
		}
	}
	r.Failed = strings.Join(strings.Fields(sh("systemctl --failed --no-legend --plain | awk '{print $1}'")), ",")
	var units []string
	switch variant {
	case "ovfinit", "base":
		units = []string{"ovfinit.service"}
	case "cloud-init":
		units = cloudInitUnits
	case "none":
		units = []string{"bench-post.service"}
	}
	out := sh("systemctl show -p Id -p LoadState -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic " + strings.Join(units, " "))
	first := 0.0
	for _, block := range strings.Split(out, "\n\n") {
		kv := map[string]string{}
		for _, l := range strings.Split(block, "\n") {
			k, v, _ := strings.Cut(l, "=")
			kv[k] = v
		}
		if kv["LoadState"] != "loaded" {
			continue
		}
		start, _ := strconv.ParseFloat(kv["InactiveExitTimestampMonotonic"], 64)
		end, _ := strconv.ParseFloat(kv["ActiveEnterTimestampMonotonic"], 64)
		if start == 0 || end == 0 {
			continue
		}
		if first == 0 || start < first {
			first = start
		}
		r.UnitTime += (end - start) / 1e6
	}
	r.UnitStart = first / 1e6
	peaks := sh("cat /run/bench-peak-* /sys/fs/cgroup/system.slice/ovfinit.service/memory.peak 2>/dev/null")
	for _, f := range strings.Fields(peaks) {
		if n, err := strconv.ParseFloat(f, 64); err == nil {
			r.PeakMiB = max(r.PeakMiB, n/(1<<20))
		}
	}
	if isAgent(variant) {
		// [  12.345678] host ovfinit[123]: ... (the unit's own processes only)
		l := sh("journalctl -b _SYSTEMD_UNIT=ovfinit.service -o short-monotonic --no-pager | grep -m1 -v '^--'")
		if i, j := strings.Index(l, "["), strings.Index(l, "]"); i >= 0 && j > i {
			if t, err := strconv.ParseFloat(strings.TrimSpace(l[i+1:j]), 64); err == nil && r.UnitStart > 0 {
				r.FirstLine = t - r.UnitStart
			}
		}
		// What the pipeline cost in CPU: "pipeline cost cpu=1.234s
		// children_cpu=567ms ..." (cmd/ovfinit costAttrs).
		for _, f := range strings.Fields(sh("journalctl -b _SYSTEMD_UNIT=ovfinit.service -o cat --no-pager | grep -m1 '^pipeline cost'")) {
			k, v, _ := strings.Cut(f, "=")
			if d, err := time.ParseDuration(v); err == nil {
				switch k {
				case "cpu":
					r.CPU = d.Seconds()
				case "children_cpu":
					r.ChildCPU = d.Seconds()
				}
			}
		}
		// Start-up cost with the binary in the page cache: the process's
		// wall time, and the package initialisers' share.
		if v, err := strconv.ParseFloat(sh(`bash -c 'TIMEFORMAT=%R; { time /usr/sbin/ovfinit version >/dev/null 2>&1; } 2>&1'`), 64); err == nil {
			r.VersionS = v
		}
		for _, l := range strings.Split(sh("GODEBUG=inittrace=1 /usr/sbin/ovfinit version 2>&1 >/dev/null"), "\n") {
			// init os @51 ms, 0.58 ms clock, 432 bytes, 9 allocs
			if f := strings.Fields(l); len(f) > 5 && f[0] == "init" && f[5] == "ms" {
				ms, _ := strconv.ParseFloat(f[4], 64)
				r.InitMS += ms
			}
		}
		if f := strings.Fields(sh("grep VmHWM /proc/$(pidof ovfinit)/status 2>/dev/null")); len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			r.HWMMiB = kb / 1024
		}
	}
}

// report prints, per suite, the medians and the medians of the per-pair
// ratios against ovfinit.
func report(w io.Writer, all []result, vs []string) {
	suites := []string{}
	for _, r := range all {
		if !slices.Contains(suites, r.Suite) {
			suites = append(suites, r.Suite)
		}
	}
	for _, s := range suites {
		byPair := map[int]map[string]result{}
		for _, r := range all {
			if r.Suite != s {
				continue
			}
			if byPair[r.Pair] == nil {
				byPair[r.Pair] = map[string]result{}
			}
			byPair[r.Pair][r.Variant] = r
		}
		fmt.Fprintf(w, "\n## %s: %d rounds, medians (qemu start to ..., seconds of host time)\n\n", s, len(byPair))
		fmt.Fprintln(w, "| variant | SSH login | ready (POST) | agent's units, guest s | units started at, guest s | memory.peak MiB | failed units | SSH: variant / ovfinit | ready: variant / ovfinit | ovfinit's CPU s (+ its commands') |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
		for _, v := range vs {
			var sshs, readys, units, starts, peaks, rs, rr, cpus, childs []float64
			failed := map[string]bool{}
			for _, p := range byPair {
				r, ok := p[v]
				if !ok || r.Err != "" {
					continue
				}
				sshs = append(sshs, r.SSH.Seconds())
				readys = append(readys, r.Ready.Seconds())
				units = append(units, r.UnitTime)
				starts = append(starts, r.UnitStart)
				peaks = append(peaks, r.PeakMiB)
				cpus, childs = append(cpus, r.CPU), append(childs, r.ChildCPU)
				for _, f := range strings.Split(r.Failed, ",") {
					if f != "" {
						failed[f] = true
					}
				}
				if o, ok := p["ovfinit"]; ok && o.Err == "" && o.SSH > 0 && o.Ready > 0 {
					rs = append(rs, r.SSH.Seconds()/o.SSH.Seconds())
					rr = append(rr, r.Ready.Seconds()/o.Ready.Seconds())
				}
			}
			f := slices.Sorted(func(yield func(string) bool) {
				for k := range failed {
					if !yield(k) {
						return
					}
				}
			})
			cpu := ""
			if isAgent(v) {
				cpu = fmt.Sprintf("%.2f (+ %.2f)", median(cpus), median(childs))
			}
			fmt.Fprintf(w, "| %s (n=%d) | %.1f | %.1f | %.2f | %.2f | %.1f | %s | %.2f | %.2f | %s |\n", v, len(sshs),
				median(sshs), median(readys), median(units), median(starts), median(peaks), strings.Join(f, " "), median(rs), median(rr), cpu)
		}
	}
}

// isAgent: the variant boots ovfinit (this tree's build, or -base's).
func isAgent(variant string) bool { return variant == "ovfinit" || variant == "base" }

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(x))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, b)
	}
	return nil
}

// debugfsMkdirWrite creates dir (its parent must exist) and writes
// content as dir/name into the ext4 image img.
func debugfsMkdirWrite(img, dir, name, content string) error {
	if err := run("debugfs", "-w", "-R", "mkdir "+dir, img); err != nil {
		return err
	}
	return debugfsWrite(img, dir+"/"+name, content)
}

// debugfsWrite writes content as path (root-owned, 0644) into the ext4
// image img without mounting it.
func debugfsWrite(img, path, content string) error {
	f, err := os.CreateTemp("", "bench-boot")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	f.WriteString(content)
	f.Close()
	return run("debugfs", "-w", "-R", "write "+f.Name()+" "+path, img)
}
