package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
)

// DefaultModules are the kernel modules the guest loads at boot, in this
// order after their dependencies: the CD drive with the OVF environment, the
// virtio NIC and disk, ext4 for the state disk, and pvpanic so that a guest
// kernel panic ends qemu with a failure status.
var DefaultModules = []string{
	"ata_piix", "sr_mod", "isofs",
	"virtio_pci", "virtio_net", "virtio_blk",
	"crc32c_generic", "ext4",
	"pvpanic_mmio",
}

// DefaultOnDemandModules are shipped in the initramfs but not loaded at
// boot: the kernel asks /sbin/modprobe for them when a program needs them,
// as on an installed system. None by default: the guest is kept as minimal
// as the smallest image the agent must work on (an agent that opened
// NETLINK_XFRM, say, would fail here instead of passing by luck).
var DefaultOnDemandModules = []string{}

// PersistDirs are bind-mounted from the state disk over the initramfs, so
// that users, host keys, hostname files and the agent's state survive a
// reboot as they would on an installed system.
var PersistDirs = []string{"etc", "home", "var/lib/ovfinit", "root"}

// InitramfsOptions says what goes into the guest's initramfs.
type InitramfsOptions struct {
	Kernel *Kernel
	// Agent is the ovfinit binary (static), installed as /bin/ovfinit.
	Agent string
	// Busybox is a static busybox; default: busybox on PATH.
	Busybox string
	// Modules to load at boot (dependencies are added); default
	// DefaultModules.
	Modules []string
	// OnDemand modules are shipped for modprobe but not loaded at boot;
	// default DefaultOnDemandModules.
	OnDemand []string
	// AgentArgs are the arguments /init starts /bin/ovfinit with; default
	// run --wait-env 60s.
	AgentArgs []string
	// Tree, if set, is a directory added to the initramfs last, over
	// everything else (files, directories, symlinks): for instance an image
	// tree made by ` + "`ovfinit install --root`" + `.
	Tree string
	// Start, if set, is the shell command /init starts the agent with
	// instead of running it directly, the way an init system would
	// ("/etc/init.d/ovfinit start"). It must leave the agent's pid in
	// /run/ovfinit.pid; AgentArgs are then unused.
	Start string
	// NoAgent, if set, boots the image without starting the agent: /init
	// does what a plain ifupdown system does at boot instead (ifup -a, the
	// networking service's ExecStart), then prints the kernel's network
	// state to the console as "OVFINIT-NET " lines (see NoAgentNetState).
	// Start and AgentArgs are then unused.
	NoAgent bool
}

// BuildInitramfs writes a gzip-compressed newc cpio archive to out: busybox
// and its applet links, the modules with their dependencies, the agent and
// the /init supervisor.
func BuildInitramfs(ctx context.Context, out string, o InitramfsOptions) error {
	if o.Kernel == nil {
		return fmt.Errorf("building initramfs: no kernel")
	}
	if o.Busybox == "" {
		bb, err := exec.LookPath("busybox")
		if err != nil {
			return fmt.Errorf("building initramfs: busybox not found (apt-get install busybox-static): %w", err)
		}
		o.Busybox = bb
	}
	if o.Modules == nil {
		o.Modules = DefaultModules
	}
	if o.OnDemand == nil {
		o.OnDemand = DefaultOnDemandModules
	}
	if o.AgentArgs == nil {
		o.AgentArgs = []string{"run", "--wait-env", "60s"}
	}
	a := newArchive()

	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "run", "persist", "mnt", "var/log", "var/lib/ovfinit", "home", "etc/ssh"} {
		a.dir(d, 0o755)
	}
	a.dir("root", 0o700)
	a.dir("tmp", 0o1777)
	a.dir("var/tmp", 0o1777)
	a.dir("var/lib/ovfinit", 0o700)
	// The kernel opens /dev/console for init before devtmpfs is mounted.
	a.charDev("dev/console", 0o600, 5, 1)
	a.charDev("dev/null", 0o666, 1, 3)

	// busybox and its applets.
	bb, err := os.ReadFile(o.Busybox)
	if err != nil {
		return fmt.Errorf("reading busybox: %w", err)
	}
	if err := checkStatic(o.Busybox, bb); err != nil {
		return err
	}
	a.file("bin/busybox", 0o755, bb)
	list, err := exec.CommandContext(ctx, o.Busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", o.Busybox, err)
	}
	for _, l := range strings.Fields(string(list)) {
		if l == "bin/busybox" || l == "usr/bin/busybox" {
			continue
		}
		a.symlink(l, "/bin/busybox")
	}

	// The agent.
	agent, err := os.ReadFile(o.Agent)
	if err != nil {
		return fmt.Errorf("reading agent: %w", err)
	}
	if err := checkStatic(o.Agent, agent); err != nil {
		return err
	}
	a.file("bin/ovfinit", 0o755, agent)

	// Modules: files, modules.dep and modules.alias for busybox modprobe,
	// and the list /init loads.
	mods, err := o.Kernel.ResolveModules(ctx, o.Modules)
	if err != nil {
		return fmt.Errorf("building initramfs: %w", err)
	}
	extra, err := o.Kernel.ResolveModules(ctx, o.OnDemand)
	if err != nil {
		return fmt.Errorf("building initramfs: %w", err)
	}
	modRoot := path.Join("lib/modules", o.Kernel.Release)
	byName := map[string]*Module{}
	var all []*Module
	var dep, alias, load strings.Builder
	for i, m := range append(slices.Clone(mods), extra...) {
		if i < len(mods) {
			load.WriteString(m.RelPath + "\n")
		}
		if byName[m.Name] != nil {
			continue
		}
		byName[m.Name] = m
		all = append(all, m)
		a.file(path.Join(modRoot, m.RelPath), 0o644, m.Data)
	}
	for _, m := range all {
		fmt.Fprintf(&dep, "%s:", m.RelPath)
		for _, d := range m.Depends {
			if dm, ok := byName[d]; ok {
				fmt.Fprintf(&dep, " %s", dm.RelPath)
			}
		}
		dep.WriteString("\n")
		for _, al := range m.Aliases {
			fmt.Fprintf(&alias, "alias %s %s\n", al, m.Name)
		}
	}
	a.file(path.Join(modRoot, "modules.dep"), 0o644, []byte(dep.String()))
	a.file(path.Join(modRoot, "modules.alias"), 0o644, []byte(alias.String()))
	a.file("etc/ovfinit-e2e/modules", 0o644, []byte(load.String()))

	// Base system files.
	a.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	a.file("etc/group", 0o644, []byte("root:x:0:\n"))
	a.file("etc/shadow", 0o600, []byte("root:*:19000:0:99999:7:::\n"))
	a.file("etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost\n"))
	a.file("etc/shells", 0o644, []byte("/bin/sh\n/bin/ash\n"))
	a.file("etc/os-release", 0o644, []byte("NAME=\"ovfinit e2e\"\nID=ovfinit-e2e\nPRETTY_NAME=\"ovfinit e2e (busybox)\"\n"))
	if err := addTree(a, o.Tree); err != nil {
		return fmt.Errorf("building initramfs: %w", err)
	}
	init := serviceInitScript(initScript(o.AgentArgs), o.Start)
	if o.NoAgent {
		init = noAgentInitScript(initScript(o.AgentArgs))
	}
	a.file("init", 0o755, []byte(init))

	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := a.writeTo(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return nil
}

// checkStatic refuses a dynamically linked program: the initramfs has no
// libc.
func checkStatic(name string, b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: not an ELF program: %w", name, err)
	}
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s: built for %v, the guest is x86_64", name, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked; the initramfs needs a static program", name)
		}
	}
	return nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// initScript is /init, PID 1: it mounts the pseudo file systems, loads the
// modules, mounts the state disk over the directories that must persist,
// starts the agent, and powers off when "poweroff" is typed on the console.
// Lines starting with OVFINIT- are for the host harness.
func initScript(agentArgs []string) string {
	q := make([]string, len(agentArgs))
	for i, s := range agentArgs {
		q[i] = shellQuote(s)
	}
	return strings.NewReplacer(
		"@PERSIST@", strings.Join(PersistDirs, " "),
		"@AGENT_ARGS@", strings.Join(q, " "),
	).Replace(initTemplate)
}

const initTemplate = `#!/bin/sh
# PID 1 of the ovfinit e2e guest (generated by e2e/vm).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
PERSIST="@PERSIST@"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
up() { read -r u _ </proc/uptime; echo "OVFINIT-E2E $* (uptime $u)"; }
up init

rel=$(uname -r)
while read -r m; do
	insmod "/lib/modules/$rel/$m" || echo "OVFINIT-E2E insmod $m failed"
done </etc/ovfinit-e2e/modules
up modules loaded

i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if [ -b /dev/vda ] && mount -t ext4 /dev/vda /persist; then
	if [ ! -e /persist/.populated ]; then
		for d in $PERSIST; do
			mkdir -p "/persist/$d"
			cp -a "/$d/." "/persist/$d/"
		done
		sync
		touch /persist/.populated
	fi
	for d in $PERSIST; do
		mkdir -p "/$d" "/persist/$d"
		mount --bind "/persist/$d" "/$d"
	done
else
	echo "OVFINIT-E2E no state disk: nothing persists"
fi

up state disk done
[ -s /etc/hostname ] && hostname -F /etc/hostname
ip link set lo up

(
	/bin/ovfinit @AGENT_ARGS@ &
	echo $! >/run/ovfinit.pid
	wait $!
	echo "OVFINIT-EXIT $?"
) &
up agent started

while :; do
	if ! read -r line; then
		sleep 1
		continue
	fi
	case "$line" in
	*poweroff*) break ;;
	esac
done

echo "OVFINIT-E2E poweroff"
pid=$(cat /run/ovfinit.pid 2>/dev/null)
if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	if kill -0 "$pid" 2>/dev/null; then
		echo "OVFINIT-E2E agent ignored SIGTERM for 10s: killing it"
		kill -KILL "$pid"
	fi
	sleep 0.2
fi
sync
for d in $PERSIST; do umount "/$d" 2>/dev/null; done
umount /persist 2>/dev/null || mount -o remount,ro /persist 2>/dev/null
sync
echo "OVFINIT-E2E halt"
poweroff -f
`
