// Package agent is ovfinit's first-boot pipeline: one ordered list of steps,
// each with a frequency (per instance, per boot, once), state persisted per
// instance id, and the runner that logs, reports and records every step.
//
// It is the only package that wires the capabilities (ovfenv, netcfg, users,
// sshd, scripts, callback) together; they never import it.
package agent
