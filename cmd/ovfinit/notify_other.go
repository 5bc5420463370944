//go:build !linux

package main

// notify is systemd's sd_notify, which exists only on Linux.
func notify(string) {}
