package main

import (
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// cpuProfileEnv names the file (under --root, mode 0600, never through a
// link) where run writes a CPU profile of the pipeline, from the start of
// run to the end of the pipeline: where a first boot's CPU goes in the
// guest itself, where emulation and contention make it differ from the
// benchmarks against fakes (bench/boot.sh PROFILE=1, docs/performance.md).
// A profile holds stack samples only, no data.
const cpuProfileEnv = "OVFINIT_CPUPROFILE"

// startCPUProfile starts the profile OVFINIT_CPUPROFILE asks for and
// returns what stops it; a failure is logged and profiling is left off.
func startCPUProfile(root string, log *slog.Logger) (stop func()) {
	name := os.Getenv(cpuProfileEnv)
	if name == "" {
		return func() {}
	}
	fsys, err := rootfs.Open(root)
	if err != nil {
		log.Warn("no CPU profile", "env", cpuProfileEnv, "err", err)
		return func() {}
	}
	defer fsys.Close()
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		log.Warn("no CPU profile", "env", cpuProfileEnv, "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		log.Warn("no CPU profile", "env", cpuProfileEnv, "err", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Warn("CPU profile not complete", "file", name, "err", err)
			return
		}
		log.Info("CPU profile written", "file", name)
	}
}
