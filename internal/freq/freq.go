// Package freq says how often a pipeline step or a script runs: on every
// boot, once per instance, or once in the life of the state directory. The
// agent's steps and the scripts' "# frequency:" header share it, so that one
// runner records both the same way.
package freq

import "fmt"

// Frequency says how often a step or a script runs.
type Frequency int

const (
	// PerBoot runs on every boot.
	PerBoot Frequency = iota + 1
	// PerInstance runs once for each instance id: again when the manager
	// deploys the image as a new instance, not on a reboot.
	PerInstance
	// Once runs once in the life of the image's state directory.
	Once
)

// String is the name a script header and the status file use:
// "per-boot", "per-instance" or "once".
func (f Frequency) String() string {
	switch f {
	case PerBoot:
		return "per-boot"
	case PerInstance:
		return "per-instance"
	case Once:
		return "once"
	}
	return fmt.Sprintf("Frequency(%d)", int(f))
}

// Parse reads a name String returns.
func Parse(s string) (Frequency, bool) {
	for _, f := range []Frequency{PerBoot, PerInstance, Once} {
		if s == f.String() {
			return f, true
		}
	}
	return 0, false
}
