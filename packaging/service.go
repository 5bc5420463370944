package packaging

import (
	"fmt"
	"path"
	"strings"
)

// Defaults for the service.
const (
	Name         = "ovfinit"
	DisplayName  = "ovfinit first-boot agent"
	Description  = "Configures this VM from its OVF environment at boot and serves SSH"
	DefaultBin   = "/usr/local/sbin/ovfinit" // where `ovfinit install` puts the binary
	PackageBin   = "/usr/sbin/ovfinit"       // where the packages put it
	DefaultsFile = "/etc/default/ovfinit"    // the flags `ovfinit run` gets, as OVFINIT_ARGS
	// StartTimeout bounds how long boot waits for ready: the environment wait
	// (2 minutes by default) plus the customization script.
	StartTimeout = "20min"
	waitTimeout  = "20m" // the same, for `ovfinit status --timeout`
	// A crashed ovfinit (the SSH server) is restarted after RestartDelay,
	// at most RestartBurst times in RestartInterval (systemd).
	RestartDelay    = "5s"
	RestartBurst    = "5"
	RestartInterval = "10min"
	// StartupCPUWeight is the unit's CPU weight while the system starts
	// (systemd's default weight is 100).
	StartupCPUWeight = "1000"
)

// Service says what the service runs.
type Service struct {
	Bin  string   // absolute path of the binary in the target system
	Args []string // flags after `run`, e.g. --wait-env 5m
}

// command is the quoted `BIN run ARGS...`, for sh scripts.
func (s Service) command() string {
	parts := []string{shQuote(s.Bin), "run"}
	for _, a := range s.Args {
		parts = append(parts, shQuote(a))
	}
	return strings.Join(parts, " ")
}

// Validate checks the binary path and the arguments.
func (s Service) Validate() error {
	if !path.IsAbs(s.Bin) {
		return fmt.Errorf("--bin %q: must be an absolute path in the target system", s.Bin)
	}
	for _, a := range append([]string{s.Bin}, s.Args...) {
		if strings.ContainsAny(a, "\n\r\x00") || strings.Contains(a, "{{") {
			return fmt.Errorf("service argument %q: newlines, NUL and {{ are not allowed", a)
		}
	}
	return nil
}

func shQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=/.,:@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// systemdQuote quotes one ExecStart word (systemd.syntax(7)).
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// SystemdUnit is ovfinit.service.
//
// Ordering: early, as cloud-init-local does (DefaultDependencies=no): right
// after the root file system is writable (systemd-remount-fs) and the
// file systems of the state, the log and the homes are mounted
// (RequiresMountsFor), after systemd-sysusers (which also writes
// /etc/passwd), not after systemd-udevd (validate waits, per NIC, until
// udev has finished with it and can no longer rename it: netcfg's
// udevPending; ordered after udevd, ovfinit started 3-4 s later in a
// Debian 12 guest), and not after systemd-tmpfiles-setup (which waits for the
// journal's flush to /var: 26 s of guest time on a Debian 12 image under
// emulation; ovfinit makes its own directories), nor after
// sysinit.target or basic.target, which the old unit waited for (15-20 s
// of guest time under emulation, issue 20). Before network-pre.target, so
// the image's own network service (ifupdown's networking.service,
// systemd-networkd, NetworkManager) starts after ovfinit has written and
// applied its configuration and handed the NICs over (agent's network
// step), instead of racing it for the same address; before
// network-online.target, so whatever waits for the network waits for the
// address, DNS and user ovfinit sets up; before ssh.service/sshd.service,
// so OpenSSH never starts with the template's host keys and users; and
// Type=notify, so "before" means "before ready": ovfinit sends READY=1 when
// the pipeline has finished (ready or failed). The consequence: a
// customization script runs before the image's network service, so the
// network it needs must come from ovfinit's own properties (static or
// DHCP, which ovfinit brings up itself). Conflicts= and Before=
// shutdown.target stop it at shutdown, which DefaultDependencies=no no
// longer does. See docs/image-builders.md.
//
// CPU: while the system starts (and stops), the unit's processes get
// StartupCPUWeight, ten times a unit's default share of a busy CPU: on a
// first boot ovfinit is what the manager and the first login wait for, and
// it runs beside udev's coldplug, journald's flush and the units it is
// ordered before. Once the boot has finished the default share applies
// again, to ovfinit's SSH server and the sessions it starts too.
//
// Restart: the process is the VM's SSH server, so a crash (a Go panic or
// fatal error exits 2; a kill by a signal, the OOM killer's among them)
// restarts it after RestartSec. The new run skips the per-instance steps
// the state records as done (agent TestFirstBoot "reboot keeps the
// instance"; after a SIGKILL mid-boot, cmd/ovfinit TestFaultKillRestart)
// and brings the SSH server back. Exit status 1 means the boot failed and
// was reported: running the pipeline again would only fail again, so it
// is not restarted (RestartPreventExitStatus), and it does not leave the
// unit failed (SuccessExitStatus): the failure went to the manager, the
// status file and the console, and a failed unit would end the boot
// `degraded`, which is the image's health, not the environment's. The
// start limit stops a crash loop: at most RestartBurst starts in
// RestartInterval.
func (s Service) SystemdUnit() string {
	exec := []string{systemdQuote(s.Bin), "run"}
	for _, a := range s.Args {
		exec = append(exec, systemdQuote(a))
	}
	return `[Unit]
Description=` + DisplayName + `
Documentation=https://github.com/ovfinit/ovfinit/blob/main/docs/image-builders.md
DefaultDependencies=no
After=systemd-remount-fs.service systemd-sysusers.service systemd-journald.socket
RequiresMountsFor=/var/lib/ovfinit /var/log/ovfinit /home
Wants=network-pre.target
Before=network-pre.target network-online.target ssh.service sshd.service shutdown.target
Conflicts=shutdown.target
ConditionPathExists=` + s.Bin + `
StartLimitIntervalSec=` + RestartInterval + `
StartLimitBurst=` + RestartBurst + `

[Service]
Type=notify
NotifyAccess=main
EnvironmentFile=-` + DefaultsFile + `
ExecStart=` + strings.Join(exec, " ") + ` $OVFINIT_ARGS
TimeoutStartSec=` + StartTimeout + `
TimeoutStopSec=45s
Restart=on-failure
RestartSec=` + RestartDelay + `
RestartPreventExitStatus=1
SuccessExitStatus=1
KillMode=mixed
StartupCPUWeight=` + StartupCPUWeight + `

[Install]
WantedBy=multi-user.target
`
}

// SysVScript is /etc/init.d/ovfinit: LSB headers for insserv, and a start
// that returns only once the pipeline is ready or failed (`ovfinit status
// --wait`), so the scripts after it (ssh) start after it. Plain POSIX sh:
// it runs under busybox too.
func (s Service) SysVScript() string {
	return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ovfinit
# Required-Start:    $local_fs
# Required-Stop:     $local_fs
# Should-Start:      $network
# X-Start-Before:    ssh sshd
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: ` + DisplayName + `
# Description:       ` + Description + `
### END INIT INFO
# Generated by ovfinit install; edit ` + DefaultsFile + ` for the flags.

BIN=` + shQuote(s.Bin) + `
PIDFILE=/run/ovfinit.pid
OVFINIT_ARGS=
[ -r ` + DefaultsFile + ` ] && . ` + DefaultsFile + `

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "$1" in
start)
	running && exit 0
	[ -x "$BIN" ] || { echo "ovfinit: $BIN not found" >&2; exit 5; }
	mkdir -p /run
	# The console is the first boot's serial log: keep it as stderr.
	# shellcheck disable=SC2086
	` + s.command() + ` $OVFINIT_ARGS </dev/null &
	echo $! >"$PIDFILE"
	"$BIN" status --wait --timeout ` + waitTimeout + ` >/dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ovfinit: ready (pid $(cat "$PIDFILE"))"
	else
		echo "ovfinit: not ready (status exit $rc): run ovfinit status" >&2
	fi
	exit 0
	;;
stop)
	running || exit 0
	pid=$(cat "$PIDFILE")
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 450 ]; do sleep 0.1; i=$((i+1)); done
	rm -f "$PIDFILE"
	;;
restart)
	"$0" stop
	"$0" start
	;;
status)
	running || { echo "ovfinit is not running"; exit 3; }
	"$BIN" status
	;;
*)
	echo "usage: $0 {start|stop|restart|status}" >&2
	exit 2
	;;
esac
`
}

// OpenRCScript is /etc/init.d/ovfinit for OpenRC (Alpine, Gentoo).
func (s Service) OpenRCScript() string {
	args := []string{"run"}
	for _, a := range s.Args {
		args = append(args, shQuote(a))
	}
	return `#!/sbin/openrc-run
# Generated by ovfinit install; edit /etc/conf.d/ovfinit (OVFINIT_ARGS) for the flags.
description="` + Description + `"
command=` + shQuote(s.Bin) + `
command_args="` + strings.Join(args, " ") + ` ${OVFINIT_ARGS}"
command_background=true
pidfile=/run/ovfinit.pid
retry=TERM/45/KILL/5

depend() {
	need localmount
	after bootmisc
	before net-online sshd
}

start_post() {
	"$command" status --wait --timeout 20m >/dev/null ||
		ewarn "ovfinit is not ready: run ovfinit status"
	return 0
}
`
}

// FreeBSDScript is /usr/local/etc/rc.d/ovfinit, run through daemon(8).
func (s Service) FreeBSDScript() string {
	return `#!/bin/sh
# Generated by ovfinit install.
#
# PROVIDE: ovfinit
# REQUIRE: FILESYSTEMS netif
# BEFORE: NETWORKING sshd
# KEYWORD: shutdown
#
# ovfinit_enable (bool): YES to run ovfinit at boot (set in /etc/rc.conf.d/ovfinit)
# ovfinit_args (str):   extra flags for ovfinit run

. /etc/rc.subr

name=ovfinit
rcvar=ovfinit_enable
load_rc_config $name
: ${ovfinit_enable:=NO}
: ${ovfinit_args:=}

pidfile=/var/run/ovfinit.pid
procname=` + shQuote(s.Bin) + `
command=/usr/sbin/daemon
command_args="-p ${pidfile} ` + s.command() + ` ${ovfinit_args}"
start_postcmd=ovfinit_wait

ovfinit_wait() {
	${procname} status --wait --timeout 20m >/dev/null || warn "ovfinit is not ready: run ovfinit status"
}

run_rc_command "$1"
`
}

// DefaultsFileContent is what the packages ship as /etc/default/ovfinit
// (and the OpenRC /etc/conf.d/ovfinit): the extra flags for `ovfinit run`.
const DefaultsFileContent = `# Extra flags for "ovfinit run" at boot; see "ovfinit run --help".
# The service reads this file (systemd EnvironmentFile, SysV and OpenRC
# scripts). Examples:
#   OVFINIT_ARGS="--wait-env 5m"
#   OVFINIT_ARGS="--log-level debug"
OVFINIT_ARGS=""
`
