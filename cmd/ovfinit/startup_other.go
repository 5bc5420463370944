//go:build !linux

package main

// startupAttrs: only Linux's /proc says when the process started.
func startupAttrs() []any { return nil }

// costAttrs: the CPU times come from getrusage, Linux's here.
func costAttrs() []any { return nil }
