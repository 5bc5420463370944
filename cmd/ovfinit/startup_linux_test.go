package main

import (
	"os"
	"testing"
	"time"
)

// The first log line says how long ago the process was started and how
// much of it came before main; both from /proc, so both must be sane.
func TestStartupAttrs(t *testing.T) {
	a := startupAttrs()
	m := map[string]any{}
	for i := 0; i+1 < len(a); i += 2 {
		m[a[i].(string)] = a[i+1]
	}
	if _, ok := m["major_faults"]; !ok {
		t.Fatalf("startupAttrs() = %v, want major_faults", a)
	}
	since, ok1 := m["since_exec"].(time.Duration)
	before, ok2 := m["before_main"].(time.Duration)
	if !ok1 && !ok2 && os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user (crosstest.sh), which emulates /proc/self/stat: its start time is not the process's")
	}
	if !ok1 || !ok2 {
		t.Fatalf("startupAttrs() = %v, want since_exec and before_main durations", a)
	}
	// /proc's clocks tick in 10 ms: allow two ticks either way.
	if since < time.Since(mainAt)-20*time.Millisecond || since > time.Since(mainAt)+time.Minute {
		t.Errorf("since_exec = %v, but main began %v ago", since, time.Since(mainAt))
	}
	if before < -20*time.Millisecond || before > since+20*time.Millisecond {
		t.Errorf("before_main = %v, want between 0 and since_exec %v", before, since)
	}
}

// The line after the pipeline says what it cost in CPU time: ovfinit's own
// (this test has burnt some) and its commands'.
func TestCostAttrs(t *testing.T) {
	for x, deadline := 0, time.Now().Add(30*time.Millisecond); time.Now().Before(deadline); x++ {
		_ = x * x
	}
	a := costAttrs()
	m := map[string]any{}
	for i := 0; i+1 < len(a); i += 2 {
		m[a[i].(string)] = a[i+1]
	}
	cpu, ok := m["cpu"].(time.Duration)
	if !ok || cpu <= 0 {
		t.Fatalf("costAttrs() = %v, want a positive cpu duration", a)
	}
	if c, ok := m["children_cpu"].(time.Duration); !ok || c < 0 {
		t.Errorf("costAttrs() = %v, want children_cpu, not negative", a)
	}
	if _, ok := m["max_rss_kib"]; !ok {
		t.Errorf("costAttrs() = %v, want max_rss_kib", a)
	}
}
