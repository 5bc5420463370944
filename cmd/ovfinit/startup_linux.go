package main

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// mainAt is when main's package initialisers had all run: the runtime's
// start, the page-ins of the binary and every package's init come before.
var mainAt = time.Now()

// startupAttrs describes the process's start for its first log line: how
// long ago the kernel started it (exec), how much of that came before
// main (loading, page-ins, initialisers), and the major page faults so far
// (pages read from disk). Under emulation these seconds are what the
// agent's unit spends before its first step (docs/performance.md).
func startupAttrs() []any {
	st, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return nil
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: field 22 of stat (starttime) is the 20th after it.
	i := bytes.LastIndexByte(st, ')')
	if i < 0 {
		return nil
	}
	f := bytes.Fields(st[i+1:])
	uf := bytes.Fields(up)
	if len(f) < 20 || len(uf) < 1 {
		return nil
	}
	ticks, err1 := strconv.ParseFloat(string(f[19]), 64)
	uptime, err2 := strconv.ParseFloat(string(uf[0]), 64)
	if err1 != nil || err2 != nil {
		return nil
	}
	// USER_HZ is 100 on every architecture Linux runs Go on.
	sinceExec := time.Duration((uptime - ticks/100) * float64(time.Second))
	sinceMain := time.Since(mainAt)
	var attrs []any
	// Two ticks of slack (/proc counts in 10 ms). A start after main
	// began means /proc is not the kernel's own (qemu-user emulates it):
	// then the start is not reported.
	if sinceExec > sinceMain-20*time.Millisecond {
		attrs = append(attrs, "since_exec", sinceExec.Round(time.Millisecond), "before_main", max(sinceExec-sinceMain, 0).Round(time.Millisecond))
	}
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		attrs = append(attrs, "major_faults", ru.Majflt, "minor_faults", ru.Minflt)
	}
	return attrs
}

// costAttrs is what the pipeline cost the machine, for the log line after
// it: the CPU time of ovfinit and of the commands it ran and waited for
// (modprobe, useradd, ...), apart from the waits. Under emulation on a
// single CPU the unit's wall time is mostly the rest of the boot's work
// (udev, journald) and devices; these seconds are ovfinit's own share
// (docs/performance.md).
func costAttrs() []any {
	var self, children unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &self) != nil || unix.Getrusage(unix.RUSAGE_CHILDREN, &children) != nil {
		return nil
	}
	cpu := func(ru unix.Rusage) time.Duration {
		return (time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Round(time.Millisecond)
	}
	return []any{"cpu", cpu(self), "children_cpu", cpu(children), "major_faults", self.Majflt + children.Majflt, "max_rss_kib", self.Maxrss}
}
