//go:build !linux

package main

// startupAttrs: only Linux's /proc says when the process started.
func startupAttrs() []any { return nil }
