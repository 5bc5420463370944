package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMAC is the guest NIC's MAC address.
const DefaultMAC = "52:54:00:12:34:56"

// KernelCmdline is the guest kernel command line: serial console, few
// messages, reboot at once on panic (qemu then exits), and no crypto self
// tests (slow under TCG).
const KernelCmdline = "console=ttyS0 quiet panic=-1 cryptomgr.notests"

// Options describe one VM boot.
type Options struct {
	Assets *Assets
	// ISO is attached as the CD-ROM (the OVF environment); optional.
	ISO string
	// Disk is a raw image attached as virtio-blk (/dev/vda); optional.
	Disk string
	// SSHPort is the host port forwarded to the guest's port 22; zero picks
	// a free one.
	SSHPort int
	// MAC of the virtio NIC; default DefaultMAC.
	MAC string
	// MemoryMB; default 512.
	MemoryMB int
	// SerialLog, if set, is a file that receives the serial console.
	SerialLog string
	// Console, if set, also receives the serial console as it arrives.
	Console io.Writer
	// FwCfg, if set, is a file passed as the QEMU fw_cfg item
	// opt/org.ovfinit/ovfenv (the fw_cfg transport of the OVF environment).
	FwCfg string
	// ExtraNICs are more virtio NICs after the first, each on its own
	// qemu user-mode network (with its own DHCP server).
	ExtraNICs []NIC
	// Cmdline, if set, replaces KernelCmdline (ImageCmdline, say).
	Cmdline string
	// MonitorSocket, if set, is a unix socket path for qemu's human
	// monitor (Machine.Monitor): an ACPI power button for a systemd guest.
	MonitorSocket string
}

// NIC is an extra guest NIC.
type NIC struct {
	MAC string // e.g. 52:54:00:12:34:57
	// Net is the user-mode network, e.g. 10.0.3.0/24: the guest gets .15
	// by DHCP and the host is .2. Each NIC needs its own.
	Net string
}

// FwCfgName is the fw_cfg item name the agent reads the environment from.
const FwCfgName = "opt/org.ovfinit/ovfenv"

// Machine is a running qemu.
type Machine struct {
	// Cmdline is qemu's argv, for reproducing a failure by hand.
	Cmdline []string
	// SSHPort is the host port (on 127.0.0.1) forwarded to guest port 22.
	SSHPort int
	// Started is when qemu was started.
	Started time.Time

	cmd       *exec.Cmd
	monitor   string
	stdin     io.WriteCloser
	log       *os.File
	console   io.Writer
	done      chan struct{}
	agentExit chan struct{}
	exitOnce  sync.Once

	mu      sync.Mutex
	lines   []string // ring of the last serialKeep lines
	exitErr error
	agentRC string
}

const serialKeep = 2000

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// QemuArgs returns the qemu-system-x86_64 arguments for o (TCG, one vCPU,
// serial console on stdio, no reboot).
func QemuArgs(o Options) []string {
	mem := o.MemoryMB
	if mem == 0 {
		mem = 512
	}
	mac := o.MAC
	if mac == "" {
		mac = DefaultMAC
	}
	cmdline := o.Cmdline
	if cmdline == "" {
		cmdline = KernelCmdline
	}
	args := []string{
		"-M", "pc", "-accel", "tcg", "-smp", "1", "-m", strconv.Itoa(mem),
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", o.Assets.Kernel.Vmlinux, "-initrd", o.Assets.Initramfs,
		"-append", cmdline,
		"-netdev", fmt.Sprintf("user,id=n0,ipv6=off,hostfwd=tcp:127.0.0.1:%d-:22", o.SSHPort),
		"-device", "virtio-net-pci,netdev=n0,mac=" + mac + ",romfile=",
		"-device", "pvpanic", "-action", "panic=exit-failure",
	}
	for i, n := range o.ExtraNICs {
		id := fmt.Sprintf("nx%d", i)
		args = append(args,
			"-netdev", "user,id="+id+",ipv6=off,net="+n.Net,
			"-device", "virtio-net-pci,netdev="+id+",mac="+n.MAC+",romfile=")
	}
	if o.ISO != "" {
		args = append(args, "-cdrom", o.ISO)
	}
	if o.FwCfg != "" {
		args = append(args, "-fw_cfg", "name="+FwCfgName+",file="+o.FwCfg)
	}
	if o.MonitorSocket != "" {
		args = append(args, "-monitor", "unix:"+o.MonitorSocket+",server=on,wait=off")
	}
	if o.Disk != "" {
		args = append(args,
			"-drive", "if=none,id=d0,format=raw,file="+o.Disk,
			"-device", "virtio-blk-pci,drive=d0")
	}
	return args
}

// Boot starts qemu. The machine runs until Poweroff, Kill, or the guest
// powers off; ctx only bounds the start.
func Boot(ctx context.Context, o Options) (*Machine, error) {
	if o.Assets == nil || o.Assets.Kernel == nil {
		return nil, errors.New("boot: no assets")
	}
	if o.SSHPort == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("boot: picking an SSH port: %w", err)
		}
		o.SSHPort = p
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := &Machine{
		monitor:   o.MonitorSocket,
		SSHPort:   o.SSHPort,
		console:   o.Console,
		done:      make(chan struct{}),
		agentExit: make(chan struct{}),
	}
	m.Cmdline = append([]string{"qemu-system-x86_64"}, QemuArgs(o)...)
	m.cmd = exec.Command(m.Cmdline[0], m.Cmdline[1:]...)
	setProcessGroup(m.cmd)
	var err error
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if o.SerialLog != "" {
		if m.log, err = os.Create(o.SerialLog); err != nil {
			return nil, fmt.Errorf("boot: %w", err)
		}
	}
	m.Started = time.Now()
	if err := m.cmd.Start(); err != nil {
		if m.log != nil {
			m.log.Close()
		}
		return nil, fmt.Errorf("starting qemu: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.readSerial(stdout, "") }()
	go func() { defer wg.Done(); m.readSerial(stderr, "qemu: ") }()
	go func() {
		wg.Wait()
		err := m.cmd.Wait()
		m.mu.Lock()
		m.exitErr = err
		m.mu.Unlock()
		if m.log != nil {
			m.log.Close()
		}
		close(m.done)
	}()
	return m, nil
}

func (m *Machine) readSerial(r io.Reader, prefix string) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			m.addLine(prefix + strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

func (m *Machine) addLine(l string) {
	m.mu.Lock()
	m.lines = append(m.lines, l)
	if len(m.lines) > serialKeep {
		m.lines = append(m.lines[:0:0], m.lines[len(m.lines)-serialKeep:]...)
	}
	m.mu.Unlock()
	if m.log != nil {
		fmt.Fprintln(m.log, l)
	}
	if m.console != nil {
		fmt.Fprintln(m.console, l)
	}
	if rc, ok := strings.CutPrefix(strings.TrimSpace(l), "OVFINIT-EXIT "); ok {
		m.mu.Lock()
		m.agentRC = rc
		m.mu.Unlock()
		m.exitOnce.Do(func() { close(m.agentExit) })
	}
}

// Tail returns the last n lines of the serial console (and qemu's stderr,
// prefixed "qemu: ").
func (m *Machine) Tail(n int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.lines
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// Serial returns every serial line kept so far.
func (m *Machine) Serial() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

// CommandLine is Cmdline quoted for a shell.
func (m *Machine) CommandLine() string {
	q := make([]string, len(m.Cmdline))
	for i, a := range m.Cmdline {
		if a == "" || strings.ContainsAny(a, " \t'\"\\$;&|<>()*?[]#~`") {
			q[i] = shellQuote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// SSHAddr is the host address forwarded to the guest's SSH port.
func (m *Machine) SSHAddr() string { return fmt.Sprintf("127.0.0.1:%d", m.SSHPort) }

// Done is closed when qemu has exited.
func (m *Machine) Done() <-chan struct{} { return m.done }

// ExitErr is qemu's exit error (nil for status 0); valid after Done.
func (m *Machine) ExitErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exitErr
}

// ErrExited and ErrAgentExited are the causes of a Machine.Context.
var (
	ErrExited      = errors.New("qemu exited")
	ErrAgentExited = errors.New("the agent exited in the guest")
)

// Context returns a context that is cancelled, with ErrExited or
// ErrAgentExited as its cause, when qemu exits or the guest reports that
// the agent ended: a wait for the agent's events should not outlive either.
func (m *Machine) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		select {
		case <-m.done:
			cancel(fmt.Errorf("%w (%v)", ErrExited, m.ExitErr()))
		case <-m.agentExit:
			m.mu.Lock()
			rc := m.agentRC
			m.mu.Unlock()
			cancel(fmt.Errorf("%w with status %s", ErrAgentExited, rc))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// Poweroff asks the guest's init to stop the agent and power off, and
// waits for qemu to exit. If ctx ends first qemu is killed and an error
// returned. A guest that powered off cleanly gives nil.
func (m *Machine) Poweroff(ctx context.Context) error {
	select {
	case <-m.done:
		return m.ExitErr()
	default:
	}
	if _, err := io.WriteString(m.stdin, "poweroff\n"); err != nil {
		m.Kill()
		return fmt.Errorf("poweroff: writing to the console: %w", err)
	}
	select {
	case <-m.done:
		if err := m.ExitErr(); err != nil {
			return fmt.Errorf("poweroff: qemu: %w", err)
		}
		if !strings.Contains(m.Tail(20), "OVFINIT-E2E halt") {
			return errors.New("poweroff: qemu exited before the guest's init reported halt")
		}
		return nil
	case <-ctx.Done():
		m.Kill()
		return fmt.Errorf("poweroff: guest did not power off: %w", context.Cause(ctx))
	}
}

// Kill ends qemu at once and waits for it.
func (m *Machine) Kill() {
	select {
	case <-m.done:
		return
	default:
	}
	if m.cmd.Process != nil {
		m.cmd.Process.Kill()
	}
	<-m.done
}

// Monitor sends one command (system_powerdown, say) to qemu's human
// monitor; the machine needs Options.MonitorSocket.
func (m *Machine) Monitor(command string) error {
	if m.monitor == "" {
		return errors.New("monitor: the machine has no monitor socket")
	}
	c, err := net.DialTimeout("unix", m.monitor, 5*time.Second)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	// Read the echo so the command is taken before we hang up.
	buf := make([]byte, 4096)
	var got strings.Builder
	for !strings.Contains(got.String(), command) {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return nil
}

// Shutdown presses the ACPI power button (a systemd guest shuts down
// cleanly) and waits for qemu to exit; past ctx it kills qemu and says so.
func (m *Machine) Shutdown(ctx context.Context) error {
	select {
	case <-m.done:
		return m.ExitErr()
	default:
	}
	// The button is pressed again every few seconds: a press before the
	// guest handles it (systemd-logind not started yet: the agent can be
	// ready before it) is lost, as on a real machine.
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if err := m.Monitor("system_powerdown"); err != nil {
			m.Kill()
			return err
		}
		select {
		case <-m.done:
			return m.ExitErr()
		case <-ctx.Done():
			m.Kill()
			return fmt.Errorf("shutdown: the guest did not power off: %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}
