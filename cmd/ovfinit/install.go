package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/kardianos/service"
	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/ovfinit/ovfinit/packaging"
	"github.com/spf13/cobra"
)

// installFlags are the flags install and uninstall share.
type installFlags struct {
	root, bin, init string
	port            int // install only: the service's run --ssh-port; 0 leaves run's default
}

func (f *installFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "/", "install into this image tree instead of the running system (files only; nothing is started)")
	fl.StringVar(&f.bin, "bin", defaultBin(), "where the binary goes in the target system")
	fl.StringVar(&f.init, "init", "auto", "init system of the --root tree: auto, systemd, sysv, openrc, freebsd")
}

func defaultBin() string {
	if runtime.GOOS == "windows" {
		return `C:\Program Files\ovfinit\ovfinit.exe`
	}
	return packaging.DefaultBin
}

// offline reports whether --root is an image tree, not the running system
// ("/", which filepath.Clean makes "\\" on Windows).
func (f *installFlags) offline() bool {
	c := filepath.Clean(f.root)
	return f.root != "" && c != "/" && c != string(filepath.Separator)
}

// check reports bad flag values as usage errors (exit 2). cmd tells
// whether --bin was given: an offline install's default is the image's
// path (packaging.DefaultBin, a slash path), whatever OS ovfinit runs on.
func (f *installFlags) check(cmd *cobra.Command) error {
	init := packaging.Init("")
	if f.init != "auto" {
		var err error
		if init, err = packaging.ParseInit(f.init); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	if !f.offline() {
		if runtime.GOOS != "windows" && !filepath.IsAbs(f.bin) {
			return &exitError{code: exitUsage, err: fmt.Errorf("--bin %q: must be an absolute path in the target system", f.bin)}
		}
		return nil
	}
	if !cmd.Flags().Changed("bin") {
		f.bin = packaging.DefaultBin
	}
	// The image's own path: a slash path from the tree's root, on every
	// host (an image tree of a Windows image is refused later, by name).
	if init != packaging.Windows && !path.IsAbs(f.bin) {
		return &exitError{code: exitUsage, err: fmt.Errorf("--bin %q: must be an absolute path in the target system (from the image's /)", f.bin)}
	}
	return nil
}

// plan resolves the init system of --root and lists its files.
func (f *installFlags) plan(args []string) ([]packaging.File, packaging.Init, error) {
	init, err := f.initOf()
	if err != nil {
		return nil, "", err
	}
	files, err := packaging.PlanInstall(init, packaging.Service{Bin: f.bin, Args: args})
	return files, init, err
}

func (f *installFlags) initOf() (packaging.Init, error) {
	if f.init == "auto" {
		return packaging.DetectInit(f.root)
	}
	return packaging.ParseInit(f.init)
}

func newInstallCmd() *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "install [--port N] [flags] [-- RUN-FLAGS...]",
		Short: "Install ovfinit as the boot service, here or into an image tree (--root)",
		Long: `Install copies this binary to --bin and installs the boot service that runs
"ovfinit run" at every boot, ordered after the local file systems and before
network-online.target and ssh (systemd unit with Type=notify; SysV init, OpenRC
and FreeBSD rc.d scripts that wait for ready; a Windows service with recovery
actions). Flags after "--" are added to "ovfinit run" in the service
definition; the packages leave them in /etc/default/ovfinit instead.
--port N makes N the embedded SSH server's port when the environment sets no
ovfinit.ssh.port (for images whose own sshd keeps port 22): it adds
"--ssh-port N" to "ovfinit run".

With --root DIR the files are written into the image tree DIR (the init system
is detected from it, or given with --init) and nothing is started: this is
how an image build bakes ovfinit in. Without it, the service is installed on
the running system through its service manager.

Exit status: 0 installed; 1 failed (the message names the file or the init
system); 2 usage error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("port") {
				if f.port < 1 || f.port > 65535 {
					return &exitError{code: exitUsage, err: fmt.Errorf("--port %d: want a TCP port from 1 to 65535", f.port)}
				}
				args = append([]string{"--ssh-port", strconv.Itoa(f.port)}, args...)
			}
			self, err := os.Executable()
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("finding this binary: %w", err)}
			}
			if f.offline() {
				files, init, err := f.plan(args)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				if err := packaging.Install(f.root, files, self); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "installed ovfinit (%s) into %s:\n", init, f.root)
				for _, file := range files {
					fmt.Fprintln(cmd.OutOrStdout(), " ", file)
				}
				return nil
			}
			return liveInstall(cmd.OutOrStdout(), self, f.bin, args)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&f.port, "port", 0, "SSH port of the embedded server when the environment sets none (adds --ssh-port to ovfinit run)")
	return cmd
}

func liveInstall(out io.Writer, self, bin string, args []string) error {
	init, err := packaging.LiveInit(packaging.Platform())
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	s := packaging.Service{Bin: bin, Args: args}
	if err := s.Validate(); err != nil && init != packaging.Windows {
		return &exitError{code: exitUsage, err: err}
	}
	if self != bin {
		data, err := os.ReadFile(self)
		if err == nil {
			err = fsutil.WriteFile(bin, data, 0o755)
		}
		if err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("copying the binary to --bin %s: %w", bin, err)}
		}
	}
	svc, err := packaging.NewLive(s, nil)
	if err == nil {
		err = svc.Install()
	}
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("installing the %s service: %w", init, err)}
	}
	if init == packaging.Windows {
		if err := packaging.SetRecovery(); err != nil {
			return &exitError{code: exitFailed, err: err}
		}
	}
	if init == packaging.Systemd {
		// OpenSSH asks ovfinit's interim SSH server for its port; udev
		// gets ovfinit's CPU share while the system starts.
		for _, f := range packaging.SystemdDropIns("/etc/systemd/system", bin) {
			if err := fsutil.WriteFile(f.Path, []byte(f.Data), f.Mode); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("installing %s: %w", f.Path, err)}
			}
		}
	}
	fmt.Fprintf(out, "installed the ovfinit service (%s), running %s; it starts at the next boot (or: ovfinit start)\n", init, bin)
	return nil
}

func newUninstallCmd() *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the boot service and the binary installed by install",
		Long: `Uninstall removes what install put in place: the service definition, the
links or settings that enable it, and the binary at --bin. The flags file
(/etc/default/ovfinit) and the state in /var/lib/ovfinit are kept.

Exit status: 0 removed (or nothing to remove); 1 failed; 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if f.offline() {
				files, _, err := f.plan(nil)
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				removed, err := packaging.Uninstall(f.root, files)
				for _, p := range removed {
					fmt.Fprintln(cmd.OutOrStdout(), "removed", p)
				}
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				return nil
			}
			return liveControl(cmd, "uninstall", f.bin)
		},
	}
	f.register(cmd)
	return cmd
}

func newStartCmd() *cobra.Command { return newControlCmd("start", "Start the installed service now") }
func newStopCmd() *cobra.Command  { return newControlCmd("stop", "Stop the running service") }

func newControlCmd(action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action,
		Short: short,
		Long: short + ` through the running system's service manager (systemctl, the init script, rc.d or the Windows service manager).

Exit status: 0 done; 1 failed (the message names the init system).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return liveControl(cmd, action, defaultBin())
		},
	}
}

func notInstalled(svc service.Service) bool {
	_, err := svc.Status()
	return errors.Is(err, service.ErrNotInstalled)
}

func liveControl(cmd *cobra.Command, action, bin string) error {
	init, err := packaging.LiveInit(packaging.Platform())
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	svc, err := packaging.NewLive(packaging.Service{Bin: bin}, nil)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if !packaging.Installed("/", init) || (init == packaging.Windows && notInstalled(svc)) {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: the ovfinit service is not installed here (%s): run ovfinit install first", action, init)}
	}
	switch action {
	case "start":
		err = svc.Start()
	case "stop":
		err = svc.Stop()
	case "uninstall":
		if err = svc.Uninstall(); err == nil && init == packaging.SysV {
			// kardianos removes the script but leaves its rc links.
			err = packaging.RemoveSysVLinks("/")
		}
		if err == nil && init == packaging.Systemd {
			_, err = packaging.Uninstall("/", packaging.SystemdDropIns("/etc/systemd/system", bin))
		}
		if err == nil {
			if rerr := os.Remove(bin); rerr != nil && !os.IsNotExist(rerr) {
				err = fmt.Errorf("removing %s: %w", bin, rerr)
			}
		}
	}
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s the %s service: %w", action, init, err)}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: done (%s)\n", action, init)
	return nil
}
