//go:build unix

package main

import "golang.org/x/sys/unix"

// canLowerPriority: nice works here.
const canLowerPriority = true

// lowestPriority sets this process's nice value to 19, the lowest CPU
// priority: under Linux's scheduler it gets about 1.5 % of a CPU that a
// process of the default priority wants, and all of an idle one.
func lowestPriority() error { return unix.Setpriority(unix.PRIO_PROCESS, 0, 19) }
