//go:build !windows

package agent

// DefaultRuntimeDir is where the secrets of the running boot are kept: a
// tmpfs on every systemd and most other Linux systems, so they do not
// outlive the boot.
const DefaultRuntimeDir = "/run/ovfinit"

// DefaultStatusDir is the directory of the world-readable status file: in
// the runtime file system, like cloud-init's /run/cloud-init/status.json,
// and apart from DefaultRuntimeDir, which holds this boot's secrets and
// stays 0700. The agent rewrites it on every boot.
const DefaultStatusDir = "/run/ovfinit-status"

// liveRoot reports whether root is the running system's.
func liveRoot(root string) bool { return root == "/" }

// secureDirs does nothing here: the state and runtime directories are made
// 0700 when first written.
func secureDirs(*Env) error { return nil }

// EndBoot does nothing here: the runtime directory is on a tmpfs, which
// the end of the boot empties.
func (e *Env) EndBoot() error { return nil }
