package vm

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// noAgentInitScript replaces the agent's start in script with what a plain
// ifupdown system does at boot (Debian's networking.service runs
// "/sbin/ifup -a"), followed by a dump of the kernel's network state as
// "OVFINIT-NET <kind> <line>" console lines, ended by "OVFINIT-NET end".
// Kinds: ifup (its output and "status N"), link, addr, route, route6, and
// "file:<path>" for the ifupdown configuration files.
func noAgentInitScript(script string) string {
	i := strings.Index(script, "(\n\t/bin/ovfinit ")
	j := strings.Index(script, "up agent started\n")
	if i < 0 || j < i {
		panic("vm: initTemplate's agent block changed; update noAgentInitScript")
	}
	block := `echo "OVFINIT-E2E no agent: ifup -a"
netdump() {
	k=$1
	shift
	"$@" 2>&1 | while IFS= read -r l; do echo "OVFINIT-NET $k $l"; done
}
mkdir -p /run/network
# A path, not a name: busybox's sh would run its own ifup applet.
netdump ifup sh -c '/sbin/ifup -a; echo "status $?"'
netdump link ip -o link show
netdump addr ip -o addr show
netdump route ip route show
netdump route6 ip -6 route show
for f in /etc/network/interfaces /etc/network/interfaces.d/*; do
	[ -f "$f" ] && netdump "file:$f" cat "$f"
done
echo "OVFINIT-NET end"
`
	return script[:i] + block + script[j+len("up agent started\n"):]
}

// NetState is what a NoAgent guest printed: its "OVFINIT-NET" lines by
// kind (ifup, link, addr, route, route6, file), prefix removed.
type NetState map[string][]string

// ParseNetState collects the OVFINIT-NET lines of a serial console; done
// says whether the dump's end was seen.
func ParseNetState(serial []string) (s NetState, done bool) {
	s = NetState{}
	for _, l := range serial {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "OVFINIT-NET ")
		if !ok {
			continue
		}
		if rest == "end" {
			done = true
			continue
		}
		kind, line, _ := strings.Cut(rest, " ")
		s[kind] = append(s[kind], line)
	}
	return s, done
}

// WaitNetState waits until a NoAgent guest has printed its network state,
// qemu exits, or ctx ends.
func (m *Machine) WaitNetState(ctx context.Context) (NetState, error) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if s, done := ParseNetState(m.Serial()); done {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the guest's network state: %w", context.Cause(ctx))
		case <-m.done:
			if s, done := ParseNetState(m.Serial()); done {
				return s, nil
			}
			return nil, fmt.Errorf("waiting for the guest's network state: %w (%v)", ErrExited, m.ExitErr())
		case <-t.C:
		}
	}
}

// IfupdownDir returns where prepare.sh unpacked Debian's ifupdown package
// ($CACHE/ifupdown, with a .ready file).
func IfupdownDir() (string, error) {
	dir := filepath.Join(CacheDir(), "ifupdown")
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err != nil {
		return "", fmt.Errorf("no unpacked ifupdown package: %w (run e2e/prepare.sh)", err)
	}
	return dir, nil
}

// DebianInterfaces is /etc/network/interfaces as Debian's ifupdown
// package creates it: everything is in interfaces.d, read through a glob.
const DebianInterfaces = `# interfaces(5) file used by ifup(8) and ifdown(8)
# Include files from /etc/network/interfaces.d:
source /etc/network/interfaces.d/*
`

// IfupdownTree fills dst (an InitramfsOptions.Tree) with an ifupdown
// system as Debian installs it: the ifup program of the package unpacked
// in pkg (IfupdownDir) with its ifdown and ifquery links, the hook
// directories, /etc/network/interfaces as DebianInterfaces, and from this
// host the programs ifup relies on that busybox cannot stand in for:
// iproute2's ip (ifupdown depends on iproute2 and runs "ip addr flush dev
// IF mngtmpaddr", which busybox's ip refuses) and dash as /bin/sh (busybox's
// sh runs its own ip applet even when /sbin/ip is another program), each
// with the dynamic loader and libraries it needs.
func IfupdownTree(dst, pkg string) error {
	progs := []struct{ src, dst string }{
		{filepath.Join(pkg, "sbin/ifup"), "sbin/ifup"},
	}
	for _, p := range []struct {
		names []string
		dst   string
	}{
		{[]string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}, "sbin/ip"},
		{[]string{"/usr/bin/dash", "/bin/dash"}, "bin/sh"},
	} {
		src := ""
		for _, n := range p.names {
			if _, err := os.Stat(n); err == nil {
				src = n
				break
			}
		}
		if src == "" {
			return fmt.Errorf("ifupdown tree: none of %s on this host (apt-get install iproute2 dash)", strings.Join(p.names, ", "))
		}
		progs = append(progs, struct{ src, dst string }{src, p.dst})
	}
	copyFile := func(src, rel string) error {
		b, err := os.ReadFile(src) // follows symlinks: the real file
		if err != nil {
			return fmt.Errorf("ifupdown tree: %w", err)
		}
		p := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o755)
	}
	done := map[string]bool{}
	var addLibs func(file string) error
	addLibs = func(file string) error {
		f, err := elf.Open(file)
		if err != nil {
			return fmt.Errorf("ifupdown tree: %w", err)
		}
		defer f.Close()
		libs, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("ifupdown tree: %s: %w", file, err)
		}
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return fmt.Errorf("ifupdown tree: %s: %w", file, err)
			}
			if interp := strings.TrimRight(string(b), "\x00"); !done[interp] {
				done[interp] = true
				if err := copyFile(interp, strings.TrimPrefix(interp, "/")); err != nil {
					return err
				}
			}
		}
		for _, l := range libs {
			if done[l] {
				continue
			}
			done[l] = true
			found := ""
			for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"} {
				if _, err := os.Stat(filepath.Join(d, l)); err == nil {
					found = filepath.Join(d, l)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("ifupdown tree: %s needs %s, not found on this host", file, l)
			}
			// The guest has no ld.so.cache: the loader looks in /lib/x86_64-linux-gnu
			// (a Debian default path) whatever directory the host had it in.
			if err := copyFile(found, "lib/x86_64-linux-gnu/"+l); err != nil {
				return err
			}
			if err := addLibs(found); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range progs {
		if err := copyFile(p.src, p.dst); err != nil {
			return err
		}
		if err := addLibs(p.src); err != nil {
			return err
		}
	}
	for _, l := range []string{"ifdown", "ifquery"} {
		if err := os.Symlink("ifup", filepath.Join(dst, "sbin", l)); err != nil {
			return fmt.Errorf("ifupdown tree: %w", err)
		}
	}
	for _, d := range []string{"interfaces.d", "if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"} {
		if err := os.MkdirAll(filepath.Join(dst, "etc/network", d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dst, "etc/network/interfaces"), []byte(DebianInterfaces), 0o644)
}
