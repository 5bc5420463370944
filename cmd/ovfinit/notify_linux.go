package main

import "github.com/coreos/go-systemd/v22/daemon"

// notify tells systemd (Type=notify) about the service's state; without
// NOTIFY_SOCKET it does nothing.
func notify(state string) { daemon.SdNotify(false, state) }
