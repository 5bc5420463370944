//go:build !windows

package main

// defaultStateDir is the agent's state directory (under --root).
const defaultStateDir = "/var/lib/ovfinit"

// defaultLogFile is run's --log-file.
const defaultLogFile = "/var/log/ovfinit/ovfinit.log"
